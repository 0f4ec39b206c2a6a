//! `edgecert checks` and `edgecert explain ID`: the catalogue, rendered from the checks' own
//! documentation.

use anyhow::bail;
use edgecert_engine::checks::{all, find};

use crate::style::Painter;

pub fn list() -> anyhow::Result<()> {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<6} {:<26} {:<9} {:<14} {}\n",
        "ID", "NAME", "SEVERITY", "AREA", "TITLE"
    ));
    for c in all() {
        out.push_str(&format!(
            "{:<6} {:<26} {:<9} {:<14} {}\n",
            c.id,
            c.name,
            format!("{:?}", c.severity).to_lowercase(),
            c.area.as_str(),
            c.title
        ));
    }
    crate::output::write(None, &out)
}

pub fn explain(id: &str) -> anyhow::Result<()> {
    let Some(check) = find(id) else {
        bail!("unknown check id {id:?}; `edgecert checks` lists them");
    };
    let p = Painter::for_stdout();
    let mut out = String::new();
    for line in check.docs().lines() {
        if let Some(h) = line.strip_prefix("# ") {
            out.push_str(&p.bold(h));
            out.push_str(&format!(
                "\n{}\n",
                p.dim(&format!(
                    "severity {} (built-in policy), area {}",
                    format!("{:?}", check.severity).to_lowercase(),
                    check.area.as_str()
                ))
            ));
        } else if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&p.bold(h));
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    crate::output::write(None, &out)
}
