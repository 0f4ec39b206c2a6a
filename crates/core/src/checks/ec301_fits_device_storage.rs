//! # EC301 fits-device-storage
//!
//! ## What it checks
//! Each platform's uncompressed image size is at most `device.minStorageMiB` when the offer
//! declares it, else at most the device profile's storage budget (Raspberry Pi class: 1024 MiB).
//!
//! ## Why it matters
//! Any device with the dimensions of a Raspberry Pi can be an IoT Edge device; a module that
//! needs more storage must say so in its description so customers can size their devices.
//!
//! ## Example
//! `linux/arm/v7 is 1.6 GiB uncompressed; the budget is 1024 MiB`.
//!
//! ## How to fix
//! Shrink the image (multi-stage builds, slim or distroless bases, no build tools in the final
//! stage), or declare `device.minStorageMiB` in the offer.

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};

pub const CHECK: Check = Check {
    id: "EC301",
    name: "fits-device-storage",
    title: "Each platform's image fits the device storage budget",
    area: Area::Device,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec301_fits_device_storage.rs"),
    run,
};

const MIB: u64 = 1024 * 1024;

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let declared = cx.offer.device.as_ref().and_then(|d| d.min_storage_mib);
    let (budget, whose) = match declared {
        Some(mib) => (mib, "device.minStorageMiB"),
        None => (
            cx.policy.device.storage_mib,
            "the device profile's storage budget",
        ),
    };
    let mut findings = Vec::new();
    let mut sizes = Vec::new();
    for p in &cx.image.platforms {
        let bytes = p.uncompressed_bytes();
        sizes.push(format!(
            "{} {:.1} MiB",
            p.platform,
            bytes as f64 / MIB as f64
        ));
        if !p.complete {
            findings.push(
                Finding::new("size unknown: the image could not be read completely (see EC101)")
                    .on(&p.platform),
            );
        } else if bytes > budget * MIB {
            findings.push(
                Finding::new(format!(
                    "{:.1} MiB uncompressed exceeds {whose} of {budget} MiB",
                    bytes as f64 / MIB as f64
                ))
                .on(&p.platform)
                .help(CHECK.fix_hint()),
            );
        }
    }
    let summary = format!("{} (budget {budget} MiB)", sizes.join(", "));
    if findings.iter().any(|f| f.help.is_some()) {
        Outcome::fail(summary, findings)
    } else if !findings.is_empty() {
        Outcome::error(summary, findings)
    } else {
        Outcome::pass(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;

    #[test]
    fn pass_and_fail() {
        let f = facts(&good_spec());
        assert_eq!(
            check_with(&CHECK, &offer(&offer_json()), &f).status,
            Status::Pass
        );
        // busybox is about 2 MiB; declare 1 MiB to make it too big.
        let mut v = offer_json();
        v["device"] = serde_json::json!({ "minStorageMiB": 1 });
        let o = check_with(&CHECK, &offer(&v), &f);
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert_eq!(o.findings.len(), 2);
        assert!(
            o.findings[0]
                .message
                .contains("exceeds device.minStorageMiB of 1 MiB"),
            "{o:?}"
        );
    }
}
