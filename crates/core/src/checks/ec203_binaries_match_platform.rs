//! # EC203 binaries-match-platform
//!
//! ## What it checks
//! The entrypoint binary of each platform (Entrypoint/Cmd resolved through `PATH`, symlinks and
//! `#!` interpreters in that platform's merged filesystem) is an ELF file of that platform:
//! x86-64 for `linux/amd64`; 32-bit little-endian ARM EABI5 for `linux/arm/v7` (soft-float is a
//! warning); AArch64 for `linux/arm64`. Every other ELF file of another architecture is a
//! warning listing the first few paths.
//!
//! ## Why it matters
//! A manifest labelled `arm/v7` that carries an x86-64 binary (a classic cross-build mistake)
//! passes every registry and fails with `exec format error` on the customer's device.
//!
//! ## Example
//! `linux/arm/v7: entrypoint /app/filter is ELF 64-bit LSB x86-64`.
//!
//! ## How to fix
//! Cross-compile for each target (or build under emulation with `docker buildx`) and copy the
//! binary of the right architecture into each platform's image.

use super::entrypoint::resolve;
use super::{Check, Context, Outcome};
use crate::analyze::FileFact;
use crate::analyze::header::{
    EF_ARM_ABI_FLOAT_HARD, EF_ARM_EABI_MASK, EM_AARCH64, EM_ARM, EM_X86_64, ElfInfo,
};
use crate::finding::{Area, Finding, Severity, Status};
use crate::location::Location;
use crate::platform::Platform;

pub const CHECK: Check = Check {
    id: "EC203",
    name: "binaries-match-platform",
    title: "The entrypoint binary is built for its platform",
    area: Area::Platform,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec203_binaries_match_platform.rs"),
    run,
};

/// How many foreign ELF paths a warning names.
const EXAMPLES: usize = 5;

/// Whether `elf` runs natively on `platform`: `Some(true/false)`, `None` for platforms we have
/// no rule for.
pub fn matches(platform: &Platform, elf: &ElfInfo) -> Option<bool> {
    if platform.os != "linux" {
        return None;
    }
    Some(
        match (platform.arch.as_str(), platform.variant.as_deref()) {
            ("amd64", _) => elf.class == 64 && elf.little_endian && elf.machine == EM_X86_64,
            ("arm", Some("v7")) => {
                elf.class == 32
                    && elf.little_endian
                    && elf.machine == EM_ARM
                    && elf.flags & EF_ARM_EABI_MASK == 0x0500_0000
            }
            ("arm64", _) => elf.class == 64 && elf.little_endian && elf.machine == EM_AARCH64,
            _ => return None,
        },
    )
}

fn run(cx: &Context<'_>) -> Outcome {
    if let Some(skip) = cx.unreadable_image() {
        return skip;
    }
    let hint = CHECK.fix_hint();
    let mut findings = Vec::new();
    let mut failed = false;
    let mut judged = 0;
    for p in &cx.image.platforms {
        let resolved = match resolve(p) {
            Ok(r) => r,
            Err(e) => {
                findings.push(
                    Finding::new(format!("entrypoint does not resolve ({e}); see EC204"))
                        .on(&p.platform),
                );
                continue;
            }
        };
        let binary = resolved.chain.last().cloned().unwrap_or_default();
        match matches(&p.platform, &resolved.elf) {
            None => findings.push(
                Finding::new(format!(
                    "no architecture rule for {}; not judged",
                    p.platform
                ))
                .on(&p.platform),
            ),
            Some(false) => {
                failed = true;
                judged += 1;
                findings.push(
                    Finding::new(format!(
                        "entrypoint {binary} is {}, not a {} binary",
                        resolved.elf.describe(),
                        p.platform
                    ))
                    .on(&p.platform)
                    .at(Location::ImagePath(binary.clone()))
                    .help(&hint),
                );
            }
            Some(true) => {
                judged += 1;
                if p.platform.arch == "arm" && resolved.elf.flags & EF_ARM_ABI_FLOAT_HARD == 0 {
                    findings.push(
                        Finding::new(format!("warning: entrypoint {binary} is soft-float; armhf devices run it, but slower"))
                            .on(&p.platform)
                            .at(Location::ImagePath(binary.clone())),
                    );
                }
            }
        }
        let foreign: Vec<&String> =
            p.fs.iter()
                .filter(|(_, n)| {
                    n.facts.iter().any(
                        |f| matches!(f, FileFact::Elf(e) if matches(&p.platform, e) == Some(false)),
                    )
                })
                .map(|(path, _)| path)
                .collect();
        if !foreign.is_empty() {
            let shown: Vec<String> = foreign
                .iter()
                .take(EXAMPLES)
                .map(|s| format!("/{s}"))
                .collect();
            findings.push(
                Finding::new(format!(
                    "warning: {} ELF file(s) of another architecture, e.g. {}",
                    foreign.len(),
                    shown.join(", ")
                ))
                .on(&p.platform),
            );
        }
    }
    let outcome = if failed {
        Outcome::fail(
            "an entrypoint binary does not match its platform",
            Vec::new(),
        )
    } else if judged == 0 {
        Outcome::skip("no entrypoint could be judged (see EC204)")
    } else {
        Outcome::pass(format!(
            "{judged} platform entrypoint(s) match their platform"
        ))
    };
    let status = outcome.status;
    let outcome = outcome.with(findings);
    debug_assert!(status != Status::Fail || !outcome.findings.is_empty());
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage, busybox};

    #[test]
    fn real_busybox_binaries_match() {
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&good_spec()));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.summary, "2 platform entrypoint(s) match their platform");
    }

    #[test]
    fn amd64_binary_in_arm_manifest_fails() {
        // arm/v7 manifest whose /app/filter is the amd64 busybox, started through a script.
        let mut arm = PlatformImage::busybox(Arch::Armhf, &["/app/run.sh"]).unwrap();
        arm.layers.push(
            Layer::new()
                .file("app/filter", busybox(Arch::Amd64).unwrap(), 0o755)
                .file(
                    "app/run.sh",
                    b"#!/app/filter sh\nexec sleep 1\n".to_vec(),
                    0o755,
                ),
        );
        let spec = ImageSpec::new(vec![
            PlatformImage::busybox(Arch::Amd64, &["sleep", "1"]).unwrap(),
            arm,
        ]);
        let o = check_with(&CHECK, &offer(&offer_json()), &facts(&spec));
        assert_eq!(o.status, Status::Fail, "{o:?}");
        let f = o
            .findings
            .iter()
            .find(|f| f.platform.as_deref() == Some("linux/arm/v7") && f.help.is_some())
            .unwrap();
        assert_eq!(
            f.message,
            "entrypoint /app/filter is ELF 64-bit LSB x86-64, not a linux/arm/v7 binary"
        );
        assert!(o.findings.iter().any(|f| {
            f.message
                .starts_with("warning: 1 ELF file(s) of another architecture, e.g. /app/filter")
        }));
    }
}
