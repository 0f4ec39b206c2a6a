//! # EC503 listing-fields
//!
//! ## What it checks
//! `name` is 1–200 characters and `summary` 1–100, neither with control characters nor with
//! Unicode bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
//! U+061C: "Trojan Source" spoofing); `publisher`, `offer` and `plan` match
//! `[a-z0-9][a-z0-9-]{1,49}`.
//!
//! ## Why it matters
//! These fields make the catalog entry and the module identifier `publisher.offer.plan`,
//! which names the public repository and is the telemetry product info.
//!
//! ## Example
//! `"publisher": "Contoso"` (upper case), a 120-character summary, or a name carrying U+202E
//! (right-to-left override) so that it reads as another publisher's module.
//!
//! ## How to fix
//! Use lower-case ids of letters, digits and dashes; shorten the name and summary.

use super::rules::{bidi_controls, has_control_chars, invisible_chars, is_id};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC503",
    name: "listing-fields",
    title: "Listing name, summary and ids are well-formed",
    area: Area::Documentation,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec503_listing_fields.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let o = cx.offer;
    let hint = CHECK.fix_hint();
    let mut findings = Vec::new();
    let mut text = |field: &str, value: &Option<String>, max: usize| {
        let at = Location::offer(field);
        match value {
            None => findings.push(
                Finding::new(format!("{field} is missing"))
                    .at(at)
                    .help(&hint),
            ),
            Some(v) => {
                let n = v.chars().count();
                if n == 0 || n > max {
                    findings.push(
                        Finding::new(format!("{field} has {n} characters; 1 to {max} allowed"))
                            .at(at.clone())
                            .help(&hint),
                    );
                }
                if has_control_chars(v) {
                    findings.push(
                        Finding::new(format!("{field} contains control characters"))
                            .at(at.clone())
                            .help(&hint),
                    );
                }
                for (found, what) in [
                    (
                        bidi_controls(v),
                        "bidirectional formatting characters ({}): they reorder what readers see",
                    ),
                    (
                        invisible_chars(v),
                        "invisible characters ({}): they hide text from readers",
                    ),
                ] {
                    if found.is_empty() {
                        continue;
                    }
                    let list: Vec<String> = found
                        .iter()
                        .map(|c| format!("U+{:04X}", *c as u32))
                        .collect();
                    findings.push(
                        Finding::new(format!(
                            "{field} contains {}",
                            what.replace("{}", &list.join(", "))
                        ))
                        .at(at.clone())
                        .help(&hint),
                    );
                }
            }
        }
    };
    text("name", &o.name, 200);
    text("summary", &o.summary, 100);
    for (field, value) in [
        ("publisher", &o.publisher),
        ("offer", &o.offer),
        ("plan", &o.plan),
    ] {
        let at = Location::offer(field);
        match value {
            None => findings.push(
                Finding::new(format!("{field} is missing"))
                    .at(at)
                    .help(&hint),
            ),
            Some(v) if !is_id(v) => findings.push(
                Finding::new(format!(
                    "{field} {v:?} does not match [a-z0-9][a-z0-9-]{{1,49}}"
                ))
                .at(at)
                .help(&hint),
            ),
            Some(_) => {}
        }
    }
    if findings.is_empty() {
        Outcome::pass(format!(
            "listing fields valid; identifier {}",
            o.identifier().unwrap_or_default()
        ))
    } else {
        Outcome::fail(
            format!("{} listing field problem(s)", findings.len()),
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn pass_and_fail() {
        let o = run_offer(&CHECK, |_| {});
        assert_eq!(o.status, Status::Pass);
        assert!(o.summary.contains("contoso.tempfilter.standard"));
        let o = run_offer(&CHECK, |v| {
            v["name"] = "x".repeat(201).into();
            v["summary"] = "bad\u{7}".into();
            v["publisher"] = "Contoso".into();
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), 3, "{o:?}");
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: name")
        );
        // Exactly 200 characters (multi-byte) is fine.
        assert_eq!(
            run_offer(&CHECK, |v| v["name"] = "é".repeat(200).into()).status,
            Status::Pass
        );
    }

    /// Issue 8 item 17: bidi overrides in listing text are spoofing.
    #[test]
    fn bidi_format_characters_are_spoofing() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200F}'] {
            let o = run_offer(&CHECK, |v| {
                v["name"] = format!("Temp filter {c}rotcatnoC").into();
                v["summary"] = format!("Filters{c} telemetry").into();
            });
            assert_eq!(o.status, Status::Fail, "{c:?}: {o:?}");
            let want = format!("U+{:04X}", c as u32);
            assert_eq!(o.findings.len(), 2, "{o:?}");
            assert!(
                o.findings[0]
                    .message
                    .starts_with("name contains bidirectional")
            );
            assert!(o.findings[0].message.contains(&want), "{o:?}");
            assert_eq!(
                o.findings[1].shown_location().as_deref(),
                Some("offer.json: summary")
            );
        }
        for c in ['\u{200B}', '\u{2060}', '\u{FEFF}', '\u{E0041}'] {
            let o = run_offer(&CHECK, |v| v["name"] = format!("Temp{c} filter").into());
            assert_eq!(o.status, Status::Fail, "{c:?}: {o:?}");
            assert!(
                o.findings[0].message.starts_with("name contains invisible")
                    && o.findings[0]
                        .message
                        .contains(&format!("U+{:04X}", c as u32)),
                "{o:?}"
            );
        }
        // Joiners that scripts and emoji need are not flagged.
        assert_eq!(
            run_offer(&CHECK, |v| v["name"] =
                "فیلتر\u{200C}ها 👩\u{200D}🔬".into())
            .status,
            Status::Pass
        );
        // Other format-free non-ASCII text stays fine.
        assert_eq!(
            run_offer(&CHECK, |v| v["name"] = "Température — filtre".into()).status,
            Status::Pass
        );
    }
}
