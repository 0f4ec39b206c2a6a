//! # EC904 support-option
//!
//! ## What it checks
//! At least one support option with a valid value: an email address (`type: email`), an https
//! URL (`type: url`) or a phone number in E.164 form (`type: phone`, e.g. `+4930123456`).
//! Invalid options are listed even when another one is valid.
//!
//! ## Why it matters
//! Partners are responsible for supporting their modules and must keep at least one support
//! option available.
//!
//! ## Example
//! `"support": []`, or `[{"type": "phone", "value": "030 123456"}]` (not E.164).
//!
//! ## How to fix
//! Add a support email, an https support page or an E.164 phone number under `support`.

use super::rules::{is_e164, is_email, is_https_url};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC904",
    name: "support-option",
    title: "At least one valid support option",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec904_support_option.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let hint = CHECK.fix_hint();
    let options = cx.offer.support.as_deref().unwrap_or(&[]);
    let mut valid = 0;
    let mut findings = Vec::new();
    for (i, o) in options.iter().enumerate() {
        let ok = match o.kind.as_str() {
            "email" => is_email(&o.value),
            "url" => is_https_url(&o.value),
            "phone" => is_e164(&o.value),
            other => {
                findings.push(
                    Finding::new(format!(
                        "unknown support type {other:?} (email, url or phone)"
                    ))
                    .at(Location::offer(format!("support[{i}].type")))
                    .help(&hint),
                );
                continue;
            }
        };
        if ok {
            valid += 1;
        } else {
            findings.push(
                Finding::new(format!("{:?} is not a valid {}", o.value, o.kind))
                    .at(Location::offer(format!("support[{i}].value")))
                    .help(&hint),
            );
        }
    }
    if valid == 0 {
        if options.is_empty() {
            findings.push(
                Finding::new("no support option")
                    .at(Location::offer("support"))
                    .help(&hint),
            );
        }
        Outcome::fail("no valid support option", findings)
    } else {
        Outcome::pass(format!("{valid} valid support option(s)")).with(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn pass_and_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        assert_eq!(
            run_offer(&CHECK, |v| v["support"] = json!([])).status,
            Status::Fail
        );
        let o = run_offer(&CHECK, |v| {
            v["support"] = json!([{"type": "phone", "value": "030 123456"}])
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: support[0].value")
        );
        let o = run_offer(
            &CHECK,
            |v| {
                v["support"] = json!([{"type": "fax", "value": "1"}, {"type": "phone", "value": "+4930123456"}])
            },
        );
        assert_eq!((o.status, o.findings.len()), (Status::Pass, 1));
    }
}
