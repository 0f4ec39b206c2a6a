//! JSON package metadata, buffered whole up to a cap and parsed with serde into only the fields
//! used: npm `package.json` (`name`, `version`, `license`) and .NET `*.deps.json` (`libraries`
//! of type `package`). A file over its cap is skipped (package.json 1 MiB, deps.json 32 MiB);
//! serde_json's recursion limit bounds nesting.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Component, Ecosystem, FileFact, FileScan, MAX_COMPONENTS, clean, facts};

const MAX_PACKAGE_JSON: u64 = 1 << 20;
const MAX_DEPS_JSON: u64 = 32 << 20;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Npm,
    DepsJson,
}

pub(super) struct Bounded {
    kind: Kind,
    buf: Vec<u8>,
    cap: usize,
}

impl Bounded {
    fn new(kind: Kind, size: u64, cap: u64) -> Option<Bounded> {
        (size <= cap).then(|| Bounded {
            kind,
            buf: Vec::with_capacity(size as usize),
            cap: cap as usize,
        })
    }
    pub fn npm(size: u64) -> Option<Bounded> {
        Self::new(Kind::Npm, size, MAX_PACKAGE_JSON)
    }
    pub fn deps_json(size: u64) -> Option<Bounded> {
        Self::new(Kind::DepsJson, size, MAX_DEPS_JSON)
    }
}

impl FileScan for Bounded {
    fn update(&mut self, chunk: &[u8]) -> bool {
        let room = self.cap - self.buf.len();
        self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.buf.len() < self.cap
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        let components = match self.kind {
            Kind::Npm => npm(&self.buf).into_iter().collect(),
            Kind::DepsJson => deps_json(&self.buf),
        };
        facts(components)
    }
}

/// Whether `path` is the manifest of an installed npm package: `node_modules/<name>` or
/// `node_modules/@scope/<name>`, directly followed by `package.json` or by another
/// `node_modules` level (pnpm: `node_modules/.pnpm/<entry>/node_modules/...`). A package.json
/// deeper inside a package (test fixtures, `esm/` type stubs, examples) is not one.
pub(super) fn is_npm_package(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(mut i) = parts.iter().position(|p| *p == "node_modules") else {
        return false;
    };
    loop {
        i += 1;
        match parts.get(i) {
            Some(&".pnpm") => i += 1, // the store entry, then its node_modules
            Some(scope) if scope.starts_with('@') && scope.len() > 1 => {
                i += 1;
                match parts.get(i) {
                    Some(name) if !name.is_empty() && !name.starts_with('.') => {}
                    _ => return false,
                }
            }
            Some(name) if !name.is_empty() && !name.starts_with('.') => {}
            _ => return false,
        }
        i += 1;
        match parts.get(i) {
            Some(&"package.json") => return i + 1 == parts.len(),
            Some(&"node_modules") => continue,
            _ => return false,
        }
    }
}

#[derive(Deserialize)]
struct PackageJson {
    name: Option<String>,
    version: Option<String>,
    license: Option<serde_json::Value>,
}

fn npm(buf: &[u8]) -> Option<Component> {
    let p: PackageJson = serde_json::from_slice(buf).ok()?;
    let full = p.name?;
    let (group, name) = match full.split_once('/') {
        Some((scope, name)) if scope.starts_with('@') => (clean(scope), name),
        _ => (None, full.as_str()),
    };
    let mut c = Component::new(Ecosystem::Npm, name, Some(p.version?.as_str()))?;
    c.group = group;
    // `"license": "MIT"` or the legacy `{"type": "MIT"}`.
    let license = match &p.license {
        Some(serde_json::Value::String(s)) => clean(s),
        Some(serde_json::Value::Object(o)) => {
            o.get("type").and_then(|t| t.as_str()).and_then(clean)
        }
        _ => None,
    };
    c.licenses = license.into_iter().collect();
    Some(c)
}

#[derive(Deserialize)]
struct DepsJson {
    #[serde(default)]
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn deps_json(buf: &[u8]) -> Vec<Component> {
    let Ok(deps) = serde_json::from_slice::<DepsJson>(buf) else {
        return Vec::new();
    };
    deps.libraries
        .iter()
        .filter(|(_, lib)| lib.kind.as_deref() == Some("package"))
        .filter_map(|(key, _)| {
            let (name, version) = key.rsplit_once('/')?;
            Component::new(Ecosystem::Nuget, name, Some(version))
        })
        .take(MAX_COMPONENTS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_paths() {
        for ok in [
            "node_modules/a/package.json",
            "usr/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json",
            "app/node_modules/a/node_modules/b/package.json",
            "app/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/package.json",
        ] {
            assert!(is_npm_package(ok), "{ok}");
        }
        for no in [
            "package.json",
            "app/package.json",
            "node_modules/package.json",
            "node_modules/a/test/fixtures/package.json",
            "node_modules/a/esm/package.json",
            "node_modules/a/test/node_modules/b/package.json",
            "node_modules/.bin/package.json",
            "node_modules/@scope/package.json",
            "node_modules/a/package.json/x",
        ] {
            assert!(!is_npm_package(no), "{no}");
        }
    }

    #[test]
    fn package_json_and_deps_json() {
        let c = npm(br#"{"name":"@babel/core","version":"7.24.0","license":"MIT"}"#).unwrap();
        assert_eq!(
            (c.group.as_deref(), c.name.as_str(), c.licenses.clone()),
            (Some("@babel"), "core", vec!["MIT".to_owned()])
        );
        assert!(npm(br#"{"type":"module"}"#).is_none());
        assert!(npm(br#"{"name": 7, "version": "1"}"#).is_none());
        assert!(npm(b"{{{").is_none());
        let deps = br#"{"runtimeTarget":{},"libraries":{
            "App/1.0.0":{"type":"project"},
            "Newtonsoft.Json/13.0.3":{"type":"package","sha512":"x"},
            "System.Text.Json/8.0.0":{"type":"package"}}}"#;
        let names: Vec<_> = deps_json(deps)
            .into_iter()
            .map(|c| format!("{}@{}", c.name, c.version.unwrap()))
            .collect();
        assert_eq!(names, ["Newtonsoft.Json@13.0.3", "System.Text.Json@8.0.0"]);
        let deep = "[".repeat(100_000);
        assert!(deps_json(deep.as_bytes()).is_empty());
    }
}
