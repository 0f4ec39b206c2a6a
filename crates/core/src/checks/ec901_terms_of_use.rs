//! # EC901 terms-of-use
//!
//! ## What it checks
//! `legal.termsOfUseUrl` is an https URL.
//!
//! ## Why it matters
//! The marketplace policy requires every module to have terms of use that customers can read
//! before they deploy it.
//!
//! ## Example
//! `"termsOfUseUrl": "http://contoso.example/terms"` (not https) or no `legal` section.
//!
//! ## How to fix
//! Publish your terms of use on an https page and set `legal.termsOfUseUrl` to it.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Severity};

pub const CHECK: Check = Check {
    id: "EC901",
    name: "terms-of-use",
    title: "Terms of use at an https URL",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec901_terms_of_use.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let url = cx
        .offer
        .legal
        .as_ref()
        .and_then(|l| l.terms_of_use_url.as_deref());
    super::legal::https_field(url, "legal.termsOfUseUrl", "terms of use", &CHECK)
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
            v["legal"]["termsOfUseUrl"] = "http://x.example/t".into()
        });
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: legal.termsOfUseUrl")
        );
        let o = run_offer(&CHECK, |v| {
            v.as_object_mut().unwrap().remove("legal");
        });
        assert!(o.summary.contains("missing"), "{o:?}");
    }
}
