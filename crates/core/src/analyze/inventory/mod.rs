//! The component inventory analyzer (EC903, `--sbom`): third-party components recorded in
//! package databases and metadata files, read during the streaming pass.
//!
//! It wants only specific files and says `None` for every other path up front (a few string
//! comparisons), and `false` as soon as it has what it needs:
//! - dpkg `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*` (installed packages);
//! - apk `lib/apk/db/installed`;
//! - Python `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and `*.egg-info` files (headers only);
//! - `node_modules/<pkg>/package.json` and `node_modules/@scope/<pkg>/package.json`, nested
//!   `node_modules` and pnpm's `.pnpm` store included, other package.json files below a package
//!   (test fixtures, `esm/` stubs) not;
//! - jars (`*.jar`: `META-INF/maven/**/pom.properties`, else `META-INF/MANIFEST.MF`, else the
//!   file name; jars inside jars one level deep) and loose `META-INF/maven/**/pom.properties`;
//! - .NET `*.deps.json` (libraries of type `package`);
//! - Go build info in ELF binaries of at least 64 KiB that carry the Go build-id note;
//! - `etc/os-release`, `usr/lib/os-release` (the distro of deb/apk package URLs).
//!
//! It records what each file says (`FileFact::Component`), for every layer; which components an
//! image ships is decided per platform on the merged filesystem (`sbom`), so a database
//! replaced or deleted by a later layer does not count. Every parse is bounded: line, file and
//! component caps; a hostile file yields fewer components, never a panic or unbounded memory.

mod golang;
mod java;
mod json;
mod text;

use super::{Analyzer, FileFact, FileMeta, FileScan};

pub use crate::facts::file::Ecosystem;

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Maven => "maven",
            Ecosystem::Nuget => "nuget",
            Ecosystem::Golang => "golang",
        }
    }
}

pub use crate::facts::file::Component;

impl Component {
    fn new(ecosystem: Ecosystem, name: &str, version: Option<&str>) -> Option<Component> {
        let name = clean(name)?;
        Some(Component {
            ecosystem,
            group: None,
            name,
            version: version.and_then(clean),
            arch: None,
            licenses: Vec::new(),
            member: None,
        })
    }
}

/// A field value fit for the inventory: trimmed, non-empty, printable, at most 256 bytes.
fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned())
}

pub use crate::facts::file::OsRelease;

/// Components kept per file (a hostile database yields no more).
const MAX_COMPONENTS: usize = 50_000;

/// What a path is, for the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Dpkg { status_d: bool },
    Apk,
    Python,
    Npm,
    Jar,
    PomProperties,
    DepsJson,
    OsRelease,
    MaybeGo,
}

/// Go binaries are megabytes; smaller files are not worth a look.
const MIN_GO_BINARY: u64 = 64 * 1024;

fn target(path: &str, size: u64) -> Option<Target> {
    let base = path.rsplit('/').next().unwrap_or(path);
    if path == "var/lib/dpkg/status" {
        return Some(Target::Dpkg { status_d: false });
    }
    if let Some(name) = path.strip_prefix("var/lib/dpkg/status.d/") {
        let ok = !name.contains('/') && !name.ends_with(".md5sums");
        return ok.then_some(Target::Dpkg { status_d: true });
    }
    if path == "lib/apk/db/installed" {
        return Some(Target::Apk);
    }
    if path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || base.ends_with(".egg-info")
    {
        return Some(Target::Python);
    }
    if base == "package.json" {
        return json::is_npm_package(path).then_some(Target::Npm);
    }
    if base.ends_with(".jar") {
        return Some(Target::Jar);
    }
    if base == "pom.properties" && path.contains("META-INF/maven/") {
        return Some(Target::PomProperties);
    }
    if base.ends_with(".deps.json") {
        return Some(Target::DepsJson);
    }
    if path == "etc/os-release" || path == "usr/lib/os-release" {
        return Some(Target::OsRelease);
    }
    (size >= MIN_GO_BINARY).then_some(Target::MaybeGo)
}

pub struct InventoryAnalyzer;

impl Analyzer for InventoryAnalyzer {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        if file.size == 0 {
            return None;
        }
        Some(match target(file.path, file.size)? {
            Target::Dpkg { status_d } => Box::new(text::Stanzas::dpkg(status_d)),
            Target::Apk => Box::new(text::Stanzas::apk()),
            Target::Python => Box::new(text::Stanzas::python()),
            Target::OsRelease => Box::new(text::Stanzas::os_release()),
            Target::PomProperties => Box::new(text::Stanzas::pom_properties(None)),
            Target::Npm => Box::new(json::Bounded::npm(file.size)?),
            Target::DepsJson => Box::new(json::Bounded::deps_json(file.size)?),
            Target::Jar => Box::new(java::JarScan::new(file.path, file.size)),
            Target::MaybeGo => Box::new(golang::GoScan::new()),
        })
    }
}

fn facts(components: Vec<Component>) -> Vec<FileFact> {
    components.into_iter().map(FileFact::Component).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_path() {
        let t = |p: &str| target(p, 10);
        assert_eq!(
            t("var/lib/dpkg/status"),
            Some(Target::Dpkg { status_d: false })
        );
        assert_eq!(
            t("var/lib/dpkg/status.d/libssl3"),
            Some(Target::Dpkg { status_d: true })
        );
        assert_eq!(t("var/lib/dpkg/status.d/libssl3.md5sums"), None);
        assert_eq!(t("var/lib/dpkg/status-old"), None);
        assert_eq!(t("lib/apk/db/installed"), Some(Target::Apk));
        assert_eq!(
            t("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"),
            Some(Target::Python)
        );
        assert_eq!(t("usr/lib/python3/x.egg-info"), Some(Target::Python));
        assert_eq!(t("app/node_modules/a/package.json"), Some(Target::Npm));
        assert_eq!(t("app/package.json"), None);
        assert_eq!(t("opt/app/lib/guava-31.jar"), Some(Target::Jar));
        assert_eq!(t("app/bin/App.deps.json"), Some(Target::DepsJson));
        assert_eq!(t("etc/os-release"), Some(Target::OsRelease));
        assert_eq!(t("usr/bin/ls"), None);
        assert_eq!(target("usr/bin/app", 1 << 20), Some(Target::MaybeGo));
    }
}
