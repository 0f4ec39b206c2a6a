//! `edgecert init [DIR]`: a complete, valid offer.json to edit.

use std::path::Path;

use anyhow::{Context as _, bail};
use edgecert_engine::offer::template;

pub fn run(dir: &Path, force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("offer.json");
    if path.exists() && !force {
        bail!("{} exists; use --force to overwrite it", path.display());
    }
    // The module name comes from the directory when it is a valid one.
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let from_dir = abs
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.to_lowercase().replace('_', "-"));
    let name = from_dir
        .filter(|n| {
            n.len() >= 2
                && n.len() <= 50
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !n.starts_with('-')
        })
        .unwrap_or_else(|| "tempfilter".to_owned());
    crate::output::write(Some(&path), &template(&name))?;
    eprintln!(
        "wrote {} (module {name}); edit it, then run:",
        path.display()
    );
    eprintln!(
        "  edgecert check --offer {} --image oci:PATH/TO/LAYOUT",
        path.display()
    );
    Ok(())
}
