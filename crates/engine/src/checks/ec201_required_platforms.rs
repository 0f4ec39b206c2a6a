//! # EC201 required-platforms
//!
//! ## What it checks
//! The image offers every platform the policy requires (built-in: `linux/amd64` and
//! `linux/arm/v7`, IoT Edge Tier 1 of the criteria: Ubuntu Server x64 and Raspbian armhf), and
//! `image.platforms` in the offer equals what the image really offers. Extra platforms such as
//! `linux/arm64` are welcome.
//!
//! ## Why it matters
//! Customers deploy the same marketplace module to x64 gateways and Raspberry Pi class devices;
//! a missing platform fails on their device, not in the marketplace.
//!
//! ## Example
//! An image index with only `linux/amd64`, or an offer claiming `linux/arm64` the image lacks.
//!
//! ## How to fix
//! Build a multi-arch image (`docker buildx build --platform linux/amd64,linux/arm/v7 --push`)
//! and list exactly its platforms in `image.platforms`.

use std::collections::BTreeSet;

use super::{Check, Context, Outcome};
use crate::platform::Platform;
use crate::report::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC201",
    name: "required-platforms",
    title: "The image offers every required platform, as the offer claims",
    area: Area::Platform,
    severity: Severity::Blocking,
    source: include_str!("ec201_required_platforms.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    if cx.image.platforms.is_empty() {
        return Outcome::skip("the image could not be read (see EC101)");
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
                    .at(format!("offer.json: image.platforms[{i}]"))
                    .help(&hint),
            ),
        }
    }
    for p in offered.iter().filter(|p| !claimed.contains(**p)) {
        findings.push(
            Finding::new(format!(
                "the image offers {p}, which image.platforms does not list"
            ))
            .at("offer.json: image.platforms")
            .help(&hint),
        );
    }
    for p in claimed.iter().filter(|p| !offered.contains(p)) {
        findings.push(
            Finding::new(format!(
                "image.platforms claims {p}, which the image does not offer"
            ))
            .at("offer.json: image.platforms")
            .help(&hint),
        );
    }
    let list = offered
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if findings.is_empty() {
        Outcome::pass(format!("platforms: {list}"))
    } else {
        Outcome::fail(format!("image platforms: {list}"), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::report::Status;
    use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};

    #[test]
    fn pass_and_fail() {
        let good = facts(&good_spec());
        assert_eq!(
            check_with(&CHECK, &offer(&offer_json()), &good).status,
            Status::Pass
        );
        let amd64_only = facts(&ImageSpec::new(vec![
            PlatformImage::busybox(Arch::Amd64, &["/bin/sh"]).unwrap(),
        ]));
        let o = check_with(&CHECK, &offer(&offer_json()), &amd64_only);
        assert_eq!(o.status, Status::Fail);
        let msgs: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            msgs.contains(&"the image does not offer required platform linux/arm/v7"),
            "{msgs:?}"
        );
        assert!(
            msgs.contains(&"image.platforms claims linux/arm/v7, which the image does not offer"),
            "{msgs:?}"
        );
        let mut v = offer_json();
        v["image"]["platforms"] = serde_json::json!(["linux/amd64"]);
        let o = check_with(&CHECK, &offer(&v), &good);
        assert!(
            o.findings[0]
                .message
                .contains("offers linux/arm/v7, which image.platforms does not list"),
            "{o:?}"
        );
    }
}
