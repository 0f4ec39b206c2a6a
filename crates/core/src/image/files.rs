//! `Files`: read-only access to the files of an image layout, either a directory (`oci:`) or a
//! tar archive (`oci-archive:`, `docker-archive:`), so the layout readers are written once.
//!
//! Archives are indexed once (name -> offset, size) and read in place with positioned reads:
//! nothing is extracted, and several layers of one archive can be read in parallel.
//!
//! Only regular files are ever read (`open_regular`): a FIFO as `index.json` or as a blob
//! would block the open (or the first read) forever, and a device would never end. Files are
//! opened with `O_NONBLOCK` and judged by `fstat` on the open descriptor, so a file swapped
//! for a FIFO between a check and the open cannot hang the run either.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt as _};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::store::StoreError;

/// An open member: a reader and its size.
pub type Opened = (Box<dyn Read + Send>, u64);

pub trait Files: Send + Sync {
    /// Opens `name` (a relative path inside the layout), `Ok(None)` when absent.
    fn open(&self, name: &str) -> Result<Option<Opened>, StoreError>;
    /// Whether `name` exists.
    fn exists(&self, name: &str) -> bool;
    /// Human description for messages.
    fn describe(&self) -> String;
}

/// A layout directory on disk.
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    pub fn new(root: &Path) -> Result<Self, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::Source(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(DirFiles {
            root: root.to_owned(),
        })
    }

    /// `name` under the root, refusing anything that could leave it (names come from JSON we
    /// do not trust, e.g. a docker-archive `manifest.json`).
    fn path(&self, name: &str) -> Option<PathBuf> {
        let rel = Path::new(name);
        rel.components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then(|| self.root.join(rel))
    }
}

/// Opens `path` for reading if it is a regular file (symlinks followed); `Ok(None)` when it
/// does not exist, `StoreError::NotRegular` naming it when it is anything else. Never blocks:
/// `O_NONBLOCK` makes the open of a FIFO return at once (it does nothing to reads of a regular
/// file), and the type comes from `fstat` of what was opened, not from an earlier `stat`.
pub fn open_regular(path: &Path) -> Result<Option<(File, u64)>, StoreError> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                context: format!("opening {}", path.display()),
                error: source,
            });
        }
    };
    let meta = file.metadata().map_err(|source| StoreError::Io {
        context: format!("reading {}", path.display()),
        error: source,
    })?;
    let t = meta.file_type();
    if t.is_file() {
        return Ok(Some((file, meta.len())));
    }
    let kind = crate::input::kind_of(&t);
    Err(StoreError::NotRegular {
        path: path.display().to_string(),
        kind,
    })
}

impl Files for DirFiles {
    fn open(&self, name: &str) -> Result<Option<Opened>, StoreError> {
        let Some(path) = self.path(name) else {
            return Ok(None);
        };
        Ok(open_regular(&path)?.map(|(f, len)| -> Opened { (Box::new(f), len) }))
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name).is_some_and(|p| p.is_file())
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// Regular-file members of a tar archive, read in place.
pub struct TarFiles {
    path: PathBuf,
    file: Arc<File>,
    members: HashMap<String, (u64, u64)>,
}

impl TarFiles {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let file = match open_regular(path)? {
            Some((f, _)) => f,
            None => {
                return Err(StoreError::Source(format!(
                    "cannot open archive {}: no such file",
                    path.display()
                )));
            }
        };
        let mut members = HashMap::new();
        let mut archive = tar::Archive::new(&file);
        let bad = |e: io::Error| {
            StoreError::Source(format!(
                "{} is not a readable tar archive: {e}",
                path.display()
            ))
        };
        for entry in archive.entries().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_owned();
            members.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(TarFiles {
            path: path.to_owned(),
            file: Arc::new(file),
            members,
        })
    }
}

impl Files for TarFiles {
    fn open(&self, name: &str) -> Result<Option<Opened>, StoreError> {
        Ok(self.members.get(name).map(|&(offset, size)| {
            let reader: Box<dyn Read + Send> = Box::new(Section {
                file: self.file.clone(),
                pos: offset,
                end: offset + size,
            });
            (reader, size)
        }))
    }

    fn exists(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// A byte range of a shared file, read with `pread` so readers do not share a cursor.
struct Section {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::default_analyzers;
    use crate::checks::testing::good_spec;
    use crate::image::layer::NoProgress;
    use crate::image::layout::Layout;
    use crate::image::scan::{ScanOptions, scan};

    fn mkfifo(path: &Path) {
        let _ = std::fs::remove_file(path);
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(ok.success(), "mkfifo {}", path.display());
    }

    /// Runs `f` on a thread; fails the test (instead of hanging it) after 20 s.
    fn promptly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("blocked on a non-regular file")
    }

    #[test]
    fn fifo_as_index_json_hangs_forever() {
        let dir = tempfile::tempdir().unwrap();
        edgecert_fixtures::write_oci_layout(dir.path(), &good_spec()).unwrap();
        let index = dir.path().join("index.json");
        mkfifo(&index);
        let root = dir.path().to_owned();
        let err = promptly(move || Layout::open(DirFiles::new(&root).unwrap(), None).err())
            .expect("a FIFO index.json is refused");
        assert!(matches!(err, StoreError::NotRegular { kind: "FIFO", .. }));
        assert!(
            err.to_string().contains(&index.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn fifo_as_layer_blob_hangs_forever() {
        let dir = tempfile::tempdir().unwrap();
        edgecert_fixtures::write_oci_layout(dir.path(), &good_spec()).unwrap();
        // The biggest blobs are the busybox layers.
        let blobs = dir.path().join("blobs/sha256");
        let biggest = std::fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .max_by_key(|p| p.metadata().unwrap().len())
            .unwrap();
        mkfifo(&biggest);
        let root = dir.path().to_owned();
        let err = promptly(move || {
            let store = Layout::open(DirFiles::new(&root).unwrap(), None).unwrap();
            scan(
                "oci:fixture",
                &store,
                &ScanOptions::default(),
                &default_analyzers(),
                &NoProgress,
            )
            .err()
        })
        .expect("a FIFO layer blob fails the scan (exit 2), it is not an EC101 finding");
        let text = err.to_string();
        assert!(
            text.contains(&biggest.display().to_string()) && text.contains("FIFO"),
            "{text}"
        );
    }

    #[test]
    fn devices_and_directories_are_refused_and_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let files = DirFiles::new(dir.path()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("ok"), b"abc").unwrap();
        assert!(matches!(
            files.open("zero"),
            Err(StoreError::NotRegular {
                kind: "character device",
                ..
            })
        ));
        assert!(matches!(
            files.open("sub"),
            Err(StoreError::NotRegular {
                kind: "directory",
                ..
            })
        ));
        assert!(files.open("absent").unwrap().is_none());
        let (mut r, len) = files.open("ok").unwrap().unwrap();
        let mut text = String::new();
        r.read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), len), ("abc", 3));
        // An archive that is a FIFO is refused as well, before anything waits on it.
        mkfifo(&dir.path().join("fifo.tar"));
        let fifo = dir.path().join("fifo.tar");
        let err = promptly(move || TarFiles::open(&fifo).err()).expect("refused");
        assert!(matches!(err, StoreError::NotRegular { kind: "FIFO", .. }));
    }
}
