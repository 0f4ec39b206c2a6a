//! # EC102 default-tag
//!
//! ## What it checks
//! `image.defaultTag` is present, non-empty, a valid tag
//! (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) and one of `image.tags`.
//!
//! ## Why it matters
//! The criteria require a default tag that "can't be empty": it is what a customer's
//! deployment pulls when they add the module from the marketplace.
//!
//! ## Example
//! `"defaultTag": ""`, or `"defaultTag": "1.1"` with `"tags": ["1.0.3", "1.0"]`.
//!
//! ## How to fix
//! Set `image.defaultTag` to one of the tags you submit, usually the rolling `X.Y` tag.

use super::rules::is_tag;
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC102",
    name: "default-tag",
    title: "A non-empty default tag that is one of the submitted tags",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec102_default_tag.rs"),
    run,
};

const AT: &str = "image.defaultTag";

fn run(cx: &Context<'_>) -> Outcome {
    let hint = CHECK.fix_hint();
    let fail = |m: String| {
        Outcome::fail(
            m.clone(),
            vec![Finding::new(m).at(Location::offer(AT)).help(&hint)],
        )
    };
    let Some(tag) = cx.offer.default_tag() else {
        return fail("image.defaultTag is missing".into());
    };
    if tag.is_empty() {
        return fail("image.defaultTag is empty".into());
    }
    if !is_tag(tag) {
        return fail(format!(
            "{tag:?} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})"
        ));
    }
    if !cx.offer.tags().iter().any(|t| t == tag) {
        return fail(format!("default tag {tag:?} is not one of image.tags"));
    }
    Outcome::pass(format!("default tag {tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run_offer;
    use crate::finding::Status;

    #[test]
    fn pass_and_fail() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let o = run_offer(&CHECK, |v| v["image"]["defaultTag"] = "".into());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: image.defaultTag")
        );
        let o = run_offer(&CHECK, |v| v["image"]["defaultTag"] = "9.9".into());
        assert!(o.summary.contains("not one of image.tags"), "{o:?}");
        let o = run_offer(&CHECK, |v| v["image"]["defaultTag"] = "a b".into());
        assert!(o.summary.contains("not a valid tag"), "{o:?}");
        let o = run_offer(&CHECK, |v| {
            v["image"].as_object_mut().unwrap().remove("defaultTag");
        });
        assert!(o.summary.contains("missing"), "{o:?}");
    }
}
