//! SARIF 2.1.0 rendering: one rule per catalogue check (id, name, help) and one result per
//! finding of every check that did not pass.
//!
//! Written with `serde_json::json!` rather than `serde-sarif`: we emit a small, fixed subset,
//! and the literal shape is easier to check against the spec than a builder chain.

use serde_json::{Value, json};

use super::{Report, Severity, Status};
use crate::checks;

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = checks::all()
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": c.section("What it checks").unwrap_or_else(|| c.title.to_owned()) },
                "help": { "text": c.section("How to fix").unwrap_or_else(|| c.title.to_owned()) },
                "defaultConfiguration": { "level": level(c.severity, Status::Fail) },
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
        let mut findings: Vec<(String, Option<String>, Option<String>)> = check
            .findings
            .iter()
            .map(|f| (f.message.clone(), f.location.clone(), f.platform.clone()))
            .collect();
        if findings.is_empty() {
            findings.push((check.summary.clone(), None, None));
        }
        for (message, location, platform) in findings {
            let mut result = json!({
                "ruleId": check.id,
                "level": level(check.severity, check.status),
                "kind": if check.status == Status::Review { "review" } else { "fail" },
                "message": { "text": message },
                "properties": { "status": check.status, "platform": platform },
            });
            if let Some(i) = index_of(&check.id) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(loc) = location {
                result["locations"] = json!([location_json(&loc)]);
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
            "properties": { "verdict": report.verdict, "policy": report.policy },
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("sarif serializes");
    s.push('\n');
    s
}

fn level(severity: Severity, status: Status) -> &'static str {
    match (status, severity) {
        (Status::Review, _) => "note",
        (Status::Error, _) => "error",
        (_, Severity::Blocking) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "note",
    }
}

/// `offer.json: defaults.x` becomes a physical location in offer.json plus a logical location
/// for the JSON path; image locations (layer digest + path) are logical only.
fn location_json(loc: &str) -> Value {
    match loc.split_once(": ") {
        Some((file, path)) if file.ends_with(".json") => json!({
            "physicalLocation": { "artifactLocation": { "uri": file } },
            "logicalLocations": [{ "fullyQualifiedName": path, "kind": "member" }],
        }),
        _ => json!({ "logicalLocations": [{ "fullyQualifiedName": loc, "kind": "resource" }] }),
    }
}
