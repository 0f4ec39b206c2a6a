//! # EC204 entrypoint-present
//!
//! ## What it checks
//! `Entrypoint`/`Cmd` is non-empty and resolves, in each platform's merged filesystem (layers
//! applied with their whiteouts), to an existing executable file — through `PATH`, symlinks,
//! and `#!` interpreters, which must exist too.
//!
//! ## Why it matters
//! The IoT Edge runtime starts the module with the image's own command and the offer's
//! createOptions; a command missing from one platform's image (a later layer deleted it, a
//! script's interpreter is not installed) only shows up on the customer's device.
//!
//! ## Example
//! `linux/arm/v7: python3 (searched PATH=/usr/local/bin:/usr/bin:/bin) does not exist`.
//!
//! ## How to fix
//! Set `ENTRYPOINT`/`CMD` in the Dockerfile to a binary that exists in every platform's
//! image, and install the interpreter of every script you start.

use super::entrypoint::resolve;
use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC204",
    name: "entrypoint-present",
    title: "Entrypoint/Cmd resolves to an executable in every platform",
    area: Area::Platform,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec204_entrypoint_present.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let hint = CHECK.fix_hint();
    let mut findings = Vec::new();
    let mut resolved = Vec::new();
    let mut incomplete = Vec::new();
    for p in &cx.image.platforms {
        match resolve(p) {
            Ok(r) => resolved.push(format!("{}: {}", p.platform, r.chain.join(" -> "))),
            Err(e) if !p.complete => {
                incomplete.push(
                    Finding::new(format!(
                        "could not resolve the entrypoint in an incompletely read image: {e}"
                    ))
                    .on(&p.platform),
                );
            }
            Err(e) => findings.push(Finding::new(e).on(&p.platform).help(&hint)),
        }
    }
    if !findings.is_empty() {
        Outcome::fail(
            "the entrypoint does not resolve on every platform",
            findings,
        )
        .with(incomplete)
    } else if !incomplete.is_empty() {
        Outcome::error(
            "some platforms' filesystems could not be read completely (see EC101)",
            incomplete,
        )
    } else {
        Outcome::pass(resolved.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};

    #[test]
    fn resolves_through_path_and_symlinks() {
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&good_spec()));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(
            o.summary
                .contains("linux/arm/v7: /bin/sleep -> /bin/busybox")
                || o.summary.contains("/bin/busybox"),
            "{}",
            o.summary
        );
    }

    #[test]
    fn deleted_entrypoint_and_missing_interpreter_fail() {
        let mut amd = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        amd.layers.push(Layer::new().whiteout("bin/busybox"));
        let mut arm = PlatformImage::busybox(Arch::Armhf, &["/app/run.py"]).unwrap();
        arm.layers.push(Layer::new().file(
            "app/run.py",
            b"#!/usr/bin/env python3\nprint(1)\n".to_vec(),
            0o755,
        ));
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts(&ImageSpec::new(vec![amd, arm])),
        );
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert_eq!(o.findings.len(), 2, "{o:?}");
        assert!(
            o.findings[0]
                .message
                .contains("/bin/busybox does not exist"),
            "{o:?}"
        );
        assert!(
            o.findings[1].message.contains("interpreter /usr/bin/env"),
            "{o:?}"
        );
    }

    #[test]
    fn empty_command_fails() {
        let p = PlatformImage::busybox(Arch::Amd64, &[]).unwrap();
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts(&ImageSpec::new(vec![p])),
        );
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings[0].message, "neither Entrypoint nor Cmd is set");
    }
}
