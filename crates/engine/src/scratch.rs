//! The certification run's scratch directory (`$TMPDIR/edgecert-XXXXXX`): kept blobs, the
//! ingestion test's run directory with the workload API stand-in's sockets. Dropped with the
//! run; a run killed with SIGKILL cannot drop it, so each new run first removes the scratch
//! directories of dead runs.
//!
//! A run is alive while it holds an exclusive `flock` on `.alive` inside its directory. The
//! lock is taken on a file of another name and renamed into place, so no sweeper can ever see
//! an `.alive` that is not yet locked. Directories without `.alive` (not ours, or from before
//! this scheme) and directories of other users are never touched.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::private_dir::my_uid;

const PREFIX: &str = "edgecert-";
const ALIVE: &str = ".alive";

/// A scratch directory, removed on drop; marked alive for as long as it exists.
pub struct Scratch {
    // Field order: the lock goes after the directory is removed (drop order is declaration
    // order), so a sweeper never finds the directory unlocked while it is still ours.
    dir: TempDir,
    _alive: File,
}

impl Scratch {
    /// Removes the scratch directories of dead runs, then makes this run's.
    pub fn new() -> std::io::Result<Scratch> {
        sweep(&std::env::temp_dir());
        Scratch::new_in(&std::env::temp_dir())
    }

    fn new_in(parent: &Path) -> std::io::Result<Scratch> {
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(parent)?;
        let taking = dir.path().join(".alive-taking");
        let alive = File::create(&taking)?;
        alive.lock()?;
        std::fs::rename(&taking, dir.path().join(ALIVE))?;
        Ok(Scratch { dir, _alive: alive })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes every `edgecert-*` directory in `parent` that is ours and whose `.alive` nobody
/// holds; returns what was removed.
pub fn sweep(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let me = my_uid();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        // Not following symlinks: a planted link must not lead the sweep elsewhere.
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() || Some(meta.uid()) != me {
            continue;
        }
        let marker = dir.join(ALIVE);
        match std::fs::symlink_metadata(&marker) {
            Ok(m) if m.is_file() => {}
            _ => continue,
        }
        let Ok(file) = File::open(&marker) else {
            continue;
        };
        if file.try_lock().is_ok() && std::fs::remove_dir_all(&dir).is_ok() {
            removed.push(dir);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_runs_scratch_goes_and_a_live_one_stays() {
        let parent = tempfile::tempdir().unwrap();
        let live = Scratch::new_in(parent.path()).unwrap();
        std::fs::write(live.path().join("blob"), b"kept").unwrap();
        // A killed run: its directory and marker stay, its lock is gone with the process
        // (dropping the lock file's descriptor, here, is what the kernel does on SIGKILL).
        let dead = Scratch::new_in(parent.path()).unwrap();
        let dead_path = dead.path().to_owned();
        let Scratch { dir, _alive } = dead;
        let kept = dir.keep();
        drop(_alive);
        // Not ours to judge: no marker, or not a scratch directory at all.
        let unmarked = parent.path().join("edgecert-runs");
        std::fs::create_dir(&unmarked).unwrap();
        let other = parent.path().join("somebody-else");
        std::fs::create_dir(&other).unwrap();

        let removed = sweep(parent.path());
        assert_eq!(removed, vec![dead_path.clone()]);
        assert!(!kept.exists());
        assert!(
            live.path().join("blob").exists(),
            "a live run's scratch stays"
        );
        assert!(unmarked.exists() && other.exists());
        drop(live);
        assert!(
            std::fs::read_dir(parent.path()).unwrap().count() == 2,
            "a finished run removes its own scratch"
        );
    }

    #[test]
    fn a_symlink_named_like_a_scratch_directory_is_not_followed() {
        let parent = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        std::fs::write(target.path().join(ALIVE), b"").unwrap();
        std::os::unix::fs::symlink(target.path(), parent.path().join("edgecert-planted")).unwrap();
        assert!(sweep(parent.path()).is_empty());
        assert!(target.path().join(ALIVE).exists());
    }
}
