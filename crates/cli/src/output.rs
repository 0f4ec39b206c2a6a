//! Writing results: to stdout, or to `--output FILE` atomically (a temporary file in the same
//! directory, renamed into place), so a failed run never leaves a partial report behind.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

pub fn write(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("writing to stdout")?;
            out.flush().context("writing to stdout")
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            tmp.write_all(text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            tmp.persist(path)
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(())
        }
    }
}
