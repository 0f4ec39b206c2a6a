//! # EC603 exact-tag-immutable
//!
//! ## What it checks
//! An exact version tag (`X.Y.Z`) that is already published keeps its digest. The marketplace
//! evaluates it against its own registry; the CLI does with `--published docker://HOST/REPO`.
//! Without either it is skipped. Only a tag the published registry does not have (HTTP 404,
//! `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`) counts as new: when a tag cannot be looked up (401,
//! 5xx, timeout, DNS, connection refused) the run stops with exit 2 naming the cause, so this
//! check never passes on a tag it could not read.
//!
//! ## Why it matters
//! Customers pin exact versions they tested. Re-pushing `1.0.3` with different content changes
//! production devices behind their back.
//!
//! ## Example
//! `1.0.3 is published as sha256:aa…; this submission has sha256:bb…`.
//!
//! ## How to fix
//! Never re-use a version: bump the patch version (`1.0.4`) and move the rolling tags to it.

use super::rules::{TagKind, tag_kind};
use super::{Check, Context, Outcome};
use crate::facts::TagMap;
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC603",
    name: "exact-tag-immutable",
    title: "Published exact versions keep their digest",
    area: Area::Versioning,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec603_exact_tag_immutable.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let Some(TagMap::Known(published)) = cx.published else {
        return Outcome::skip(
            "no published registry to compare with (use --published docker://HOST/REPO)",
        );
    };
    let TagMap::Known(submitted) = &cx.image.tags else {
        return Outcome::error(
            "the image source cannot tell which digest each tag names",
            vec![Finding::new(
                "use an OCI layout or a registry as --image to compare exact tags",
            )],
        );
    };
    let hint = CHECK.fix_hint();
    let mut findings = Vec::new();
    let mut new = Vec::new();
    let mut same = Vec::new();
    for tag in cx
        .offer
        .tags()
        .iter()
        .filter(|t| matches!(tag_kind(t), TagKind::Exact(..)))
    {
        let Some(Some(old)) = published.get(tag) else {
            new.push(tag.as_str());
            continue;
        };
        match submitted.get(tag) {
            Some(Some(now)) if now == old => same.push(tag.as_str()),
            Some(Some(now)) => findings.push(
                Finding::new(format!(
                    "{tag} is published as {old}; this submission has {now}"
                ))
                .help(&hint),
            ),
            _ => findings.push(
                Finding::new(format!("{tag} is published but not in the image source")).help(&hint),
            ),
        }
    }
    if findings.is_empty() {
        Outcome::pass(format!(
            "new: [{}], unchanged: [{}]",
            new.join(", "),
            same.join(", ")
        ))
    } else {
        Outcome::fail("a published exact version would change", findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::digest::Digest;
    use crate::finding::Status;
    use crate::policy::Policy;

    fn with_published(published: &TagMap) -> Outcome {
        let f = facts_with_tags(&good_spec(), &["1.0.0", "1.0", "latest"]);
        let o = offer(&offer_json());
        let policy = Policy::default();
        (CHECK.run)(&Context {
            offer: &o,
            create_options: &crate::checks::create_options::load(&o),
            image: &f,
            policy: &policy,
            published: Some(published),
            runtime: None,
        })
    }

    #[test]
    fn skip_pass_fail() {
        let f = facts(&good_spec());
        assert_eq!(
            check_with(&CHECK, &offer(&offer_json()), &f).status,
            Status::Skip
        );
        let none = TagMap::Known([("1.0.0".to_string(), None)].into_iter().collect());
        assert_eq!(with_published(&none).status, Status::Pass);
        let f = facts_with_tags(&good_spec(), &["1.0.0"]);
        let TagMap::Known(m) = &f.tags else { panic!() };
        let same = TagMap::Known(m.clone());
        let o = with_published(&same);
        assert_eq!(
            (o.status, o.summary.as_str()),
            (Status::Pass, "new: [], unchanged: [1.0.0]")
        );
        let other = TagMap::Known(
            [("1.0.0".to_string(), Some(Digest::of(b"old")))]
                .into_iter()
                .collect(),
        );
        let o = with_published(&other);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.findings[0]
                .message
                .starts_with("1.0.0 is published as sha256:")
        );
    }
}
