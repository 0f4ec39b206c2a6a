//! Can the engine run a platform? Native platforms yes; others only through a qemu-user
//! handler registered with the kernel's `binfmt_misc` (field notes: `qemu-user-static` +
//! `update-binfmts --enable qemu-arm`). When the engine is local we read
//! `/proc/sys/fs/binfmt_misc` and match each enabled handler's magic and mask against the ELF
//! header an executable of that platform starts with, so any handler name works (Debian's
//! `qemu-arm`, tonistiigi/binfmt's, a hand-registered one).
//!
//! Deliberately not here: running anything. A remote engine cannot be inspected; then the run
//! itself tells (`exec format error`, see `platform.rs`).

use std::path::Path;

use edgecert_engine::Platform;

const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Native,
    /// Through this binfmt_misc handler (its name).
    Emulated(String),
    /// The engine cannot run it; why and what to install.
    Missing(String),
    /// Not known before running (remote engine, or an architecture we have no header for).
    Unknown,
}

/// Whether the engine (architecture `engine_arch`) can run executables of `platform`.
pub fn support(engine_arch: &str, platform: &Platform, local: bool) -> Support {
    if platform.arch == engine_arch
        // 64-bit ARM cores of the kind IoT Edge runs on execute 32-bit ARM code natively.
        || (engine_arch == "arm64" && platform.arch == "arm")
        || (engine_arch == "amd64" && platform.arch == "386")
    {
        return Support::Native;
    }
    let Some(header) = elf_header(&platform.arch) else {
        return Support::Unknown;
    };
    if !local {
        return Support::Unknown;
    }
    match handler_for(Path::new(BINFMT_DIR), &header) {
        Some((name, true)) => Support::Emulated(name),
        // Without the F (fix-binary) flag the kernel looks for the interpreter inside the
        // container: it works only for images that ship qemu themselves.
        Some((_, false)) => Support::Unknown,
        None => Support::Missing(format!(
            "the engine runs {engine_arch} and no binfmt_misc handler for {} executables is \
             registered on this host, so {platform} containers cannot run; install and enable \
             qemu-user emulation (Debian: apt-get install qemu-user-static binfmt-support; \
             update-binfmts --enable qemu-{}; scripts/setup.sh does it)",
            platform.arch,
            qemu_name(&platform.arch)
        )),
    }
}

fn qemu_name(arch: &str) -> &str {
    match arch {
        "arm64" => "aarch64",
        "amd64" => "x86_64",
        "386" => "i386",
        "ppc64le" => "ppc64le",
        a => a,
    }
}

/// The first 20 bytes of an executable for `arch`: ELF magic, class, data, version, then
/// `e_type` = EXEC and `e_machine` (all the little-endian ones IoT Edge meets).
fn elf_header(arch: &str) -> Option<[u8; 20]> {
    let (class, machine): (u8, u16) = match arch {
        "amd64" => (2, 0x3e),
        "386" => (1, 0x03),
        "arm" => (1, 0x28),
        "arm64" => (2, 0xb7),
        "ppc64le" => (2, 0x15),
        "riscv64" => (2, 0xf3),
        _ => return None,
    };
    let mut h = [0u8; 20];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = class;
    h[5] = 1; // little-endian
    h[6] = 1; // EV_CURRENT
    h[16] = 2; // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    Some(h)
}

/// The name of an enabled handler whose magic matches `header`, if any, and whether it has the
/// F (fix-binary) flag.
fn handler_for(dir: &Path, header: &[u8]) -> Option<(String, bool)> {
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    if status.trim() != "enabled" {
        return None;
    }
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "status" && n != "register")
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let text = std::fs::read_to_string(dir.join(&name)).ok()?;
        let fix_binary = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("flags:"))
            .is_some_and(|f| f.contains('F'));
        matches(&text, header).then_some((name, fix_binary))
    })
}

/// Whether a handler (`/proc/sys/fs/binfmt_misc/<name>` text) is enabled and its magic, under
/// its mask and at its offset, matches `header`.
fn matches(text: &str, header: &[u8]) -> bool {
    let mut enabled = false;
    let mut offset = 0usize;
    let mut magic = None;
    let mut mask = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "enabled" {
            enabled = true;
        } else if let Some(v) = line.strip_prefix("offset ") {
            offset = v.trim().parse().unwrap_or(usize::MAX);
        } else if let Some(v) = line.strip_prefix("magic ") {
            magic = unhex(v.trim());
        } else if let Some(v) = line.strip_prefix("mask ") {
            mask = unhex(v.trim());
        }
    }
    let Some(magic) = magic else {
        // An extension handler (`E` type), not a magic one.
        return false;
    };
    let mask = mask.unwrap_or_else(|| vec![0xff; magic.len()]);
    enabled
        && offset
            .checked_add(magic.len())
            .is_some_and(|end| end <= header.len())
        && magic
            .iter()
            .zip(mask.iter().chain(std::iter::repeat(&0xff)))
            .enumerate()
            .all(|(i, (m, k))| header[offset + i] & k == m & k)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Debian's qemu-user-static registration, as /proc shows it.
    const QEMU_ARM: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n\
        flags: PF\noffset 0\nmagic 7f454c4601010100000000000000000002002800\n\
        mask ffffffffffffff00fffffffffffffffffeffffff\n";

    #[test]
    fn debian_qemu_arm_matches_arm_only() {
        assert!(matches(QEMU_ARM, &elf_header("arm").unwrap()));
        assert!(!matches(QEMU_ARM, &elf_header("arm64").unwrap()));
        assert!(!matches(QEMU_ARM, &elf_header("amd64").unwrap()));
        let disabled = QEMU_ARM.replacen("enabled", "disabled", 1);
        assert!(!matches(&disabled, &elf_header("arm").unwrap()));
    }

    #[test]
    fn handlers_are_found_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("status"), "enabled\n").unwrap();
        std::fs::write(dir.path().join("register"), "").unwrap();
        std::fs::write(dir.path().join("my-arm"), QEMU_ARM).unwrap();
        let arm = elf_header("arm").unwrap();
        assert_eq!(
            handler_for(dir.path(), &arm),
            Some(("my-arm".to_owned(), true))
        );
        let no_fix = QEMU_ARM.replace("flags: PF", "flags: P");
        std::fs::write(dir.path().join("my-arm"), no_fix).unwrap();
        assert_eq!(
            handler_for(dir.path(), &arm),
            Some(("my-arm".to_owned(), false))
        );
        assert_eq!(handler_for(dir.path(), &elf_header("arm64").unwrap()), None);
        std::fs::write(dir.path().join("status"), "disabled\n").unwrap();
        assert_eq!(handler_for(dir.path(), &arm), None);
    }

    #[test]
    fn native_and_unknown() {
        let arm = Platform::new("linux", "arm", Some("v7"));
        assert_eq!(support("arm64", &arm, true), Support::Native);
        let amd = Platform::new("linux", "amd64", None);
        assert_eq!(support("amd64", &amd, false), Support::Native);
        assert_eq!(support("amd64", &arm, false), Support::Unknown);
        let odd = Platform::new("linux", "mips64le", None);
        assert_eq!(support("amd64", &odd, true), Support::Unknown);
    }
}
