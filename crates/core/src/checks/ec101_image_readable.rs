//! # EC101 image-readable
//!
//! ## What it checks
//! The image can be read completely and safely: index, manifests and configs parse; media
//! types are OCI or Docker schema 2; every blob's digest and size match its descriptor; layers
//! (tar, tar+gzip, tar+zstd) decompress and their tar entries are well-formed. Hostile content
//! is a finding and is never followed: absolute entry names, names or hardlink targets that
//! climb out of the root with `..`, entries written through a symlink that climbs out, device
//! nodes, manifests over 4 MiB, index nesting deeper than 4 or cyclic, decompressed size over
//! the policy cap (8 GiB per layer) or a ratio over 1000:1. The standard character devices
//! (`/dev/null`, `zero`, `full`, `random`, `urandom`, `tty`, `console`, `ptmx` at their usual
//! numbers), which `docker import` of a debootstrap tree puts in a layer, are information: the
//! runtime mounts its own `/dev` over them.
//!
//! ## Why it matters
//! The marketplace serves the image to devices that extract it as root. A blob that does not
//! match its digest, or a layer that writes outside its root, must never reach them.
//!
//! ## Example
//! A layer containing `../../etc/cron.d/job`, or a layer blob truncated during upload:
//! `layer sha256:… : ../../etc/cron.d/job: entry name climbs out of the root with ..`.
//!
//! ## How to fix
//! Rebuild and push the image with standard tooling (`docker buildx build --push`); do not
//! hand-craft layers; remove device nodes and absolute paths from layer tars.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC101",
    name: "image-readable",
    title: "The image can be read completely and safely",
    area: Area::Module,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec101_image_readable.rs"),
    run,
};

fn run(cx: &Context<'_>) -> Outcome {
    let image = cx.image;
    let hint = CHECK.fix_hint();
    let mut findings: Vec<Finding> = image
        .problems
        .iter()
        .map(|p| {
            let f = Finding::new(&p.message).at(p.location.clone()).help(&hint);
            match &p.platform {
                Some(pl) => f.on(pl),
                None => f,
            }
        })
        .collect();
    let notes: Vec<Finding> = image
        .layers
        .values()
        .flat_map(|l| &l.notes)
        .map(|n| Finding::new(&n.message).at(n.location.clone()))
        .collect();
    if image.platforms.is_empty() && findings.is_empty() {
        findings.push(Finding::new("the image has no platform manifest").help(&hint));
    }
    if findings.is_empty() {
        let layers = image.layers.len();
        Outcome::pass(format!(
            "{} platform(s), {layers} distinct layer(s) read and verified",
            image.platforms.len()
        ))
        .with(notes)
    } else {
        Outcome::fail(
            format!("{} problem(s) reading the image", findings.len()),
            findings,
        )
        .with(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;

    #[test]
    fn good_image_passes() {
        let f = facts(&good_spec());
        let o = check_with(&CHECK, &offer(&offer_json()), &f);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(o.summary.starts_with("2 platform(s)"), "{}", o.summary);
    }

    #[test]
    fn device_node_fails() {
        use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};
        let mut p = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        p.layers.push(Layer::new().char_device("dev/mem", 1, 1));
        let f = facts(&ImageSpec::new(vec![p]));
        let o = check_with(&CHECK, &offer(&offer_json()), &f);
        assert_eq!(o.status, Status::Fail);
        assert!(o.findings[0].message.contains("device node"), "{o:?}");
        assert!(
            o.findings[0]
                .shown_location()
                .unwrap()
                .ends_with(": dev/mem"),
            "{o:?}"
        );
    }

    /// Issue 8 item 3: what `docker import` of a debootstrap tree produces is not hostile.
    #[test]
    fn standard_device_nodes_are_information() {
        use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};
        let mut p = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        let mut devices = Layer::new().dir("dev", 0o755);
        for (name, major, minor) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
            ("console", 5, 1),
            ("ptmx", 5, 2),
        ] {
            devices = devices.char_device(format!("dev/{name}"), major, minor);
        }
        p.layers.push(devices);
        let f = facts(&ImageSpec::new(vec![p.clone()]));
        let o = check_with(&CHECK, &offer(&offer_json()), &f);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.findings.len(), 8, "{o:?}");
        assert!(
            o.findings
                .iter()
                .all(|f| f.message.starts_with("standard device node"))
        );
        // The same name with another device's numbers is still hostile.
        p.layers.push(Layer::new().char_device("dev/null", 1, 1));
        let o = check_with(
            &CHECK,
            &offer(&offer_json()),
            &facts(&ImageSpec::new(vec![p])),
        );
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert!(
            o.findings[0]
                .message
                .contains("character device node in a layer")
        );
        assert!(
            o.findings[0]
                .shown_location()
                .unwrap()
                .ends_with(": dev/null")
        );
    }
}
