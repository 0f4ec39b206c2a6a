//! # EC902 privacy-policy
//!
//! ## What it checks
//! `legal.privacyPolicyUrl` is an https URL.
//!
//! ## Why it matters
//! The marketplace policy requires a privacy policy: modules run next to customers' data.
//!
//! ## Example
//! `"privacyPolicyUrl": "contoso.example/privacy"` (no scheme).
//!
//! ## How to fix
//! Publish your privacy policy on an https page and set `legal.privacyPolicyUrl` to it.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Severity};

pub const CHECK: Check = Check {
    id: "EC902",
    name: "privacy-policy",
    title: "Privacy policy at an https URL",
    area: Area::Legal,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec902_privacy_policy.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let url = cx
        .offer
        .legal
        .as_ref()
        .and_then(|l| l.privacy_policy_url.as_deref());
    super::legal::https_field(url, "legal.privacyPolicyUrl", "privacy policy", &CHECK)
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
            v["legal"]["privacyPolicyUrl"] = "contoso.example/privacy".into()
        });
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("not an absolute https URL"));
    }
}
