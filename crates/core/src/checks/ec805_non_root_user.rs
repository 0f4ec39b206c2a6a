//! # EC805 non-root-user
//!
//! ## What it checks
//! The module's process does not run as root: the image config's `User` is set to something
//! other than empty, `0` or `root` (with or without a group), or createOptions sets a non-root
//! `User`, which overrides the image.
//!
//! ## Why it matters
//! Containers should have the least privileged access to the host possible; a process that
//! runs as root turns any container escape into root on the device.
//!
//! ## Example
//! No `USER` line in the Dockerfile: `linux/amd64: the image runs as root`.
//!
//! ## How to fix
//! Add `USER 1000` (or a named user created in the image) to the Dockerfile, or set `"User"` in
//! the default createOptions.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC805",
    name: "non-root-user",
    title: "The module does not run as root",
    area: Area::Security,
    severity: Severity::Warning,
    runtime: false,
    source: include_str!("ec805_non_root_user.rs"),
    run,
};

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name.is_empty() || name == "0" || name == "root"
}

fn run(cx: &Context<'_>) -> Outcome {
    // Parsed like the other createOptions checks: Docker matches `User` in any case.
    let create_user = super::create_options::parsed(cx)
        .and_then(|c| c.body.user.clone())
        .filter(|u| !u.is_empty());
    if let Some(user) = &create_user {
        return if is_root(user) {
            Outcome::fail(
                format!("createOptions sets User {user:?}, which is root"),
                vec![
                    Finding::new(format!("User {user:?} is root"))
                        .at(Location::offer("defaults.createOptions.User"))
                        .help(CHECK.fix_hint()),
                ],
            )
        } else {
            Outcome::pass(format!("createOptions runs the module as {user:?}"))
        };
    }
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let mut findings = Vec::new();
    let mut users = Vec::new();
    for p in &cx.image.platforms {
        let user = p
            .config
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        if is_root(&user) {
            findings.push(
                Finding::new(if user.is_empty() {
                    "the image sets no User: it runs as root".to_owned()
                } else {
                    format!("the image runs as {user:?}, which is root")
                })
                .on(&p.platform)
                .at(Location::Config(p.manifest_digest.to_string()))
                .help(CHECK.fix_hint()),
            );
        } else {
            users.push(format!("{}: {user}", p.platform));
        }
    }
    if findings.is_empty() {
        Outcome::pass(users.join(", "))
    } else {
        Outcome::fail("the module runs as root", findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, PlatformImage};

    #[test]
    fn image_user_and_create_options_user() {
        let root = facts(&good_spec());
        let o = check_with(&CHECK, &offer(&offer_json()), &root);
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 2));
        let mut p = PlatformImage::busybox(Arch::Amd64, &["sleep", "1"]).unwrap();
        p.config.user = Some("nobody".into());
        let nobody = facts(&ImageSpec::new(vec![p]));
        assert_eq!(
            check_with(&CHECK, &offer(&offer_json()), &nobody).status,
            Status::Pass
        );
        let mut v = offer_json();
        v["defaults"]["createOptions"] = serde_json::json!({"User": "1000:1000"});
        assert_eq!(check_with(&CHECK, &offer(&v), &root).status, Status::Pass);
        v["defaults"]["createOptions"] = serde_json::json!("{\"User\":\"root\"}");
        let o = check_with(&CHECK, &offer(&v), &nobody);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.findings[0].shown_location().as_deref(),
            Some("offer.json: defaults.createOptions.User")
        );
        // Docker (and edgeAgent) match keys in any case: a lower-case `user` is the same field.
        v["defaults"]["createOptions"] = serde_json::json!({"user": "0"});
        assert_eq!(check_with(&CHECK, &offer(&v), &nobody).status, Status::Fail);
    }
}
