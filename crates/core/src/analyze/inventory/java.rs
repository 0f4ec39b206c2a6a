//! Java archives: the components a jar declares, read with the `zip` crate from a bounded copy
//! of the jar made while it streams by.
//!
//! A zip is read from its end (the central directory) and then at each member's offset, so a
//! jar up to 9 MiB is kept whole; a bigger one keeps its first 1 MiB (where `jar` and Maven put
//! `META-INF/MANIFEST.MF`) and its last 8 MiB (the central directory, and Maven's
//! `META-INF/maven/` entries, written last). Members in the gap read as errors and are skipped.
//!
//! Every `META-INF/maven/<g>/<a>/pom.properties` is a component (shaded jars carry several);
//! without one, the manifest's main section names it (`Bundle-SymbolicName` or
//! `Implementation-Title`, else the file name; `Implementation-Version` or `Bundle-Version`;
//! `Implementation-Vendor-Id` as the group when it looks like one).
//!
//! Jars inside jars (Spring Boot's `BOOT-INF/lib/`, a war's `WEB-INF/lib/`, `lib/`) are opened
//! one level deep when their bytes were kept (at most 8 MiB each, 64 MiB per jar in all, read
//! through `take`, so a deflate bomb costs at most that); a nested jar that was not kept (in the
//! gap of a big jar) or declares nothing is named by its file name (`jackson-databind-2.15.2.jar`
//! → `jackson-databind` 2.15.2). Their components carry `outer!/inner` member paths.

use std::io::{self, Read, Seek, SeekFrom};

use super::{Component, Ecosystem, FileFact, FileScan, clean, facts, text};

const HEAD: u64 = 1 << 20;
const TAIL: u64 = 8 << 20;
/// Bytes read from one member at most.
const MAX_MEMBER: u64 = 1 << 20;
/// Members read per jar at most.
const MAX_MEMBERS: usize = 256;
/// A nested jar is read whole only up to this size…
const MAX_NESTED: u64 = 8 << 20;
/// …and all nested jars of one jar together up to this.
const NESTED_BUDGET: u64 = 64 << 20;
/// Nested jars looked at per jar at most.
const MAX_NESTED_JARS: usize = 1024;

pub(super) struct JarScan {
    /// File name without `.jar`, the last resort for a name.
    stem: String,
    size: u64,
    pos: u64,
    head_len: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
    tail_start: u64,
}

impl JarScan {
    pub fn new(path: &str, size: u64) -> JarScan {
        let base = path.rsplit('/').next().unwrap_or(path);
        let whole = size <= HEAD + TAIL;
        let head_len = if whole { size } else { HEAD };
        let tail_start = if whole { size } else { size - TAIL };
        JarScan {
            stem: base.strip_suffix(".jar").unwrap_or(base).to_owned(),
            size,
            pos: 0,
            head_len,
            head: Vec::with_capacity(head_len as usize),
            tail: Vec::with_capacity((size - tail_start) as usize),
            tail_start,
        }
    }
}

impl FileScan for JarScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        let start = self.pos;
        let end = start + chunk.len() as u64;
        if start < self.head_len {
            let n = (self.head_len.min(end) - start) as usize;
            self.head.extend_from_slice(&chunk[..n]);
        }
        if end > self.tail_start {
            let from = self.tail_start.saturating_sub(start) as usize;
            let room = (self.size - self.tail_start) as usize - self.tail.len();
            let part = &chunk[from..];
            self.tail.extend_from_slice(&part[..part.len().min(room)]);
        }
        self.pos = end;
        self.pos < self.size
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        let stem = self.stem.clone();
        let reader = Sparse {
            size: self.size,
            head: self.head,
            tail: self.tail,
            tail_start: self.tail_start,
            pos: 0,
        };
        facts(read_jar(reader, &stem, true))
    }
}

/// A jar with a gap: reads inside the gap fail.
pub(super) struct Sparse {
    size: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
    tail_start: u64,
    pos: u64,
}

impl Sparse {
    /// A jar held whole (a nested one).
    fn whole(bytes: Vec<u8>) -> Sparse {
        let size = bytes.len() as u64;
        Sparse {
            size,
            head: bytes,
            tail: Vec::new(),
            tail_start: size,
            pos: 0,
        }
    }
}

impl Read for Sparse {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (part, offset) = if self.pos < self.head.len() as u64 {
            (&self.head, self.pos)
        } else if self.pos >= self.tail_start {
            (&self.tail, self.pos - self.tail_start)
        } else {
            return Err(io::Error::other("this part of the jar was not kept"));
        };
        let rest = part.get(offset as usize..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Sparse {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

fn read_member(archive: &mut zip::ZipArchive<Sparse>, index: usize) -> Option<Vec<u8>> {
    let member = archive.by_index(index).ok()?;
    let mut out = Vec::new();
    member.take(MAX_MEMBER).read_to_end(&mut out).ok()?;
    Some(out)
}

/// A nested jar whole, if it was kept, is small enough and fits the budget left.
fn read_nested(
    archive: &mut zip::ZipArchive<Sparse>,
    index: usize,
    budget: &mut u64,
) -> Option<Vec<u8>> {
    let member = archive.by_index(index).ok()?;
    let size = member.size();
    if size > MAX_NESTED || size > *budget {
        return None;
    }
    *budget -= size;
    let mut out = Vec::with_capacity(size as usize);
    member.take(size).read_to_end(&mut out).ok()?;
    Some(out)
}

/// `jackson-databind-2.15.2` → (`jackson-databind`, `2.15.2`): the version starts at the first
/// `-` followed by a digit.
fn name_and_version(stem: &str) -> (&str, Option<&str>) {
    let split = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()));
    match split {
        Some((i, _)) if i > 0 => (&stem[..i], Some(&stem[i + 1..])),
        _ => (stem, None),
    }
}

/// The components of the nested jar `path` (member `index` of the outer jar).
fn nested_jar(
    archive: &mut zip::ZipArchive<Sparse>,
    index: usize,
    path: &str,
    budget: &mut u64,
) -> Vec<Component> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.get(..base.len() - 4).unwrap_or(base);
    let mut found = read_nested(archive, index, budget)
        .map(|bytes| read_jar(Sparse::whole(bytes), stem, false))
        .unwrap_or_default();
    for c in &mut found {
        c.member = Some(match c.member.take() {
            Some(inner) => format!("{path}!/{inner}"),
            None => path.to_owned(),
        });
    }
    if found.is_empty() {
        let (name, version) = name_and_version(stem);
        found.extend(
            Component::new(Ecosystem::Maven, name, version).map(|mut c| {
                c.member = Some(path.to_owned());
                c
            }),
        );
    }
    found
}

fn read_jar(reader: Sparse, stem: &str, open_nested: bool) -> Vec<Component> {
    let Ok(mut archive) = zip::ZipArchive::new(reader) else {
        return Vec::new();
    };
    let mut poms = Vec::new();
    let mut nested = Vec::new();
    let mut manifest = None;
    for i in 0..archive.len() {
        let Some(Ok(name)) = archive.name_for_index(i) else {
            continue;
        };
        let name = name.into_owned();
        if name == "META-INF/MANIFEST.MF" {
            manifest = Some(i);
        } else if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            poms.push((i, name));
        } else if open_nested && name.len() > 4 && name.to_ascii_lowercase().ends_with(".jar") {
            nested.push((i, name));
        }
    }
    let mut out: Vec<Component> = poms
        .into_iter()
        .take(MAX_MEMBERS)
        .filter_map(|(i, name)| text::pom_properties(&read_member(&mut archive, i)?, &name))
        .collect();
    if out.is_empty() {
        let main = manifest
            .and_then(|i| read_member(&mut archive, i))
            .map(|m| manifest_main(&String::from_utf8_lossy(&m)))
            .unwrap_or_default();
        out.extend(from_manifest(&main, stem));
    }
    let mut budget = NESTED_BUDGET;
    for (i, path) in nested.into_iter().take(MAX_NESTED_JARS) {
        out.extend(nested_jar(&mut archive, i, &path, &mut budget));
    }
    out.sort();
    out.dedup();
    out
}

/// The main section of a manifest: `Name: value` lines up to the first blank line, with the
/// 72-byte line folding undone (a continuation line starts with one space).
fn manifest_main(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, v)) = fields.last_mut() {
                v.push_str(more);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    fields
}

fn from_manifest(main: &[(String, String)], stem: &str) -> Option<Component> {
    let get = |k: &str| {
        main.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let version = get("Implementation-Version").or(get("Bundle-Version"));
    // `Bundle-SymbolicName: org.foo.bar;singleton:=true`
    let symbolic = get("Bundle-SymbolicName").and_then(|s| s.split(';').next());
    let title = get("Implementation-Title").filter(|t| !t.contains(char::is_whitespace));
    let (fallback, version) = match version {
        Some(v) => (stem.strip_suffix(&format!("-{v}")).unwrap_or(stem), Some(v)),
        // Without a declared version, the file name's (`lib-2.1.jar`), if it has one.
        None => name_and_version(stem),
    };
    let name = symbolic.or(title).unwrap_or(fallback);
    let mut c = Component::new(Ecosystem::Maven, name, version)?;
    c.group = get("Implementation-Vendor-Id")
        .filter(|g| g.contains('.') && !g.contains(char::is_whitespace))
        .and_then(clean);
    c.member = (!main.is_empty()).then(|| "META-INF/MANIFEST.MF".into());
    Some(c)
}

#[cfg(test)]
mod tests {

    use super::*;

    pub use edgecert_fixtures::zip_archive as jar;

    fn scan(path: &str, bytes: &[u8]) -> Vec<Component> {
        let mut s = Box::new(JarScan::new(path, bytes.len() as u64));
        for c in bytes.chunks(100_000) {
            s.update(c);
        }
        s.finish()
            .into_iter()
            .filter_map(|f| match f {
                FileFact::Component(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn manifest_folding_and_fallbacks() {
        let m = manifest_main(
            "Manifest-Version: 1.0\nBundle-SymbolicName: org.examp\n le.lib;singleton:=true\nBundle-Version: 2.1\n\nName: x\n",
        );
        let c = from_manifest(&m, "lib-2.1").unwrap();
        assert_eq!(
            (c.name.as_str(), c.version.as_deref()),
            ("org.example.lib", Some("2.1"))
        );
        let c = from_manifest(&[], "app-1.0").unwrap();
        assert_eq!(
            (c.name.as_str(), c.version.as_deref()),
            ("app", Some("1.0"))
        );
        let c = from_manifest(&[], "app").unwrap();
        assert_eq!((c.name.as_str(), c.version), ("app", None));
        let c = from_manifest(
            &[("Implementation-Version".into(), "1.0".into())],
            "app-1.0",
        );
        assert_eq!(c.unwrap().name, "app");
    }

    #[test]
    fn jars_in_jars_one_level_deep() {
        let inner = jar(&[(
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
            b"groupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.15.2\n",
        )]);
        // A nested jar declaring nothing, and one nested deeper (not opened).
        let bare = jar(&[("a/B.class", b"\xca\xfe\xba\xbe")]);
        let deeper = jar(&[("lib/deep-9.9.jar", &bare)]);
        let outer = jar(&[
            (
                "META-INF/maven/com.contoso/app/pom.properties",
                b"groupId=com.contoso\nartifactId=app\nversion=1.0.3\n",
            ),
            ("BOOT-INF/lib/jackson-databind-2.15.2.jar", &inner),
            ("BOOT-INF/lib/netty-codec-http2-4.1.94.Final.jar", &bare),
            ("BOOT-INF/lib/wrapper-1.0.jar", &deeper),
        ]);
        let c = scan("app/app.jar", &outer);
        let seen: Vec<String> = c
            .iter()
            .map(|c| {
                format!(
                    "{}:{}@{} in {}",
                    c.group.as_deref().unwrap_or("-"),
                    c.name,
                    c.version.as_deref().unwrap_or("-"),
                    c.member.as_deref().unwrap_or("-")
                )
            })
            .collect();
        let nested_pom = "BOOT-INF/lib/jackson-databind-2.15.2.jar!/META-INF/maven/\
                          com.fasterxml.jackson.core/jackson-databind/pom.properties";
        assert_eq!(
            seen,
            [
                "-:netty-codec-http2@4.1.94.Final in BOOT-INF/lib/netty-codec-http2-4.1.94.Final.jar"
                    .to_owned(),
                "-:wrapper@1.0 in BOOT-INF/lib/wrapper-1.0.jar".to_owned(),
                "com.contoso:app@1.0.3 in META-INF/maven/com.contoso/app/pom.properties".to_owned(),
                format!("com.fasterxml.jackson.core:jackson-databind@2.15.2 in {nested_pom}"),
            ]
        );
        assert_eq!(
            name_and_version("guava-32.1.2-jre"),
            ("guava", Some("32.1.2-jre"))
        );
        assert_eq!(
            name_and_version("log4j-api-2.20.0"),
            ("log4j-api", Some("2.20.0"))
        );
        assert_eq!(name_and_version("commons-lang3"), ("commons-lang3", None));
        assert_eq!(name_and_version("-1"), ("-1", None));
    }

    #[test]
    fn nested_jars_over_the_size_cap_are_named_not_inflated() {
        // 9 MiB of zeros deflate to a few KiB: the member says 9 MiB, over MAX_NESTED, so it is
        // never inflated (a member lying about its size is cut at what it says, by `take`).
        let zeros = vec![0u8; 9 << 20];
        let outer = jar(&[("WEB-INF/lib/big-2.0.jar", &zeros)]);
        assert!(outer.len() < 1 << 20);
        let c = scan("srv.jar", &outer);
        let names: Vec<(&str, Option<&str>, Option<&str>)> = c
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_deref(), c.member.as_deref()))
            .collect();
        assert!(
            names.contains(&("big", Some("2.0"), Some("WEB-INF/lib/big-2.0.jar"))),
            "{names:?}"
        );
    }

    #[test]
    fn big_jars_keep_head_and_tail() {
        // Incompressible filler pushes the pom past the head: only the tail has it.
        let mut x = 7u64;
        let filler: Vec<u8> = (0..12 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let bytes = jar(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
            ("big.bin", &filler),
            (
                "META-INF/maven/org.acme/lib/pom.properties",
                b"groupId=org.acme\nartifactId=lib\nversion=1.2.3\n",
            ),
        ]);
        assert!(bytes.len() as u64 > HEAD + TAIL);
        let c = scan("opt/lib.jar", &bytes);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].group.as_deref(), c[0].name.as_str()),
            (Some("org.acme"), "lib")
        );
        assert!(scan("x.jar", b"not a zip at all").is_empty());
        assert!(scan("x.jar", &bytes[..bytes.len() / 2]).is_empty());
    }
}
