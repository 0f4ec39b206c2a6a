//! Which files a distribution's package manager installed: dpkg's per-package file lists
//! (`var/lib/dpkg/info/<package>[:<arch>].list`, one absolute path a line, as dpkg writes them
//! at install time) and apk's installed database (`lib/apk/db/installed`: `P:` package, `F:`
//! directory, `R:` file in it). Read during the streaming pass like every analyzer.
//!
//! Ownership is what lets EC806 tell a distribution's own files (a public test key inside
//! `libgnutls.so.30`) from the module's, and lets the SBOM leave out npm and Python packages
//! that a Debian package installed (`/usr/share/nodejs`, `/usr/lib/python3/dist-packages`):
//! the deb component already names them. Which files a platform's packages own is decided on
//! its merged filesystem (`facts::PlatformFacts::package_owners`), so a database a later layer replaces or deletes
//! does not count.
//!
//! Bounded like every parse of image content: lines over 4 KiB are dropped, at most
//! [`MAX_PATHS`] paths per file are kept; a hostile list yields fewer owned files, never more
//! memory.

use super::{Analyzer, FileFact, FileMeta, FileScan};

/// Paths kept per database file (Debian's largest packages list ~20k files).
pub const MAX_PATHS: usize = 200_000;
const MAX_LINE: usize = 4096;

pub use crate::facts::file::Manager;

impl Manager {
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
        }
    }
}

pub use crate::facts::file::PackageFiles;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    DpkgList,
    ApkInstalled,
}

fn target(path: &str) -> Option<Target> {
    if path == "lib/apk/db/installed" {
        return Some(Target::ApkInstalled);
    }
    let name = path
        .strip_prefix("var/lib/dpkg/info/")?
        .strip_suffix(".list")?;
    (!name.is_empty() && !name.contains('/')).then_some(Target::DpkgList)
}

/// The package a dpkg list file names: `libgnutls30:amd64.list` → `libgnutls30`.
fn dpkg_package(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file.strip_suffix(".list").unwrap_or(file);
    name.split(':').next().unwrap_or(name).to_owned()
}

/// A path as a database writes it, made relative the way the merged filesystem keys it.
fn relative(path: &str) -> Option<String> {
    let p = path.trim_end_matches('\r').trim_start_matches('/');
    let ok = !p.is_empty() && p != "." && !p.chars().any(char::is_control);
    ok.then(|| p.trim_end_matches('/').to_owned())
}

pub struct OwnersAnalyzer;

impl Analyzer for OwnersAnalyzer {
    fn name(&self) -> &'static str {
        "owners"
    }

    fn start(&self, file: &FileMeta<'_>) -> Option<Box<dyn FileScan>> {
        let target = target(file.path)?;
        let current = match target {
            Target::DpkgList => Some(PackageFiles {
                manager: Manager::Dpkg,
                package: dpkg_package(file.path),
                paths: Vec::new(),
            }),
            Target::ApkInstalled => None,
        };
        Some(Box::new(ListScan {
            target,
            line: Vec::new(),
            overlong: false,
            current,
            dir: String::new(),
            done: Vec::new(),
            kept: 0,
        }))
    }
}

struct ListScan {
    target: Target,
    line: Vec<u8>,
    overlong: bool,
    /// The package whose files are being read.
    current: Option<PackageFiles>,
    /// apk: the directory of the `R:` lines that follow (`F:`).
    dir: String,
    done: Vec<PackageFiles>,
    kept: usize,
}

impl ListScan {
    fn keep(&mut self, path: Option<String>) {
        if let (Some(p), Some(pkg)) = (path, self.current.as_mut())
            && self.kept < MAX_PATHS
        {
            pkg.paths.push(p);
            self.kept += 1;
        }
    }

    fn finish_package(&mut self) {
        if let Some(p) = self.current.take().filter(|p| !p.paths.is_empty()) {
            self.done.push(p);
        }
    }

    fn line(&mut self, line: &str) {
        match self.target {
            Target::DpkgList => self.keep(relative(line)),
            Target::ApkInstalled => match line.split_once(':') {
                Some(("P", name)) => {
                    self.finish_package();
                    self.current = Some(PackageFiles {
                        manager: Manager::Apk,
                        package: name.trim().to_owned(),
                        paths: Vec::new(),
                    });
                    self.dir.clear();
                }
                Some(("F", dir)) => {
                    self.dir = dir.trim().to_owned();
                    let dir = relative(&self.dir);
                    self.keep(dir);
                }
                Some(("R", file)) if !file.contains('/') => {
                    let path = if self.dir.is_empty() {
                        file.to_owned()
                    } else {
                        format!("{}/{file}", self.dir)
                    };
                    self.keep(relative(&path));
                }
                _ if line.is_empty() => {
                    self.finish_package();
                    self.dir.clear();
                }
                _ => {}
            },
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if !self.overlong
            && let Ok(text) = std::str::from_utf8(&line)
        {
            self.line(text);
        }
        self.overlong = false;
        self.line = line;
        self.line.clear();
    }
}

impl FileScan for ListScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        let mut rest = chunk;
        while !rest.is_empty() {
            match rest.iter().position(|&c| c == b'\n') {
                Some(i) => {
                    self.push(&rest[..i]);
                    self.end_line();
                    rest = &rest[i + 1..];
                }
                None => {
                    self.push(rest);
                    rest = &[];
                }
            }
        }
        self.kept < MAX_PATHS
    }

    fn finish(mut self: Box<Self>) -> Vec<FileFact> {
        if !self.line.is_empty() {
            self.end_line();
        }
        self.finish_package();
        self.done.into_iter().map(FileFact::Owned).collect()
    }
}

impl ListScan {
    fn push(&mut self, bytes: &[u8]) {
        if self.line.len() + bytes.len() > MAX_LINE {
            self.overlong = true;
        } else if !self.overlong {
            self.line.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(path: &str, text: &str, chunk: usize) -> Vec<PackageFiles> {
        let meta = FileMeta {
            layer: "sha256:0",
            path,
            size: text.len() as u64,
            mode: 0o644,
        };
        let mut s = OwnersAnalyzer.start(&meta).expect("a database file");
        for c in text.as_bytes().chunks(chunk.max(1)) {
            s.update(c);
        }
        s.finish()
            .into_iter()
            .map(|f| match f {
                FileFact::Owned(p) => p,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn dpkg_lists_in_any_chunking() {
        let list = "/.\n/usr\n/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3\n/usr/share/doc/libgnutls30\n";
        for chunk in [1, 3, 7, 1000] {
            let got = scan("var/lib/dpkg/info/libgnutls30:amd64.list", list, chunk);
            assert_eq!(got.len(), 1);
            assert_eq!(
                (got[0].manager, got[0].package.as_str()),
                (Manager::Dpkg, "libgnutls30")
            );
            assert_eq!(
                got[0].paths,
                [
                    "usr",
                    "usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3",
                    "usr/share/doc/libgnutls30"
                ]
            );
        }
    }

    #[test]
    fn apk_installed_db_files_by_package() {
        let db = "C:Q1x=\nP:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n\
                  P:libcrypto3\nV:3.1.4-r1\nF:etc/ssl\nR:openssl.cnf\nF:usr/lib\nR:libcrypto.so.3\n";
        for chunk in [1, 5, 4096] {
            let got = scan("lib/apk/db/installed", db, chunk);
            let names: Vec<_> = got.iter().map(|p| p.package.as_str()).collect();
            assert_eq!(names, ["musl", "libcrypto3"]);
            assert!(
                got[0]
                    .paths
                    .contains(&"lib/ld-musl-x86_64.so.1".to_string())
            );
            assert!(got[1].paths.contains(&"usr/lib/libcrypto.so.3".to_string()));
            assert!(got.iter().all(|p| p.manager == Manager::Apk));
        }
    }

    #[test]
    fn only_database_files_are_targets() {
        assert_eq!(
            target("var/lib/dpkg/info/bash.list"),
            Some(Target::DpkgList)
        );
        assert_eq!(target("var/lib/dpkg/info/bash.md5sums"), None);
        assert_eq!(target("var/lib/dpkg/info/x/y.list"), None);
        assert_eq!(target("app/var/lib/dpkg/info/bash.list"), None);
        assert_eq!(target("lib/apk/db/installed"), Some(Target::ApkInstalled));
    }

    #[test]
    fn hostile_lists_are_bounded() {
        let long = format!("/{}\n/ok\n", "a".repeat(MAX_LINE * 2));
        let got = scan("var/lib/dpkg/info/x.list", &long, 100);
        assert_eq!(got[0].paths, ["ok"]);
        let no_files = scan("var/lib/dpkg/info/x.list", "/.\n\n", 10);
        assert!(no_files.is_empty());
    }
}
