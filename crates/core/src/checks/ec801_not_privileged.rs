//! # EC801 not-privileged
//!
//! ## What it checks
//! The default createOptions does not set `HostConfig.Privileged` to true. With a
//! justification in `privileges.justification` the check asks for human review instead of
//! failing.
//!
//! ## Why it matters
//! A privileged container has every capability, every host device and no confinement: a
//! compromise of the module is a compromise of the device. Certified modules must have the
//! least privileged access to the host possible; privileged modules must stay extremely rare,
//! and some IoT Edge devices strip `Privileged` altogether.
//!
//! ## Example
//! `"HostConfig": {"Privileged": true}` gives `createOptions sets HostConfig.Privileged` at
//! `defaults.createOptions.HostConfig.Privileged`.
//!
//! ## How to fix
//! Remove `Privileged`; ask for single devices with `HostConfig.Devices` and single capabilities
//! with `HostConfig.CapAdd` instead. If the module truly needs it, explain why in
//! `privileges.justification` for the reviewer.

use edgecert_edge::create_options::analysis;

use super::create_options::{location, parsed_or};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC801",
    name: "not-privileged",
    title: "The module does not run privileged",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec801_not_privileged.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let c = match parsed_or(cx, "no createOptions: not privileged") {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let Some(path) = analysis::privileged(&c.body) else {
        return Outcome::pass("not privileged");
    };
    let finding = Finding::new("createOptions sets HostConfig.Privileged")
        .at(location(path))
        .help(CHECK.fix_hint());
    match cx.offer.justification() {
        Some(j) => Outcome::review(format!("privileged, justified: {j}"), vec![finding]),
        None => Outcome::fail("the module runs privileged", vec![finding]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn pass_fail_review() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let privileged = |v: &mut serde_json::Value| {
            v["defaults"]["createOptions"] = json!("{\"HostConfig\":{\"Privileged\":true}}")
        };
        let o = run_offer(&CHECK, privileged);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.HostConfig.Privileged")
        );
        assert!(
            o.findings[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("Remove `Privileged`;")
        );
        let o = run_offer(&CHECK, |v| {
            privileged(v);
            v["privileges"] = json!({"justification": "Drives the GPIO header directly."});
        });
        assert_eq!(o.status, Status::Review);
        let o = run_offer(&CHECK, |v| {
            privileged(v);
            v["privileges"] = json!({"justification": "  "});
        });
        assert_eq!(o.status, Status::Fail, "a blank justification is none");
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"HostConfig": {"Privileged": false}})
        });
        assert_eq!(o.status, Status::Pass);
        // Docker reads names case-insensitively, so this is privileged too.
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["createOptions"] = json!({"hostconfig": {"privileged": true}})
        });
        assert_eq!(o.status, Status::Fail);
    }
}
