//! # EC903 third-party-notice
//!
//! ## What it checks
//! If the image contains third-party components — OS packages (dpkg, apk databases), Python
//! dist-info / egg-info, `node_modules` packages, jars (`pom.properties`, manifests), .NET
//! `*.deps.json` libraries, Go modules in binaries' build info — a notice is provided: an https
//! `legal.thirdPartyNoticeUrl`, or a non-empty notice file in the image of every platform that
//! ships components: `NOTICE*`, `ThirdPartyNotices*`, `THIRD-PARTY*` (any case; not one inside
//! a component's own directory such as `node_modules/`, `site-packages/`, `/usr/share/doc/`),
//! or any file under `/licenses/`. Components count only if the platform's merged filesystem
//! still has the file that declares them. The summary gives the component count;
//! `edgecert check --sbom FILE` writes the full inventory as CycloneDX 1.5 JSON.
//!
//! ## Why it matters
//! Open-source licenses (GPL, Apache-2.0, MIT …) require their notices to be passed on with the
//! software; the marketplace requires publishers to provide them for what their modules ship.
//!
//! ## Example
//! `linux/amd64 ships 96 third-party components (deb 92, pypi 4) and no notice`.
//!
//! ## How to fix
//! Publish the third-party notices (e.g. generated from `edgecert check --sbom sbom.json`) at an
//! https URL and set `legal.thirdPartyNoticeUrl`, or add a `ThirdPartyNotices.txt` (or
//! `/licenses/` directory) to the image.

use std::collections::BTreeMap;

use super::rules::is_https_url;
use super::{Check, Context, Outcome, UNREADABLE};
use crate::facts::PlatformFacts;
use crate::facts::merged::NodeKind;
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;
use crate::sbom::Inventory;

pub const CHECK: Check = Check {
    id: "EC903",
    name: "third-party-notice",
    title: "Third-party notices are provided",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec903_third_party_notice.rs"),
    run,
};

/// Directories that belong to one component: a notice there is that component's own.
fn in_component_dir(path: &str) -> bool {
    path.starts_with("usr/share/doc/")
        || path.split('/').any(|s| {
            matches!(s, "node_modules" | "site-packages" | "dist-packages")
                || s.ends_with(".dist-info")
                || s.ends_with(".egg-info")
        })
}

/// `NOTICE`, `NOTICE.txt`, `NOTICES.md`, `ThirdPartyNotices.txt`, `THIRD-PARTY-NOTICES`,
/// `licenses/…`.
pub fn is_notice_path(path: &str) -> bool {
    if path.starts_with("licenses/") {
        return true;
    }
    let base = path.rsplit('/').next().unwrap_or(path).to_ascii_uppercase();
    let named = [
        ("NOTICE", true),
        ("THIRDPARTYNOTICE", true),
        ("THIRD-PARTY", false),
    ]
    .iter()
    .any(|(prefix, plural)| {
        base.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with(['.', '-', '_'])
                || (*plural && rest.starts_with('S'))
        })
    });
    named && !in_component_dir(path)
}

/// A non-empty notice file in the platform's filesystem.
fn notice_file(p: &PlatformFacts) -> Option<&str> {
    p.fs.iter()
        .filter(|(path, _)| is_notice_path(path))
        .find(|(path, node)| match node.kind {
            NodeKind::File => node.size > 0,
            NodeKind::Symlink(_) | NodeKind::Hardlink(_) => {
                p.fs.resolve(&format!("/{path}"), "/")
                    .is_ok_and(|(_, n)| n.kind == NodeKind::File && n.size > 0)
            }
            _ => false,
        })
        .map(|(path, _)| path.as_str())
}

/// `deb 92, pypi 4` for the components `platform` ships (all platforms: `None`).
fn breakdown(inv: &Inventory, platform: Option<&str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &inv.components {
        if platform.is_none_or(|p| e.platforms.iter().any(|q| q == p)) {
            *counts.entry(e.component.ecosystem.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run(cx: &Context<'_>) -> Outcome {
    let url = cx
        .offer
        .legal
        .as_ref()
        .and_then(|l| l.third_party_notice_url.as_deref());
    let url_ok = url.is_some_and(is_https_url);
    if cx.image.platforms.is_empty() {
        return match url.filter(|_| url_ok) {
            Some(u) => Outcome::pass(format!("third-party notice: {u}")),
            None => Outcome::skip(UNREADABLE),
        };
    }
    let inv = Inventory::from_facts(cx.image, "");
    let count = inv.components.len();
    let counted = if count == 0 {
        "no third-party components found".to_owned()
    } else {
        format!(
            "{count} third-party component(s) ({})",
            breakdown(&inv, None)
        )
    };
    if url_ok {
        return Outcome::pass(format!("{counted}; notice: {}", url.unwrap_or_default()));
    }
    if count == 0 {
        let complete = cx.image.platforms.iter().all(|p| p.complete);
        return if complete {
            Outcome::pass(counted)
        } else {
            Outcome::error(
                "the image could not be read completely (see EC101): components may be missing",
                Vec::new(),
            )
        };
    }
    let mut findings = Vec::new();
    let mut notices = Vec::new();
    for p in &cx.image.platforms {
        let platform = p.platform.to_string();
        let n = inv.count_for(&platform);
        if n == 0 {
            continue;
        }
        match notice_file(p) {
            Some(path) => notices.push(format!("{platform}: /{path}")),
            None => {
                let url_note = match url {
                    Some(u) => format!("; legal.thirdPartyNoticeUrl {u:?} is not an https URL"),
                    None => String::new(),
                };
                findings.push(
                    Finding::new(format!(
                        "{platform} ships {n} third-party component(s) ({}) and no notice{url_note}",
                        breakdown(&inv, Some(&platform))
                    ))
                    .on(&platform)
                    .at(Location::offer("legal.thirdPartyNoticeUrl"))
                    .help(CHECK.fix_hint()),
                );
            }
        }
    }
    if findings.is_empty() {
        Outcome::pass(format!("{counted}; notice file {}", notices.join(", ")))
    } else {
        Outcome::fail(format!("{counted} and no third-party notice"), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};
    use serde_json::Value;

    const STATUS: &str = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\nPackage: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n";

    fn spec(extra: Layer) -> ImageSpec {
        let mut p = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        p.layers.push(
            Layer::new()
                .file("/var/lib/dpkg/status", STATUS, 0o644)
                .file("/usr/share/doc/libc6/NOTICE", "libc6's own", 0o644)
                .file("/app/node_modules/a/NOTICE", "a's own", 0o644),
        );
        p.layers.push(extra);
        ImageSpec::new(vec![p])
    }

    fn without_url(v: &mut Value) {
        v["legal"]
            .as_object_mut()
            .unwrap()
            .remove("thirdPartyNoticeUrl");
    }

    fn run_on(spec: &ImageSpec, edit: impl FnOnce(&mut Value)) -> Outcome {
        let mut v = offer_json();
        edit(&mut v);
        check_with(&CHECK, &offer(&v), &facts(spec))
    }

    #[test]
    fn notice_names() {
        for ok in [
            "NOTICE",
            "app/NOTICE.txt",
            "NOTICES.md",
            "ThirdPartyNotices.txt",
            "opt/app/THIRD-PARTY-NOTICES",
            "licenses/LICENSE-openssl",
        ] {
            assert!(is_notice_path(ok), "{ok}");
        }
        for no in [
            "noticeboard.js",
            "app/node_modules/x/NOTICE",
            "usr/share/doc/libc6/NOTICE",
            "usr/lib/python3/site-packages/x/NOTICE",
            "app/licenses.txt",
        ] {
            assert!(!is_notice_path(no), "{no}");
        }
    }

    #[test]
    fn components_need_a_notice() {
        let bare = spec(Layer::new());
        let o = run_on(&bare, |_| {});
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(
            o.summary,
            "2 third-party component(s) (deb 2); notice: https://contoso.example/notices"
        );
        let o = run_on(&bare, without_url);
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert_eq!(
            o.findings[0].message,
            "linux/amd64 ships 2 third-party component(s) (deb 2) and no notice"
        );
        let o = run_on(&bare, |v| {
            v["legal"]["thirdPartyNoticeUrl"] = "http://x.example/n".into()
        });
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.ends_with("is not an https URL"));
        for notice in ["/ThirdPartyNotices.txt", "/licenses/zlib"] {
            let with = spec(Layer::new().file(notice, "notices", 0o644));
            let o = run_on(&with, without_url);
            assert_eq!(o.status, Status::Pass, "{notice}: {o:?}");
            assert!(
                o.summary.ends_with(&format!("linux/amd64: {notice}")),
                "{o:?}"
            );
        }
        let empty = spec(Layer::new().file("/NOTICE", "", 0o644));
        assert_eq!(run_on(&empty, without_url).status, Status::Fail);
    }

    #[test]
    fn deleted_databases_do_not_count() {
        let gone = spec(Layer::new().whiteout("/var/lib/dpkg/status"));
        let o = run_on(&gone, without_url);
        assert_eq!(
            (o.status, o.summary.as_str()),
            (Status::Pass, "no third-party components found")
        );
        assert_eq!(run_on(&good_spec(), without_url).status, Status::Pass);
    }
}
