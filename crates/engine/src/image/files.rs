//! `Files`: read-only access to the files of an image layout, either a directory (`oci:`) or a
//! tar archive (`oci-archive:`, `docker-archive:`), so the layout readers are written once.
//!
//! Archives are indexed once (name -> offset, size) and read in place with positioned reads:
//! nothing is extracted, and several layers of one archive can be read in parallel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
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

impl Files for DirFiles {
    fn open(&self, name: &str) -> Result<Option<Opened>, StoreError> {
        let Some(path) = self.path(name) else {
            return Ok(None);
        };
        match File::open(&path) {
            Ok(f) => {
                let meta = f.metadata().map_err(|source| StoreError::Io {
                    context: format!("reading {}", path.display()),
                    source,
                })?;
                if !meta.is_file() {
                    return Ok(None);
                }
                Ok(Some((Box::new(f), meta.len())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                context: format!("opening {}", path.display()),
                source,
            }),
        }
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
        let file = File::open(path).map_err(|e| {
            StoreError::Source(format!("cannot open archive {}: {e}", path.display()))
        })?;
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
