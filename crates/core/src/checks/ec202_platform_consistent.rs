//! # EC202 platform-consistent
//!
//! ## What it checks
//! For each manifest of an image index, the platform in the index equals `os`,
//! `architecture` and `variant` of its image config (`arm64` with or without variant `v8` is
//! the same platform).
//!
//! ## Why it matters
//! Devices pick the manifest by the index's platform; if the config says something else, the
//! image was mislabelled and will not run where it is sent.
//!
//! ## Example
//! The index says `linux/arm/v7`, the config says `architecture: amd64`.
//!
//! ## How to fix
//! Build each platform with `--platform` set (buildx does this) instead of re-tagging
//! single-platform images into a hand-made manifest list.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC202",
    name: "platform-consistent",
    title: "Index platforms match the image configs",
    area: Area::Platform,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec202_platform_consistent.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let hint = CHECK.fix_hint();
    let mut findings = Vec::new();
    let mut compared = 0;
    for p in &cx.image.platforms {
        let (Some(index), Some(config)) = (&p.index_platform, &p.config) else {
            continue;
        };
        compared += 1;
        let actual = config.platform();
        if &actual != index {
            findings.push(
                Finding::new(format!(
                    "the index says {index}, the image config says {actual}"
                ))
                .on(index)
                .at(Location::Manifest(p.manifest_digest.to_string()))
                .help(&hint),
            );
        }
    }
    if !findings.is_empty() {
        Outcome::fail(
            format!("{} mislabelled manifest(s)", findings.len()),
            findings,
        )
    } else if compared == 0 {
        Outcome::pass("a single manifest: its config is the only platform statement")
    } else {
        Outcome::pass(format!(
            "{compared} manifest(s) consistent with their configs"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};

    #[test]
    fn pass_and_fail() {
        assert_eq!(
            check_with(&CHECK, &offer(&offer_json()), &facts(&good_spec())).status,
            Status::Pass
        );
        let mut arm = PlatformImage::busybox(Arch::Armhf, &["/bin/sh"]).unwrap();
        arm.config.platform_override = Some(("linux".into(), "amd64".into(), None));
        let spec = ImageSpec::new(vec![
            PlatformImage::busybox(Arch::Amd64, &["/bin/sh"]).unwrap(),
            arm,
        ]);
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&spec));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].message,
            "the index says linux/arm/v7, the image config says linux/amd64"
        );
        assert_eq!(o.findings[0].platform.as_deref(), Some("linux/arm/v7"));
    }
}
