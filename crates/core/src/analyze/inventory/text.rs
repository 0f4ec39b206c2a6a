//! Line-oriented package records, parsed as they stream by (never buffered whole): dpkg status
//! stanzas (`Package:`/`Version:`/`Architecture:`/`Status:`), apk's installed db (`P:`/`V:`/
//! `A:`/`L:`), Python core metadata headers (`Name:`/`Version:`/`License-Expression:`),
//! `os-release` (`ID=`/`VERSION_ID=`) and Maven `pom.properties`.
//!
//! Lines are capped at 64 KiB (the rest of an overlong line is dropped); formats that only need
//! a header stop reading at its end or after 1 MiB.

use super::{Component, Ecosystem, FileFact, FileScan, MAX_COMPONENTS, OsRelease, clean, facts};

const MAX_LINE: usize = 64 * 1024;
/// Header-only formats (Python metadata, os-release, pom.properties) stop here.
const MAX_HEADER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    /// `status_d`: distroless `status.d/<pkg>` records carry no `Status:`; they are installed.
    Dpkg {
        status_d: bool,
    },
    Apk,
    Python,
    OsRelease,
    Pom {
        member: Option<String>,
    },
}

pub(super) struct Stanzas {
    format: Format,
    line: Vec<u8>,
    /// The current line passed `MAX_LINE`: drop bytes until its end.
    overlong: bool,
    /// Fields of the current record that matter (first occurrence wins).
    fields: Vec<(String, String)>,
    out: Vec<Component>,
    read: usize,
    done: bool,
}

impl Stanzas {
    fn new(format: Format) -> Self {
        Stanzas {
            format,
            line: Vec::new(),
            overlong: false,
            fields: Vec::new(),
            out: Vec::new(),
            read: 0,
            done: false,
        }
    }
    pub fn dpkg(status_d: bool) -> Self {
        Self::new(Format::Dpkg { status_d })
    }
    pub fn apk() -> Self {
        Self::new(Format::Apk)
    }
    pub fn python() -> Self {
        Self::new(Format::Python)
    }
    pub fn os_release() -> Self {
        Self::new(Format::OsRelease)
    }
    pub fn pom_properties(member: Option<String>) -> Self {
        Self::new(Format::Pom { member })
    }

    fn header_only(&self) -> bool {
        matches!(
            self.format,
            Format::Python | Format::OsRelease | Format::Pom { .. }
        )
    }

    /// Feeds bytes; `false` once nothing more is wanted.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        self.read = self.read.saturating_add(chunk.len());
        for piece in chunk.split_inclusive(|&c| c == b'\n') {
            if self.done {
                return false;
            }
            let (body, complete) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            if !self.overlong {
                let room = MAX_LINE - self.line.len();
                self.line.extend_from_slice(&body[..body.len().min(room)]);
                self.overlong = body.len() > room;
            }
            if complete {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.overlong = false;
                self.line_done(&String::from_utf8_lossy(&line));
            }
        }
        let capped = self.header_only() && self.read >= MAX_HEADER_BYTES;
        !self.done && !capped && self.out.len() < MAX_COMPONENTS
    }

    fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn keep(&mut self, key: &str, value: &str, wanted: &[&str]) {
        if wanted.contains(&key) && self.field(key).is_none() {
            self.fields.push((key.to_owned(), value.trim().to_owned()));
        }
    }

    fn line_done(&mut self, line: &str) {
        if line.trim().is_empty() {
            if self.format == Format::Python {
                self.done = true; // the end of the headers; the body is the description
            }
            self.end_record();
            return;
        }
        if line.starts_with([' ', '\t']) {
            return; // a continuation line: no field we read spans lines
        }
        match &self.format {
            Format::Dpkg { .. } | Format::Python => {
                if let Some((k, v)) = line.split_once(':') {
                    let wanted: &[&str] = if self.format == Format::Python {
                        &["Name", "Version", "License-Expression", "License"]
                    } else {
                        &["Package", "Version", "Architecture", "Status"]
                    };
                    self.keep(k, v, wanted);
                }
            }
            Format::Apk => {
                if let Some((k, v)) = line.split_once(':') {
                    self.keep(k, v, &["P", "V", "A", "L"]);
                }
            }
            Format::OsRelease => {
                if let Some((k, v)) = line.split_once('=') {
                    let v = v.trim().trim_matches(['"', '\'']);
                    self.keep(k.trim(), v, &["ID", "VERSION_ID"]);
                }
            }
            Format::Pom { .. } => {
                let line = line.trim_start();
                if line.starts_with(['#', '!']) {
                    return;
                }
                if let Some((k, v)) = line.split_once(['=', ':']) {
                    self.keep(k.trim(), v, &["groupId", "artifactId", "version"]);
                }
            }
        }
    }

    fn end_record(&mut self) {
        let component = match &self.format {
            Format::Dpkg { status_d } => {
                // `install ok installed`, `hold ok installed`; not `deinstall ok config-files`.
                let installed = match self.field("Status") {
                    Some(s) => s.split_whitespace().last() == Some("installed"),
                    None => *status_d,
                };
                let name = self.field("Package").filter(|_| installed);
                name.and_then(|n| Component::new(Ecosystem::Deb, n, self.field("Version")))
                    .map(|mut c| {
                        c.arch = self.field("Architecture").and_then(clean);
                        c
                    })
            }
            Format::Apk => self
                .field("P")
                .and_then(|n| Component::new(Ecosystem::Apk, n, self.field("V")))
                .map(|mut c| {
                    c.arch = self.field("A").and_then(clean);
                    c.licenses = self.field("L").and_then(clean).into_iter().collect();
                    c
                }),
            Format::Python => self
                .field("Name")
                .and_then(|n| Component::new(Ecosystem::Pypi, n, self.field("Version")))
                .map(|mut c| {
                    let license = self
                        .field("License-Expression")
                        .or(self.field("License"))
                        .filter(|l| l.len() <= 100 && !l.eq_ignore_ascii_case("UNKNOWN"));
                    c.licenses = license.and_then(clean).into_iter().collect();
                    c
                }),
            Format::Pom { member } => {
                let group = self.field("groupId").and_then(clean);
                self.field("artifactId")
                    .filter(|_| group.is_some())
                    .and_then(|a| Component::new(Ecosystem::Maven, a, self.field("version")))
                    .map(|mut c| {
                        c.group = group;
                        c.member = member.clone();
                        c
                    })
            }
            Format::OsRelease => None,
        };
        if self.format != Format::OsRelease {
            self.fields.clear();
        }
        if let Some(c) = component.filter(|_| self.out.len() < MAX_COMPONENTS) {
            self.out.push(c);
        }
    }

    /// Ends the stream: the last record, and what was found.
    pub fn into_facts(mut self) -> Vec<FileFact> {
        if !self.line.is_empty() && !self.done {
            let line = std::mem::take(&mut self.line);
            self.line_done(&String::from_utf8_lossy(&line));
        }
        if self.format == Format::OsRelease {
            let id = self.field("ID").and_then(clean);
            let version_id = self.field("VERSION_ID").and_then(clean);
            return id
                .map(|id| FileFact::OsRelease(OsRelease { id, version_id }))
                .into_iter()
                .collect();
        }
        if !self.done {
            self.end_record();
        }
        facts(self.out)
    }
}

/// The component a `pom.properties` member of an archive declares.
pub(super) fn pom_properties(bytes: &[u8], member: &str) -> Option<Component> {
    let mut s = Stanzas::pom_properties(Some(member.to_owned()));
    s.feed(bytes);
    s.into_facts().into_iter().find_map(|f| match f {
        FileFact::Component(c) => Some(c),
        _ => None,
    })
}

impl FileScan for Stanzas {
    fn update(&mut self, chunk: &[u8]) -> bool {
        self.feed(chunk)
    }

    fn finish(self: Box<Self>) -> Vec<FileFact> {
        self.into_facts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(mut s: Stanzas, text: &str, chunk: usize) -> Vec<FileFact> {
        for c in text.as_bytes().chunks(chunk) {
            if !s.feed(c) {
                break;
            }
        }
        s.into_facts()
    }

    fn names(f: &[FileFact]) -> Vec<String> {
        f.iter()
            .filter_map(|f| match f {
                FileFact::Component(c) => Some(format!(
                    "{}@{}/{}",
                    c.name,
                    c.version.as_deref().unwrap_or("-"),
                    c.arch.as_deref().unwrap_or("-")
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dpkg_installed_only_in_any_chunking() {
        let status = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\nDescription: GNU C\n Library: continued: line\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n\r\nPackage: tzdata\nStatus: hold ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1";
        for chunk in [1, 3, 17, 4096] {
            assert_eq!(
                names(&parse(Stanzas::dpkg(false), status, chunk)),
                ["libc6@2.36-9+deb12u4/amd64", "tzdata@2024a-0+deb12u1/all"]
            );
        }
        let distroless = "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n";
        assert_eq!(
            names(&parse(Stanzas::dpkg(true), distroless, 5)),
            ["base-files@12.4/amd64"]
        );
    }

    #[test]
    fn apk_python_os_release_pom() {
        let apk =
            "C:Q1x=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\n";
        let f = parse(Stanzas::apk(), apk, 7);
        assert_eq!(
            names(&f),
            ["musl@1.2.4-r2/x86_64", "busybox@1.36.1-r5/x86_64"]
        );
        let meta = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nName: not-a-header\n";
        let f = parse(Stanzas::python(), meta, 4);
        assert_eq!(names(&f), ["requests@2.31.0/-"]);
        let FileFact::Component(c) = &f[0] else {
            panic!()
        };
        assert_eq!(c.licenses, ["Apache 2.0"]);
        let os = parse(
            Stanzas::os_release(),
            "NAME=\"Debian\"\nID=debian\nVERSION_ID=\"12\"\n",
            3,
        );
        assert_eq!(
            os,
            [FileFact::OsRelease(OsRelease {
                id: "debian".into(),
                version_id: Some("12".into())
            })]
        );
        let c = pom_properties(
            b"#Generated\ngroupId=com.google.guava\nartifactId=guava\nversion=32.1.2-jre\n",
            "META-INF/maven/com.google.guava/guava/pom.properties",
        )
        .unwrap();
        assert_eq!(
            (c.group.as_deref(), c.name.as_str()),
            (Some("com.google.guava"), "guava")
        );
    }

    #[test]
    fn hostile_lines_are_bounded() {
        let mut s = Stanzas::dpkg(false);
        let long = vec![b'A'; 3 * MAX_LINE];
        s.feed(b"Package: ");
        s.feed(&long);
        s.feed(b"\nVersion: 1\n\n");
        // An overlong name is not a component; memory stayed bounded by the line cap.
        assert!(names(&s.into_facts()).is_empty());
    }
}
