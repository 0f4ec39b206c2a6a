//! Package URLs (purl) of inventory components: `pkg:deb/debian/libc6@2.36-9?arch=amd64`,
//! `pkg:apk/alpine/…`, `pkg:pypi/…`, `pkg:npm/%40scope/name@…`, `pkg:maven/group/artifact@…`,
//! `pkg:nuget/…`, `pkg:golang/github.com/org/repo@…`.
//!
//! Written by hand: the few rules needed (per-type namespace and name, PEP 503 names for PyPI,
//! percent-encoding of everything but unreserved characters and `:`) are shorter than a crate
//! binding. A Maven component without a groupId gets no purl (the namespace is required).

use crate::analyze::inventory::{Component, Ecosystem};

/// Percent-encodes `s`: RFC 3986's unreserved characters and the bytes `keep` accepts stay as
/// they are, every other byte becomes `%XX` (purl segments keep `:`, SARIF URIs keep `/`).
pub fn percent_encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') || keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a purl segment: unreserved characters and `:` stay as they are.
fn encode(s: &str) -> String {
    percent_encode(s, |b| b == b':')
}

/// PEP 503: lower case, runs of `-`, `_`, `.` become one `-`.
fn pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The purl of `c`; `distro` is the platform's `os-release` ID for deb and apk packages.
pub fn of(c: &Component, distro: Option<&str>) -> Option<String> {
    let (ty, namespace, name): (&str, Vec<String>, String) = match c.ecosystem {
        Ecosystem::Deb => (
            "deb",
            vec![distro.unwrap_or("debian").to_owned()],
            c.name.clone(),
        ),
        Ecosystem::Apk => (
            "apk",
            vec![distro.unwrap_or("alpine").to_owned()],
            c.name.clone(),
        ),
        Ecosystem::Pypi => ("pypi", vec![], pypi_name(&c.name)),
        Ecosystem::Npm => ("npm", c.group.iter().cloned().collect(), c.name.clone()),
        Ecosystem::Maven => ("maven", vec![c.group.clone()?], c.name.clone()),
        Ecosystem::Nuget => ("nuget", vec![], c.name.clone()),
        Ecosystem::Golang => match c.name.rsplit_once('/') {
            Some((ns, name)) => (
                "golang",
                ns.split('/').map(str::to_owned).collect(),
                name.into(),
            ),
            None => ("golang", vec![], c.name.clone()),
        },
    };
    let mut purl = format!("pkg:{ty}/");
    for segment in namespace.iter().filter(|s| !s.is_empty()) {
        purl.push_str(&encode(segment));
        purl.push('/');
    }
    purl.push_str(&encode(&name));
    if let Some(v) = &c.version {
        purl.push('@');
        purl.push_str(&encode(v));
    }
    if let Some(arch) = c.arch.as_deref().filter(|_| ty == "deb" || ty == "apk") {
        purl.push_str("?arch=");
        purl.push_str(&encode(arch));
    }
    Some(purl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(
        e: Ecosystem,
        group: Option<&str>,
        name: &str,
        v: &str,
        arch: Option<&str>,
    ) -> Component {
        Component {
            ecosystem: e,
            group: group.map(Into::into),
            name: name.into(),
            version: Some(v.into()),
            arch: arch.map(Into::into),
            licenses: vec![],
            member: None,
        }
    }

    #[test]
    fn purls_per_ecosystem() {
        use Ecosystem::*;
        let cases = [
            (
                comp(Deb, None, "libc6", "2.36-9+deb12u4", Some("amd64")),
                Some("ubuntu"),
                "pkg:deb/ubuntu/libc6@2.36-9%2Bdeb12u4?arch=amd64",
            ),
            (
                comp(Deb, None, "passwd", "1:4.13+dfsg1-1", Some("amd64")),
                None,
                "pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1?arch=amd64",
            ),
            (
                comp(Apk, None, "musl", "1.2.4-r2", Some("x86_64")),
                None,
                "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64",
            ),
            (
                comp(Pypi, None, "Zope.Interface", "6.0", None),
                None,
                "pkg:pypi/zope-interface@6.0",
            ),
            (
                comp(Npm, Some("@babel"), "core", "7.24.0", None),
                None,
                "pkg:npm/%40babel/core@7.24.0",
            ),
            (
                comp(Maven, Some("com.google.guava"), "guava", "32.1.2-jre", None),
                None,
                "pkg:maven/com.google.guava/guava@32.1.2-jre",
            ),
            (
                comp(Nuget, None, "Newtonsoft.Json", "13.0.3", None),
                None,
                "pkg:nuget/Newtonsoft.Json@13.0.3",
            ),
            (
                comp(
                    Golang,
                    None,
                    "github.com/a/b/v2",
                    "v2.0.0+incompatible",
                    None,
                ),
                None,
                "pkg:golang/github.com/a/b/v2@v2.0.0%2Bincompatible",
            ),
            (
                comp(Golang, None, "stdlib", "1.22.1", None),
                None,
                "pkg:golang/stdlib@1.22.1",
            ),
        ];
        for (c, distro, want) in cases {
            assert_eq!(of(&c, distro).as_deref(), Some(want));
        }
        assert_eq!(of(&comp(Maven, None, "app", "1", None), None), None);
    }

    /// Issue 8 item 19: the purl-spec test suite (`tests/data/purl-test-suite-data.json`, from
    /// packageurl-python 0.17.6, MIT, which carries purl-spec's suite): every valid case of a
    /// type we write, with only the qualifiers we write, comes out canonical.
    #[test]
    fn purl_spec_test_suite() {
        let suite: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/purl-test-suite-data.json"))
                .unwrap();
        let mut compared = 0;
        for case in suite.as_array().unwrap() {
            let field = |k: &str| case[k].as_str().map(str::to_owned);
            let ecosystem = match field("type").as_deref() {
                Some("deb") => Ecosystem::Deb,
                Some("apk") => Ecosystem::Apk,
                Some("pypi") => Ecosystem::Pypi,
                Some("npm") => Ecosystem::Npm,
                Some("maven") => Ecosystem::Maven,
                Some("nuget") => Ecosystem::Nuget,
                Some("golang") => Ecosystem::Golang,
                _ => continue,
            };
            let qualifiers = case["qualifiers"].as_object().cloned().unwrap_or_default();
            let distro_pkg = matches!(ecosystem, Ecosystem::Deb | Ecosystem::Apk);
            let only_arch = qualifiers.keys().all(|k| k == "arch" && distro_pkg);
            if case["is_invalid"] == true || !case["subpath"].is_null() || !only_arch {
                continue;
            }
            let namespace = field("namespace");
            let name = field("name").unwrap();
            let (group, name, distro) = match ecosystem {
                Ecosystem::Golang => match &namespace {
                    Some(ns) => (None, format!("{}/{name}", ns.trim_end_matches('/')), None),
                    None => (None, name, None),
                },
                Ecosystem::Deb | Ecosystem::Apk => (None, name, namespace),
                _ => (namespace, name, None),
            };
            let c = Component {
                ecosystem,
                group,
                name,
                version: field("version"),
                arch: qualifiers
                    .get("arch")
                    .and_then(|a| a.as_str())
                    .map(str::to_owned),
                licenses: vec![],
                member: None,
            };
            assert_eq!(
                of(&c, distro.as_deref()).as_deref(),
                case["canonical_purl"].as_str(),
                "{}",
                case["description"]
            );
            compared += 1;
        }
        assert!(compared >= 10, "only {compared} cases compared");
    }
}
