//! # EC201 required-platforms
//!
//! ## What it checks
//! The image offers the platforms the policy asks for, and `image.platforms` in the offer
//! equals what the image really offers. The built-in policy follows the Marketplace's rule: at
//! least one IoT Edge Tier-1 platform (`linux/amd64` — Ubuntu Server x64 —, `linux/arm/v7` —
//! Raspbian armhf) is required (none: `fail`), and each missing Tier-1 platform is a warning
//! inside the check, which still passes. A policy's `requiredPlatforms` makes its whole set
//! mandatory instead (each missing one: `fail`). Extra platforms such as `linux/arm64` are
//! welcome.
//!
//! ## Why it matters
//! Customers deploy the same marketplace module to x64 gateways and Raspberry Pi class devices;
//! a platform the image lacks fails on their device, not in the marketplace, and the listing
//! tells them which devices the module runs on.
//!
//! ## Example
//! An image index with only `linux/arm64` (no Tier-1 platform), or an offer claiming
//! `linux/arm64` the image lacks. An image with only `linux/amd64` passes with a warning that
//! `linux/arm/v7` (Raspberry Pi class devices) is missing.
//!
//! ## How to fix
//! Build a multi-arch image (`docker buildx build --platform linux/amd64,linux/arm/v7 --push`)
//! and list exactly its platforms in `image.platforms`.

use std::collections::BTreeSet;

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;
use crate::platform::Platform;

pub const CHECK: Check = Check {
    id: "EC201",
    name: "required-platforms",
    title: "The image offers every required platform, as the offer claims",
    area: Area::Platform,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec201_required_platforms.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let hint = CHECK.fix_hint();
    let offered: BTreeSet<&Platform> = cx.image.platforms.iter().map(|p| &p.platform).collect();
    let mut findings = Vec::new();
    for required in &cx.policy.required_platforms {
        if !offered.contains(required) {
            findings.push(
                Finding::new(format!(
                    "the image does not offer required platform {required}"
                ))
                .help(&hint),
            );
        }
    }
    let tier1 = &cx.policy.tier1_platforms;
    let mut warnings = Vec::new();
    if !tier1.is_empty() {
        let missing: Vec<&Platform> = tier1.iter().filter(|p| !offered.contains(p)).collect();
        if missing.len() == tier1.len() {
            let names = missing.iter().map(|p| p.to_string()).collect::<Vec<_>>();
            findings.push(
                Finding::new(format!(
                    "the image offers no IoT Edge Tier-1 platform: at least one of {} is required",
                    names.join(", ")
                ))
                .help(&hint),
            );
        } else {
            for p in missing {
                warnings.push(
                    Finding::new(format!(
                        "warning: the image does not offer IoT Edge Tier-1 platform {p}; devices of that platform cannot run the module"
                    ))
                    .help(&hint),
                );
            }
        }
    }
    let claimed_raw = cx
        .offer
        .image
        .as_ref()
        .and_then(|i| i.platforms.clone())
        .unwrap_or_default();
    let mut claimed = BTreeSet::new();
    for (i, raw) in claimed_raw.iter().enumerate() {
        match raw.parse::<Platform>() {
            Ok(p) => {
                claimed.insert(p);
            }
            Err(e) => findings.push(
                Finding::new(e.to_string())
                    .at(Location::offer(format!("image.platforms[{i}]")))
                    .help(&hint),
            ),
        }
    }
    for p in offered.iter().filter(|p| !claimed.contains(**p)) {
        findings.push(
            Finding::new(format!(
                "the image offers {p}, which image.platforms does not list"
            ))
            .at(Location::offer("image.platforms"))
            .help(&hint),
        );
    }
    for p in claimed.iter().filter(|p| !offered.contains(p)) {
        findings.push(
            Finding::new(format!(
                "image.platforms claims {p}, which the image does not offer"
            ))
            .at(Location::offer("image.platforms"))
            .help(&hint),
        );
    }
    let list = offered
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if findings.is_empty() {
        let tail = match warnings.len() {
            0 => String::new(),
            1 => ", 1 warning".to_owned(),
            n => format!(", {n} warnings"),
        };
        Outcome::pass(format!("platforms: {list}{tail}")).with(warnings)
    } else {
        findings.extend(warnings);
        Outcome::fail(format!("image platforms: {list}"), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::facts::ImageFacts;
    use crate::finding::Status;
    use crate::offer::Offer;
    use crate::policy::Policy;
    use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};

    fn only(arch: Arch) -> ImageFacts {
        facts(&ImageSpec::new(vec![
            PlatformImage::busybox(arch, &["/bin/sh"]).unwrap(),
        ]))
    }

    fn claiming(platforms: &[&str]) -> Offer {
        let mut v = offer_json();
        v["image"]["platforms"] = serde_json::json!(platforms);
        offer(&v)
    }

    fn messages(o: &Outcome) -> Vec<&str> {
        o.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn pass_and_fail() {
        let good = facts(&good_spec());
        let o = check_with(&CHECK, &offer(&offer_json()), &good);
        assert_eq!((o.status, o.findings.len()), (Status::Pass, 0), "{o:?}");
        let o = check_with(&CHECK, &offer(&offer_json()), &only(Arch::Amd64));
        assert_eq!(o.status, Status::Fail);
        assert!(
            messages(&o)
                .contains(&"image.platforms claims linux/arm/v7, which the image does not offer"),
            "{o:?}"
        );
        let o = check_with(&CHECK, &claiming(&["linux/amd64"]), &good);
        assert!(
            o.findings[0]
                .message
                .contains("offers linux/arm/v7, which image.platforms does not list"),
            "{o:?}"
        );
    }

    /// Issue 8 item 2: the Marketplace's later rule, one Tier-1 platform is enough.
    #[test]
    fn one_tier1_platform_passes_with_a_warning() {
        for (arch, name, missing) in [
            (Arch::Amd64, "linux/amd64", "linux/arm/v7"),
            (Arch::Armhf, "linux/arm/v7", "linux/amd64"),
        ] {
            let o = check_with(&CHECK, &claiming(&[name]), &only(arch));
            assert_eq!(o.status, Status::Pass, "{o:?}");
            assert_eq!(o.summary, format!("platforms: {name}, 1 warning"));
            assert_eq!(
                messages(&o),
                [format!(
                    "warning: the image does not offer IoT Edge Tier-1 platform {missing}; devices of that platform cannot run the module"
                )]
            );
        }
    }

    #[test]
    fn no_tier1_platform_fails() {
        let o = check_with(&CHECK, &claiming(&["linux/arm64"]), &only(Arch::Arm64));
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert_eq!(
            messages(&o),
            [
                "the image offers no IoT Edge Tier-1 platform: at least one of linux/amd64, linux/arm/v7 is required"
            ]
        );
    }

    #[test]
    fn policy_required_platforms_are_all_mandatory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "requiredPlatforms = [\"linux/amd64\", \"linux/arm/v7\", \"linux/arm64\"]\n",
        )
        .unwrap();
        let policy = Policy::load(&file).unwrap();
        assert!(policy.tier1_platforms.is_empty());
        let good = facts(&good_spec());
        let o = (CHECK.run)(&Context {
            offer: &offer(&offer_json()),
            create_options: &crate::checks::create_options::load(&offer(&offer_json())),
            image: &good,
            policy: &policy,
            published: None,
            runtime: None,
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            messages(&o),
            ["the image does not offer required platform linux/arm64"]
        );
    }
}
