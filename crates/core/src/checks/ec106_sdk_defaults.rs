//! # EC106 sdk-defaults
//!
//! ## What it checks
//! When the image uses an Azure IoT module SDK (detected as in EC702, on any platform),
//! `defaults.twin` and `defaults.routes` are both present in the offer. They may be empty
//! objects (`{}`). Skipped when no SDK is found.
//!
//! ## Why it matters
//! A module built on an IoT SDK reads its desired properties from the module twin and sends
//! messages through edgeHub routes. Without defaults, a customer deploying from the
//! marketplace gets a module that is not wired to anything and has to guess its settings.
//!
//! ## Example
//! `defaults.routes is missing; the image uses the Node.js SDK (linux/amd64)`.
//!
//! ## How to fix
//! Add `defaults.twin` (the desired properties the module reads, or `{}`) and
//! `defaults.routes` (e.g. `"toUpstream": "FROM /messages/modules/<name>/outputs/* INTO
//! $upstream"`, or `{}`) to the offer.

use std::collections::BTreeSet;

use super::ec702_sdk_detected::platform_sdks;
use super::{Check, Context, Outcome, UNREADABLE};
use crate::analyze::sdk::sdk_title;
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC106",
    name: "sdk-defaults",
    title: "Modules built on an IoT SDK declare default twin and routes",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec106_sdk_defaults.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let mut used = BTreeSet::new();
    for p in &cx.image.platforms {
        for sdk in platform_sdks(p).keys() {
            used.insert(format!("{} ({})", sdk_title(sdk), p.platform));
        }
    }
    if used.is_empty() {
        return if cx.image.platforms.is_empty() {
            Outcome::skip(UNREADABLE)
        } else {
            Outcome::skip("no Azure IoT SDK found in the image")
        };
    }
    let used = used.into_iter().collect::<Vec<_>>().join(", ");
    let defaults = cx.offer.defaults();
    let mut findings = Vec::new();
    for (field, present) in [
        ("twin", defaults.twin.is_some()),
        ("routes", defaults.routes.is_some()),
    ] {
        if !present {
            findings.push(
                Finding::new(format!(
                    "defaults.{field} is missing; the image uses the {used} SDK"
                ))
                .at(Location::offer(format!("defaults.{field}")))
                .help(CHECK.fix_hint()),
            );
        }
    }
    if findings.is_empty() {
        Outcome::pass(format!("default twin and routes are declared for {used}"))
    } else {
        Outcome::fail(
            "the module uses an IoT SDK but lacks default twin or routes",
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ec702_sdk_detected::tests::sdk_spec;
    use crate::checks::testing::*;
    use crate::finding::Status;

    #[test]
    fn sdk_needs_twin_and_routes_empty_objects_count() {
        let image = facts(&sdk_spec());
        let o = check_with(&CHECK, &offer(&offer_json()), &image);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let mut v = offer_json();
        v["defaults"]["twin"] = serde_json::json!({});
        v["defaults"]["routes"] = serde_json::json!({});
        assert_eq!(check_with(&CHECK, &offer(&v), &image).status, Status::Pass);
        v["defaults"].as_object_mut().unwrap().remove("twin");
        v["defaults"].as_object_mut().unwrap().remove("routes");
        let o = check_with(&CHECK, &offer(&v), &image);
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 2), "{o:?}");
        assert!(
            o.findings[0].message.contains("Node.js (linux/amd64)"),
            "{o:?}"
        );
        assert_eq!(
            o.findings[1].shown_location().as_deref(),
            Some("offer.json: defaults.routes")
        );
    }

    #[test]
    fn skips_without_sdk() {
        let mut v = offer_json();
        v.as_object_mut().unwrap().remove("defaults");
        let o = check_with(&CHECK, &offer(&v), &facts(&good_spec()));
        assert_eq!(o.status, Status::Skip, "{o:?}");
    }
}
