//! Finding a solution's deployment templates and, in one, the modules built from the
//! solution's own sources (`${MODULES.<folder>}`, `${MODULEDIR<path>}` image placeholders),
//! from a full template or a layered one with dotted keys.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ImportError;

/// The solution's deployment templates in the order they are tried: `deployment.template.json`,
/// the other `deployment*.template.json` (the first of them is iotedgedev's pick when there is
/// no `deployment.template.json`), then any other `*.template.json`, each group in name order.
pub fn templates(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        path: dir.display().to_string(),
        error: source,
    })?;
    let mut found: Vec<(u8, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let rank = match name {
                "deployment.template.json" => 0,
                n if n.starts_with("deployment") && n.ends_with(".template.json") => 1,
                n if n.ends_with(".template.json") => 2,
                _ => return None,
            };
            Some((rank, p))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(ImportError::NoTemplate {
            dir: dir.display().to_string(),
        });
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The template iotedgedev would pick (the first of [`templates`]).
pub fn find_template(dir: &Path) -> Result<PathBuf, ImportError> {
    let mut all = templates(dir)?;
    Ok(all.swap_remove(0))
}

/// The module source folder an image placeholder points at: `${MODULES.<folder>[.<platform>]}`
/// (under `<solution>/modules`) or `${MODULEDIR<path>[.<platform>]}` (relative to the template).
pub(super) fn module_dir(image: &str, solution: &Path, template_dir: &Path) -> Option<PathBuf> {
    let inner = image.trim().strip_prefix("${")?.strip_suffix('}')?;
    if let Some(rest) = inner.strip_prefix("MODULES.") {
        let folder = rest.split('.').next()?;
        // iotedgedev's MODULES_PATH defaults to `modules`; some solutions keep the template
        // inside that folder, next to the modules.
        let standard = solution.join("modules").join(folder);
        let beside = template_dir.join(folder);
        return Some(if !standard.is_dir() && beside.is_dir() {
            beside
        } else {
            standard
        });
    }
    let rest = inner.strip_prefix("MODULEDIR<")?;
    let (path, _) = rest.split_once('>')?;
    // Templates written on Windows use `.\\folder`; iotedgedev resolves it on any OS.
    Some(template_dir.join(path.replace('\\', "/")))
}

/// `$edgeAgent`'s modules, from a full or a layered template, as (name, JSON path, entry).
pub(super) fn agent_modules(template: &Value) -> Vec<(String, String, &Value)> {
    let Some(agent) = template.pointer("/modulesContent/$edgeAgent") else {
        return Vec::new();
    };
    if let Some(Value::Object(modules)) = agent.pointer("/properties.desired/modules") {
        return modules
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    format!("modulesContent.$edgeAgent['properties.desired'].modules.{k}"),
                    v,
                )
            })
            .collect();
    }
    agent
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("properties.desired.modules.")?;
            Some((
                name.to_owned(),
                format!("modulesContent.$edgeAgent['{k}']"),
                v,
            ))
        })
        .collect()
}
