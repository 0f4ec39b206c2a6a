//! # EC602 rolling-tags-consistent
//!
//! ## What it checks
//! Each rolling tag submitted resolves to the same digest as the highest exact version it
//! covers in this submission: `1.0` and `1` name what `1.0.3` names when 1.0.3 is the highest
//! 1.0.x; `latest` names the highest version overall. Tag digests come from the image source
//! (OCI layout ref names, registry tags, docker archive RepoTags).
//!
//! ## Why it matters
//! Customers on a rolling tag auto-update to it; if `1.0` points somewhere other than the
//! newest 1.0.x, they get an untested or stale image.
//!
//! ## Example
//! `1.0 names sha256:aa…, but 1.0.3 (the highest 1.0.x) names sha256:bb…`.
//!
//! ## How to fix
//! Push the rolling tags from the same build as the exact version
//! (`docker buildx build -t repo:1.0.3 -t repo:1.0 -t repo:1 -t repo:latest --push`), and
//! submit every tag you list.

use super::rules::{TagKind, tag_kind};
use super::{Check, Context, Outcome};
use crate::facts::TagMap;
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC602",
    name: "rolling-tags-consistent",
    title: "Rolling tags name the highest exact version they cover",
    area: Area::Versioning,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec602_rolling_tags_consistent.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let tags = cx.offer.tags();
    let exact: Vec<((u64, u64, u64), &String)> = tags
        .iter()
        .filter_map(|t| match tag_kind(t) {
            TagKind::Exact(a, b, c) => Some(((a, b, c), t)),
            _ => None,
        })
        .collect();
    let rolling: Vec<(&String, TagKind)> = tags
        .iter()
        .map(|t| (t, tag_kind(t)))
        .filter(|(_, k)| matches!(k, TagKind::Rolling(_) | TagKind::Latest))
        .collect();
    if rolling.is_empty() {
        return Outcome::skip("no rolling tags submitted");
    }
    let hint = CHECK.fix_hint();
    let mut fails = Vec::new();
    let mut errors = Vec::new();
    let mut ok = Vec::new();
    for (tag, kind) in rolling {
        let covered = exact
            .iter()
            .filter(|((a, b, _), _)| match &kind {
                TagKind::Rolling(p) if p.len() == 1 => *a == p[0],
                TagKind::Rolling(p) => *a == p[0] && *b == p[1],
                _ => true,
            })
            .max_by_key(|(v, _)| *v);
        let Some((_, target)) = covered else {
            fails.push(
                Finding::new(format!(
                    "rolling tag {tag} covers no exact version in this submission"
                ))
                .at(Location::offer("image.tags"))
                .help(&hint),
            );
            continue;
        };
        let TagMap::Known(map) = &cx.image.tags else {
            errors.push(Finding::new("the image source cannot tell which digest each tag names (use an OCI layout or a registry)"));
            break;
        };
        let (Some(Some(rd)), Some(Some(td))) = (map.get(tag.as_str()), map.get(target.as_str()))
        else {
            let missing = if map.get(tag.as_str()).cloned().flatten().is_none() {
                tag
            } else {
                target
            };
            errors.push(
                Finding::new(format!(
                    "tag {missing} is not in the image source; submit every tag you list"
                ))
                .help(&hint),
            );
            continue;
        };
        if rd == td {
            ok.push(format!("{tag} -> {target}"));
        } else {
            fails.push(
                Finding::new(format!(
                    "{tag} names {rd}, but {target} (the highest it covers) names {td}"
                ))
                .help(&hint),
            );
        }
    }
    if !fails.is_empty() {
        Outcome::fail(
            "a rolling tag does not name its highest exact version",
            fails,
        )
        .with(errors)
    } else if !errors.is_empty() {
        Outcome::error("rolling tags could not all be resolved", errors)
    } else {
        Outcome::pass(ok.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};
    use serde_json::json;

    #[test]
    fn pass_when_all_tags_name_one_image() {
        let mut spec = good_spec();
        spec.tags = vec!["1.0.0".into(), "1.0".into(), "latest".into()];
        let f = facts_with_tags(&spec, &["1.0.0", "1.0", "latest"]);
        let o = check_with(&CHECK, &offer(&offer_json()), &f);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "1.0 -> 1.0.0, latest -> 1.0.0");
    }

    #[test]
    fn fail_when_rolling_tag_names_another_image() {
        // Two layouts' worth of tags: 1.0.0 names image A, 1.0 names image B.
        let dir = tempfile::tempdir().unwrap();
        let mut a = ImageSpec::new(vec![
            PlatformImage::busybox(Arch::Amd64, &["sleep", "1"]).unwrap(),
        ]);
        a.tags = vec!["1.0.0".into()];
        let wa = edgecert_fixtures::write_oci_layout(dir.path(), &a).unwrap();
        let mut f = facts(&a);
        let b_digest = crate::digest::Digest::of(b"another image");
        f.tags = TagMap::Known(
            [
                ("1.0.0".to_string(), Some(wa.top_digest.parse().unwrap())),
                ("1.0".to_string(), Some(b_digest)),
            ]
            .into_iter()
            .collect(),
        );
        let mut v = offer_json();
        v["image"]["tags"] = json!(["1.0.0", "1.0"]);
        let o = check_with(&CHECK, &offer(&v), &f);
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert!(
            o.findings[0].message.starts_with("1.0 names sha256:"),
            "{o:?}"
        );
    }

    #[test]
    fn missing_tags_are_errors_and_uncovered_rolling_tags_fail() {
        let f = facts_with_tags(&good_spec(), &["1.0.0", "1.0", "latest"]);
        let mut v = offer_json();
        v["image"]["tags"] = json!(["1.0.0", "1.0"]);
        let mut spec = good_spec();
        spec.tags = vec!["1.0.0".into()];
        let only_exact = facts_with_tags(&spec, &["1.0.0", "1.0"]);
        let o = check_with(&CHECK, &offer(&v), &only_exact);
        assert_eq!(o.status, Status::Error, "{o:?}");
        assert!(
            o.findings[0]
                .message
                .contains("tag 1.0 is not in the image source")
        );
        v["image"]["tags"] = json!(["1.0.0", "2"]);
        assert_eq!(check_with(&CHECK, &offer(&v), &f).status, Status::Fail);
    }
}
