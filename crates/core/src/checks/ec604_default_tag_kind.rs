//! # EC604 default-tag-kind
//!
//! ## What it checks
//! Says whether the default tag is rolling (deployments will auto-update) or exact (pinned).
//!
//! ## Why it matters
//! A rolling default tag means every customer who deploys with the defaults gets your updates
//! automatically; an exact one means nobody does. Either can be right; make it a choice.
//!
//! ## Example
//! `"defaultTag": "1.0"`: rolling; customers on the default follow every 1.0.x release.
//!
//! ## How to fix
//! Nothing to fix: pick the default tag kind deliberately and say so in the documentation.

use super::rules::{TagKind, tag_kind};
use super::{Check, Context, Outcome};
use crate::finding::{Area, Severity};

pub const CHECK: Check = Check {
    id: "EC604",
    name: "default-tag-kind",
    title: "Whether the default tag is rolling or exact",
    area: Area::Versioning,
    severity: Severity::Info,
    runtime: false,
    source: include_str!("ec604_default_tag_kind.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let Some(tag) = cx.offer.default_tag().filter(|t| !t.is_empty()) else {
        return Outcome::skip("no default tag (see EC102)");
    };
    match tag_kind(tag) {
        TagKind::Exact(..) | TagKind::PlatformExact(..) => Outcome::pass(format!(
            "default tag {tag} is exact: deployments stay pinned to it"
        )),
        TagKind::Rolling(_) | TagKind::Latest => Outcome::pass(format!(
            "default tag {tag} is rolling: deployments auto-update"
        )),
        TagKind::Other => Outcome::pass(format!(
            "default tag {tag} is neither rolling nor exact (see EC601)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn says_which_kind() {
        let o = run_offer(&CHECK, |_| {});
        assert!(o.summary.contains("rolling"), "{o:?}");
        let o = run_offer(&CHECK, |v| v["image"]["defaultTag"] = "1.0.0".into());
        assert!(o.summary.contains("exact"), "{o:?}");
        let o = run_offer(&CHECK, |v| v["image"]["defaultTag"] = "".into());
        assert_eq!(o.status, Status::Skip);
    }
}
