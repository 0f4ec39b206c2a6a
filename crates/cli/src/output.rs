//! Writing results: to stdout, or to `--output FILE` / `--sbom FILE`.
//!
//! A path is judged once, before the (possibly long) run, by `Target::prepare`, so an
//! unwritable location fails in a second, not after the scan:
//!
//! - a regular file, or nothing yet: written atomically (a temporary file in the same
//!   directory, renamed into place), so a failed run never leaves a partial report behind. The
//!   file gets the mode any other program would create it with (`0666` less the umask). A
//!   symlink to one is followed: its target is replaced, the link stays.
//! - a FIFO or a device (`/dev/stdout`, `/dev/null`, a pipe a CI step reads): written through,
//!   never replaced. Renaming over `/dev/null` as root would replace the device node.
//! - a directory or a socket: refused.
//!
//! It deliberately does not create missing directories: a typo in a path should be an error.

use std::fs::Permissions;
use std::io::{self, Write};
use std::os::unix::fs::{
    FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use edgecert_engine::cancel::Cancel;

/// Where one result goes, judged before the run.
#[derive(Debug)]
pub struct Target {
    /// As the user wrote it, for messages.
    shown: PathBuf,
    how: How,
    /// Ends a wait for a FIFO's reader (our SIGINT handler would otherwise make it endless).
    cancel: Option<Cancel>,
}

#[derive(Debug)]
enum How {
    /// Temporary file in the directory of this path, renamed onto it.
    Replace(PathBuf),
    /// Opened and written in place (FIFO, character or block device).
    Through(PathBuf),
}

impl Target {
    /// Judges `path` and checks that it can be written, without writing it.
    pub fn prepare(path: &Path) -> anyhow::Result<Target> {
        let shown = path.to_owned();
        let how = match std::fs::metadata(path) {
            Ok(meta) => {
                let t = meta.file_type();
                if t.is_dir() {
                    bail!("cannot write {}: it is a directory", path.display());
                } else if t.is_file() {
                    // A symlink (chain) to a regular file: replace the file, keep the links.
                    let real = std::fs::canonicalize(path)
                        .with_context(|| format!("cannot resolve {}", path.display()))?;
                    How::Replace(real)
                } else if t.is_fifo() || t.is_char_device() || t.is_block_device() {
                    How::Through(path.to_owned())
                } else {
                    bail!(
                        "cannot write {}: it is a socket or special file",
                        path.display()
                    );
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => How::Replace(missing(path)?),
            Err(e) => bail!("cannot write {}: {e}", path.display()),
        };
        let target = Target {
            shown,
            how,
            cancel: None,
        };
        target.probe()?;
        Ok(target)
    }

    /// Whether this is the same file as `other` (device and inode when both exist, else the
    /// resolved path), so a report never overwrites the offer or the SBOM.
    pub fn is(&self, other: &Path) -> bool {
        let mine = self.real();
        match (std::fs::metadata(mine), std::fs::metadata(other)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            (Err(_), Err(_)) => missing(other).is_ok_and(|o| o == mine),
            _ => false,
        }
    }

    /// Gives up waiting for a FIFO's reader once `cancel` fires.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }

    pub fn path(&self) -> &Path {
        &self.shown
    }

    fn real(&self) -> &Path {
        match &self.how {
            How::Replace(p) | How::Through(p) => p,
        }
    }

    /// Fails now if writing later would: a temporary file can be made beside a file to
    /// replace (and is removed at once); a device opens for writing. A FIFO is not opened: that
    /// waits for a reader, which may only come once the report is ready.
    fn probe(&self) -> anyhow::Result<()> {
        match &self.how {
            How::Replace(real) => {
                temp_beside(real)
                    .with_context(|| format!("cannot write {}", self.shown.display()))?;
            }
            How::Through(real) => {
                let meta = std::fs::metadata(real)?;
                if !meta.file_type().is_fifo() {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(real)
                        .with_context(|| format!("cannot write {}", self.shown.display()))?;
                }
            }
        }
        Ok(())
    }

    /// Writes `text`: atomically for a file, through for a FIFO or device.
    pub fn write(&self, text: &str) -> anyhow::Result<()> {
        let shown = self.shown.display();
        match &self.how {
            How::Replace(real) => {
                let mut tmp = temp_beside(real).with_context(|| format!("cannot write {shown}"))?;
                tmp.write_all(text.as_bytes())
                    .and_then(|()| tmp.as_file().sync_all())
                    .with_context(|| format!("writing {shown}"))?;
                tmp.persist(real)
                    .map_err(|e| e.error)
                    .with_context(|| format!("writing {shown}"))?;
            }
            How::Through(real) => {
                // Devices and FIFOs are neither created nor truncated. A FIFO waits for its
                // reader like a shell redirection would, but Ctrl-C still ends the wait.
                let mut f = open_through(real, self.cancel.as_ref())
                    .with_context(|| format!("cannot write {shown}"))?;
                write_all_polled(&mut f, text.as_bytes(), self.cancel.as_ref())
                    .with_context(|| format!("writing {shown}"))?;
            }
        }
        Ok(())
    }
}

/// Opens a device or FIFO for writing. A FIFO is opened with `O_NONBLOCK`, which fails with
/// `ENXIO` until a reader has it open: polled, so `cancel` can end the wait. The descriptor that
/// succeeded is the one written to — opening a probe and closing it would hand a reader that is
/// already waiting an end of file, and the next open would then wait for a reader that is gone.
fn open_through(path: &Path, cancel: Option<&Cancel>) -> anyhow::Result<std::fs::File> {
    if !std::fs::metadata(path)?.file_type().is_fifo() {
        return Ok(std::fs::OpenOptions::new().write(true).open(path)?);
    }
    loop {
        let probe = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        match probe {
            Ok(f) => return Ok(f),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if let Some(why) = cancel.and_then(Cancel::reason) {
                    bail!("interrupted by {why} while waiting for a reader");
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes all of `bytes` to a descriptor that may be non-blocking (a FIFO whose reader is
/// slower than us): a full pipe is waited out, and `cancel` ends the wait.
fn write_all_polled(
    f: &mut std::fs::File,
    mut bytes: &[u8],
    cancel: Option<&Cancel>,
) -> anyhow::Result<()> {
    while !bytes.is_empty() {
        match f.write(bytes) {
            Ok(0) => bail!("the reader went away"),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(why) = cancel.and_then(Cancel::reason) {
                    bail!("interrupted by {why} while writing");
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    f.flush()?;
    Ok(())
}

/// The path a missing file will have: its directory resolved (which must exist), its name
/// kept. A dangling symlink is followed to the file it names.
fn missing(path: &Path) -> anyhow::Result<PathBuf> {
    let path = match std::fs::read_link(path) {
        Ok(target) if target.is_absolute() => target,
        Ok(target) => path.parent().unwrap_or(Path::new("")).join(target),
        Err(_) => path.to_owned(),
    };
    let Some(name) = path.file_name() else {
        bail!("cannot write {}: not a file name", path.display());
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).with_context(|| {
        format!(
            "cannot write {}: directory {}",
            path.display(),
            dir.display()
        )
    })?;
    Ok(dir.join(name))
}

/// A temporary file in `path`'s directory, created with the mode a plain `open` would give
/// (`0666` less the umask; `tempfile` alone makes `0600`).
fn temp_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".edgecert-")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Writes `text` to `path` (judged now, see `Target`), or to stdout.
pub fn write(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => Target::prepare(p)?.write(text),
        None => write_to(None, text),
    }
}

/// Writes `text` to a target judged earlier, or to stdout.
pub fn write_to(target: Option<&Target>, text: &str) -> anyhow::Result<()> {
    match target {
        Some(t) => t.write(text),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")
        }
    }
}
