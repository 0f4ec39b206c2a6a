//! The header analyzer: ELF identification and `#!` interpreter lines, from the first bytes of
//! a file. It is what entrypoint resolution and the platform checks (EC203/EC204) stand on.
//!
//! The ELF header is decoded by hand on purpose: we only ever see the first bytes of a stream
//! (a file inside a compressed layer), while ELF crates (`object`, `goblin`) want the whole file
//! in memory. Only the identification fields are read; nothing else of the file is trusted.

use super::{Analyzer, FileFact, FileMeta, FileScan};

/// Bytes wanted: the ELF header is 52/64 bytes; a `#!` line is at most 256 (Linux's limit).
const WANT: usize = 256;

pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const EM_386: u16 = 3;
/// ARM `e_flags`: EABI version in the top byte, hard-float ABI flag.
pub const EF_ARM_EABI_MASK: u32 = 0xff00_0000;
pub const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
pub const EF_ARM_ABI_FLOAT_SOFT: u32 = 0x200;

pub use crate::facts::file::ElfInfo;

impl ElfInfo {
    pub fn parse(b: &[u8]) -> Option<ElfInfo> {
        if b.len() < 52 || &b[..4] != b"\x7fELF" {
            return None;
        }
        let class = match b[4] {
            1 => 32,
            2 => 64,
            _ => return None,
        };
        let little_endian = match b[5] {
            1 => true,
            2 => false,
            _ => return None,
        };
        let u16_at = |o: usize| {
            let v = [b[o], b[o + 1]];
            if little_endian {
                u16::from_le_bytes(v)
            } else {
                u16::from_be_bytes(v)
            }
        };
        let u32_at = |o: usize| {
            let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
            if little_endian {
                u32::from_le_bytes(v)
            } else {
                u32::from_be_bytes(v)
            }
        };
        let flags_at = if class == 32 { 36 } else { 48 };
        if b.len() < flags_at + 4 {
            return None;
        }
        Some(ElfInfo {
            class,
            little_endian,
            file_type: u16_at(16),
            machine: u16_at(18),
            flags: u32_at(flags_at),
        })
    }

    /// `x86-64`, `ARM (EABI5, hard-float)`, `AArch64`, …
    pub fn describe(&self) -> String {
        let machine = match self.machine {
            EM_X86_64 => "x86-64".to_owned(),
            EM_AARCH64 => "AArch64".to_owned(),
            EM_386 => "Intel 80386".to_owned(),
            EM_ARM => {
                let eabi = (self.flags & EF_ARM_EABI_MASK) >> 24;
                let float = if self.flags & EF_ARM_ABI_FLOAT_HARD != 0 {
                    "hard-float"
                } else if self.flags & EF_ARM_ABI_FLOAT_SOFT != 0 {
                    "soft-float"
                } else {
                    "float ABI unspecified"
                };
                format!("ARM (EABI{eabi}, {float})")
            }
            other => format!("machine {other}"),
        };
        let endian = if self.little_endian { "LSB" } else { "MSB" };
        format!("ELF {}-bit {endian} {machine}", self.class)
    }
}

/// Parses a `#!` line: interpreter and its optional single argument (as Linux splits it).
pub fn parse_shebang(b: &[u8]) -> Option<(String, Option<String>)> {
    let rest = b.strip_prefix(b"#!")?;
    let line = rest.split(|&c| c == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let line = line.trim_matches([' ', '\t', '\r']);
    if line.is_empty() {
        return None;
    }
    match line.split_once([' ', '\t']) {
        Some((interp, arg)) => {
            let arg = arg.trim();
            Some((interp.to_owned(), (!arg.is_empty()).then(|| arg.to_owned())))
        }
        None => Some((line.to_owned(), None)),
    }
}

pub struct HeaderAnalyzer;

impl Analyzer for HeaderAnalyzer {
    fn name(&self) -> &'static str {
        "header"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        (file.size >= 4).then(|| {
            Box::new(HeaderScan {
                buf: Vec::with_capacity(WANT),
            }) as _
        })
    }
}

struct HeaderScan {
    buf: Vec<u8>,
}

impl FileScan for HeaderScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        let take = (WANT - self.buf.len()).min(chunk.len());
        self.buf.extend_from_slice(&chunk[..take]);
        // Stop as soon as the first bytes say this is neither ELF nor a script.
        let undecided =
            self.buf.len() < 4 || self.buf.starts_with(b"\x7fELF") || self.buf.starts_with(b"#!");
        self.buf.len() < WANT && undecided
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        if let Some(elf) = ElfInfo::parse(&self.buf) {
            return vec![FileFact::Elf(elf)];
        }
        match parse_shebang(&self.buf) {
            Some((interpreter, arg)) => vec![FileFact::Script { interpreter, arg }],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\necho"),
            Some(("/bin/sh".into(), None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 \n"),
            Some(("/usr/bin/env".into(), Some("python3".into())))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"echo"), None);
    }

    #[test]
    fn elf_header_fields() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 1;
        h[5] = 1;
        h[16] = 2;
        h[18] = EM_ARM as u8;
        h[36..40].copy_from_slice(&0x0500_0400u32.to_le_bytes());
        let e = ElfInfo::parse(&h).unwrap();
        assert_eq!((e.class, e.machine, e.file_type), (32, EM_ARM, 2));
        assert_eq!(e.describe(), "ELF 32-bit LSB ARM (EABI5, hard-float)");
        assert!(ElfInfo::parse(&h[..20]).is_none());
    }
}
