//! # EC101 image-readable
//!
//! ## What it checks
//! The image can be read completely and safely: index, manifests and configs parse; media
//! types are OCI or Docker schema 2; every blob's digest and size match its descriptor; layers
//! (tar, tar+gzip, tar+zstd) decompress and their tar entries are well-formed. Hostile content
//! is a finding and is never followed: absolute entry names, names or hardlink targets that
//! climb out of the root with `..`, entries written through a symlink that climbs out, device
//! nodes, manifests over 4 MiB, index nesting deeper than 4 or cyclic, decompressed size over
//! the policy cap (8 GiB per layer) or a ratio over 1000:1.
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
use crate::report::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC101",
    name: "image-readable",
    title: "The image can be read completely and safely",
    area: Area::Module,
    severity: Severity::Blocking,
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
            let f = Finding::new(&p.message).at(&p.location).help(&hint);
            match &p.platform {
                Some(pl) => f.on(pl),
                None => f,
            }
        })
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
    } else {
        Outcome::fail(
            format!("{} problem(s) reading the image", findings.len()),
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::report::Status;

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
                .location
                .as_ref()
                .unwrap()
                .ends_with(": dev/mem"),
            "{o:?}"
        );
    }
}
