//! SARIF 2.1.0 rendering: one rule per catalogue check (id, name, help) and one result per
//! finding of every check that failed, needs review or could not run.
//!
//! Statuses map to SARIF's `kind`/`level` (§3.27.9, §3.27.10): `fail` is kind `fail` with the
//! check's severity as level; `review` is kind `review` and `error` (the check could not run)
//! kind `open` ("could not determine"), both with level `none`, as §3.27.10 requires for any
//! kind but `fail`. Offer findings point at the offer file as given (a relative URI, percent-
//! encoded) with a region found by `locate` from the finding's JSON path; image findings
//! (`layer <digest>: <path>`) get a logical location carrying the layer digest.
//!
//! Written with `serde_json::json!` rather than `serde-sarif`: we emit a small, fixed subset,
//! and the literal shape is easier to check against the spec than a builder chain.

use serde_json::{Value, json};

use super::{Report, Severity, Status, locate};
use crate::checks;
use crate::location::{Location, OFFER_FILE};
use crate::sbom::purl::percent_encode;

/// The offer a report judged, for locations: its path as the user gave it and its text.
#[derive(Debug, Clone, Copy)]
pub struct OfferFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

/// SARIF without the offer's text: offer locations name `offer.json` and carry no region.
pub fn render(report: &Report) -> String {
    render_with(report, None)
}

/// SARIF with offer locations resolved against `offer` (file path and region).
pub fn render_with(report: &Report, offer: Option<OfferFile<'_>>) -> String {
    let rules: Vec<Value> = checks::all()
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": c.section("What it checks").unwrap_or_else(|| c.title.to_owned()) },
                "help": { "text": c.section("How to fix").unwrap_or_else(|| c.title.to_owned()) },
                "defaultConfiguration": { "level": level(c.severity) },
                "properties": { "area": c.area.as_str() },
            })
        })
        .collect();
    let index_of = |id: &str| checks::all().iter().position(|c| c.id == id);
    let mut results = Vec::new();
    for check in &report.checks {
        if matches!(check.status, Status::Pass | Status::Skip) {
            continue;
        }
        let mut findings: Vec<(String, Option<Location>, Option<String>)> = check
            .findings
            .iter()
            .map(|f| (f.message.clone(), f.location.clone(), f.platform.clone()))
            .collect();
        if findings.is_empty() {
            findings.push((check.summary.clone(), None, None));
        }
        for (message, location, platform) in findings {
            let (kind, level) = kind_level(check.severity, check.status);
            let mut result = json!({
                "ruleId": check.id,
                "kind": kind,
                "level": level,
                "message": { "text": message },
                "properties": { "status": check.status, "platform": platform },
            });
            if let Some(i) = index_of(&check.id) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(loc) = location {
                result["locations"] = json!([location_json(&loc, offer)]);
            }
            results.push(result);
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "rules": rules,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": { "verdict": report.verdict, "policy": report.policy },
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("sarif serializes");
    s.push('\n');
    s
}

/// SARIF `kind` and `level` of a result with this status (never called for pass or skip).
fn kind_level(severity: Severity, status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Review => ("review", "none"),
        Status::Error => ("open", "none"),
        Status::Pass => ("pass", "none"),
        Status::Skip => ("notApplicable", "none"),
        Status::Fail => ("fail", level(severity)),
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Blocking => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// An offer location becomes a physical location in the offer file (with a region when the
/// offer text is known) plus a logical location for the JSON path; a file in a layer a logical
/// location naming the file, with the layer digest; anything else (a manifest, a config) a
/// logical location of its own.
fn location_json(loc: &Location, offer: Option<OfferFile<'_>>) -> Value {
    match loc {
        Location::Offer(path) => {
            let uri = offer.map_or_else(|| OFFER_FILE.to_owned(), |o| relative_uri(o.path));
            let mut physical = json!({ "artifactLocation": { "uri": uri } });
            if let Some(o) = offer
                && !path.is_empty()
                && let Some((line, column)) = locate::position(o.text, path)
            {
                physical["region"] = json!({ "startLine": line, "startColumn": column });
            }
            let mut location = json!({ "physicalLocation": physical });
            if !path.is_empty() {
                location["logicalLocations"] =
                    json!([{ "fullyQualifiedName": path, "kind": "member" }]);
            }
            location
        }
        Location::Layer { digest, path } => {
            let mut logical = json!({
                "fullyQualifiedName": loc.to_string(),
                "kind": "resource",
                "properties": { "layer": digest },
            });
            if let Some(p) = path {
                logical["name"] = json!(p);
            }
            json!({ "logicalLocations": [logical] })
        }
        _ => {
            json!({ "logicalLocations": [{ "fullyQualifiedName": loc.to_string(), "kind": "resource" }] })
        }
    }
}

/// The offer path as a URI reference (§3.4.4): relative paths stay relative, absolute ones
/// become `file://` URIs; bytes outside RFC 3986's unreserved set and `/` are percent-encoded.
fn relative_uri(path: &str) -> String {
    let scheme = if path.starts_with('/') { "file://" } else { "" };
    format!("{scheme}{}", percent_encode(path, |b| b == b'/'))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::checks::testing::{offer, offer_json};
    use crate::facts::ImageFacts;
    use crate::policy::Policy;
    use crate::report::Finding;

    const LAYER: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A real report of the template offer with an insecure privacy URL and no image, with a
    /// review, an error and an image finding made sure of.
    fn sample() -> (Report, String) {
        let mut v = offer_json();
        v["legal"]["privacyPolicyUrl"] = "http://insecure.example".into();
        let text = serde_json::to_string_pretty(&v).unwrap();
        let (mut report, _) = crate::evaluate(
            &offer(&v),
            &ImageFacts::default(),
            &Policy::default(),
            None,
            None,
        );
        let n = report.checks.len();
        report.checks[n - 1].status = Status::Review;
        report.checks[n - 2].status = Status::Error;
        report.checks[n - 3].status = Status::Fail;
        report.checks[n - 3]
            .findings
            .push(Finding::new("hostile").at(Location::layer(LAYER, Some("usr/bin/x y"))));
        (report, text)
    }

    fn results(sarif: &str) -> Vec<Value> {
        let v: Value = serde_json::from_str(sarif).unwrap();
        v["runs"][0]["results"].as_array().unwrap().clone()
    }

    /// Issue 8 item 14: non-fail results said `level: note`, and checks that could not run
    /// were written as failures.
    #[test]
    fn sarif_kind_and_level_follow_the_status() {
        let (report, _) = sample();
        let results = results(&render(&report));
        for r in &results {
            let status = r["properties"]["status"].as_str().unwrap();
            match status {
                "fail" => {
                    assert_eq!(r["kind"], "fail");
                    assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
                }
                "review" => assert_eq!(
                    (&r["kind"], &r["level"]),
                    (&"review".into(), &"none".into())
                ),
                "error" => assert_eq!((&r["kind"], &r["level"]), (&"open".into(), &"none".into())),
                other => panic!("a {other} result was written: {r}"),
            }
        }
        for s in ["fail", "review", "error"] {
            assert!(
                results.iter().any(|r| r["properties"]["status"] == s),
                "no {s} result"
            );
        }
    }

    /// Issue 8 item 14: every location said `offer.json`, with no region.
    #[test]
    fn sarif_locations_name_the_offer_file_and_region() {
        let (report, text) = sample();
        let offer = OfferFile {
            path: "offers/my offer.json",
            text: &text,
        };
        let results = results(&render_with(&report, Some(offer)));
        let ec902 = results
            .iter()
            .find(|r| r["ruleId"] == "EC902" && r["locations"].is_array())
            .expect("EC902 fails on the insecure URL");
        let physical = &ec902["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            "offers/my%20offer.json"
        );
        let line = physical["region"]["startLine"].as_u64().unwrap() as usize;
        let column = physical["region"]["startColumn"].as_u64().unwrap() as usize;
        let at: String = text
            .lines()
            .nth(line - 1)
            .unwrap()
            .chars()
            .skip(column - 1)
            .collect();
        assert!(at.starts_with("\"http://insecure.example\""), "{at}");

        let image = results
            .iter()
            .find(|r| r["message"]["text"] == "hostile")
            .unwrap();
        let logical = &image["locations"][0]["logicalLocations"][0];
        assert_eq!(logical["properties"]["layer"], LAYER);
        assert_eq!(logical["name"], "usr/bin/x y");
        assert!(image["locations"][0].get("physicalLocation").is_none());
    }

    #[test]
    fn offer_uris_are_relative_or_file_uris() {
        assert_eq!(relative_uri("offer.json"), "offer.json");
        assert_eq!(relative_uri("../a b/ü.json"), "../a%20b/%C3%BC.json");
        assert_eq!(relative_uri("/tmp/o#1.json"), "file:///tmp/o%231.json");
    }

    /// The official SARIF 2.1.0 schema (OASIS; `scripts/setup.sh` fetches it into
    /// `$EDGECERT_SARIF_SCHEMA`). Absent: skipped with a message, a failure under
    /// `EDGECERT_REQUIRE_SERVICES=1`.
    fn sarif_schema() -> Option<jsonschema::Validator> {
        edgecert_fixtures::schemas::sarif_schema()
            .map(|schema| jsonschema::validator_for(&schema).unwrap())
    }

    #[test]
    fn sarif_validates_against_the_official_2_1_0_schema() {
        let Some(v) = sarif_schema() else { return };
        let (report, text) = sample();
        for sarif in [
            render(&report),
            render_with(
                &report,
                Some(OfferFile {
                    path: "/abs/offer.json",
                    text: &text,
                }),
            ),
        ] {
            let doc: Value = serde_json::from_str(&sarif).unwrap();
            let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        // The validator is not vacuous: a wrong level is caught.
        let mut doc: Value = serde_json::from_str(&render(&report)).unwrap();
        doc["runs"][0]["results"][0]["level"] = "fatal".into();
        assert!(!v.is_valid(&doc));
    }
}
