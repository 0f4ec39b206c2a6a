//! # EC601 version-tags
//!
//! ## What it checks
//! `image.tags` has at least one exact version `X.Y.Z` (non-negative integers without leading
//! zeros). Every other tag is a rolling `X` or `X.Y`, `latest`, or a platform-suffixed
//! `X.Y.Z-<suffix>`. Anything else fails.
//!
//! ## Why it matters
//! Customers choose between auto-update (rolling tags such as `1.0`) and an exact version they
//! tested (`1.0.3`), the same versioning pattern as the IoT Edge runtime itself.
//!
//! ## Example
//! `"tags": ["stable", "v1"]`: no exact version, and two tags of no known kind.
//!
//! ## How to fix
//! Tag every release with its exact version `X.Y.Z` and move the rolling tags `X.Y`, `X` and
//! `latest` to it.

use super::rules::{TagKind, tag_kind};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC601",
    name: "version-tags",
    title: "Tags follow the IoT Edge versioning pattern",
    area: Area::Versioning,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec601_version_tags.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let hint = CHECK.fix_hint();
    let tags = cx.offer.tags();
    let mut findings = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if tag_kind(t) == TagKind::Other {
            findings.push(
                Finding::new(format!(
                    "tag {t:?} is neither X.Y.Z, X.Y, X, latest nor X.Y.Z-<suffix>"
                ))
                .at(Location::offer(format!("image.tags[{i}]")))
                .help(&hint),
            );
        }
    }
    let exact: Vec<&String> = tags
        .iter()
        .filter(|t| matches!(tag_kind(t), TagKind::Exact(..)))
        .collect();
    if exact.is_empty() {
        findings.push(
            Finding::new("no exact version tag X.Y.Z in image.tags")
                .at(Location::offer("image.tags"))
                .help(&hint),
        );
    }
    if findings.is_empty() {
        Outcome::pass(format!(
            "exact version(s): {}",
            exact
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        Outcome::fail(format!("{} tag problem(s)", findings.len()), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn pass_and_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = run_offer(&CHECK, |v| {
            v["image"]["tags"] = serde_json::json!(["stable", "1.0"])
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), 2);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: image.tags[0]")
        );
        let o = run_offer(&CHECK, |v| {
            v["image"]["tags"] = serde_json::json!(["1.0.3", "1.0.3-arm32v7", "1"])
        });
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }
}
