//! # EC104 default-twin
//!
//! ## What it checks
//! `defaults.twin` (the module twin's default desired properties) obeys the module twin rules:
//! nesting depth at most 10; keys of 1 to 1024 UTF-8 bytes without control characters, `.`,
//! `$`, `#` or whitespace; strings at most 4096 bytes; integers within
//! −4503599627370496..4503599627370495; arrays without null; at most 32 KiB serialized.
//! Numbers with a fraction are accepted at any magnitude; a number without one is an integer.
//!
//! ## Why it matters
//! IoT Hub rejects a deployment whose module twin breaks these rules, so a customer deploying
//! the module with its defaults would get an error instead of a running module.
//!
//! ## Example
//! `"twin": {"limits.max": 45}` gives `keys must not contain '.'` at
//! `defaults.twin.limits.max`.
//!
//! ## How to fix
//! Rename keys to letters, digits, `_` and `-` (nest objects instead of dotted names), shorten
//! long strings, keep nesting shallow, and move large data out of the twin (a file or a URL the
//! module downloads).

use edgecert_edge::twin::check_desired;

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC104",
    name: "default-twin",
    title: "Default module twin obeys the module twin rules",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec104_default_twin.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let Some(twin) = cx.offer.defaults.as_ref().and_then(|d| d.twin.as_ref()) else {
        return Outcome::skip("no default twin (see EC106 for when one is required)");
    };
    let violations = check_desired(twin);
    if violations.is_empty() {
        let bytes = serde_json::to_string(twin).map_or(0, |s| s.len());
        return Outcome::pass(format!(
            "{} top-level desired properties, {bytes} bytes",
            twin.len()
        ));
    }
    let n = violations.len();
    let findings = violations
        .into_iter()
        .map(|v| {
            Finding::new(v.message.clone())
                .at(Location::offer(v.location("defaults.twin")))
                .help(CHECK.fix_hint())
        })
        .collect();
    Outcome::fail(
        format!(
            "the default twin breaks {n} twin rule{}",
            if n == 1 { "" } else { "s" }
        ),
        findings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn pass_fail_and_skip() {
        let o = run_offer(&CHECK, |_| {});
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["twin"] = json!({"limits.max": 45, "ok": {"list": [1, null]}})
        });
        assert_eq!(o.status, Status::Fail);
        let locations = crate::checks::testing::locations(&o);
        assert_eq!(
            locations,
            [
                "offer.json: defaults.twin.limits.max",
                "offer.json: defaults.twin.ok.list[1]"
            ]
        );
        assert!(o.findings[0].help.is_some());
        let o = run_offer(&CHECK, |v| {
            v["defaults"].as_object_mut().unwrap().remove("twin");
        });
        assert_eq!(o.status, Status::Skip);
        let o = run_offer(&CHECK, |v| v["defaults"]["twin"] = json!({}));
        assert_eq!(o.status, Status::Pass);
    }

    #[test]
    fn integers_and_depth() {
        let o = run_offer(&CHECK, |v| {
            v["defaults"]["twin"] = json!({"big": 4503599627370496i64, "f": 0.25})
        });
        assert_eq!(o.findings.len(), 1, "{o:?}");
        let mut deep = json!(1);
        for _ in 0..11 {
            deep = json!({ "a": deep });
        }
        let o = run_offer(&CHECK, |v| v["defaults"]["twin"] = deep);
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("deeper than 10"));
    }
}
