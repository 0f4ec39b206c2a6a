//! Directories that only this user can write to, for state other users must not be able to
//! plant or swap: the malware result cache (a planted result would skip a scan), the run locks
//! and the host lock of the ingestion test (a planted symlink would make us create or truncate
//! a file elsewhere; a lock held by someone else would stall every run).
//!
//! `ensure` creates the directory `0700` if missing and then refuses it unless it is a real
//! directory (not a symlink), owned by us, and writable by nobody else. A directory of ours
//! that others can only read (an older cache made under the default umask) is narrowed to
//! `0700`: what is in it could only have been written by us.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;

/// Makes `dir` (and missing parents, also `0700`) and checks it is ours alone; `Err` says why
/// not, naming the directory.
pub fn ensure(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if let Err(e) = DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        // A symlink to a directory "exists"; judged below.
        if std::fs::symlink_metadata(dir).is_err() {
            return Err(format!("cannot create {shown}: {e}"));
        }
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{shown} is a symlink"));
    }
    if !meta.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let me = my_uid().ok_or_else(|| "cannot tell which user we run as".to_owned())?;
    if meta.uid() != me {
        return Err(format!(
            "{shown} is owned by uid {}, not by us (uid {me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{shown} can be written by other users (mode {mode:o}); `chmod 700` it"
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {shown} private: {e}"))?;
    }
    Ok(())
}

/// Our user id, without `unsafe` (`getuid`): the owner of `/proc/self`.
pub fn my_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_private_directory_of_ours_is_accepted() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        ensure(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Readable by others only: narrowed, not refused.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        // Writable by others: refused.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = ensure(&dir).unwrap_err();
        assert!(e.contains("can be written by other users"), "{e}");
        // A symlink, even to a private directory of ours: refused.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let e = ensure(&link).unwrap_err();
        assert!(e.contains("is a symlink"), "{e}");
        // A file: refused.
        std::fs::write(base.path().join("f"), b"").unwrap();
        assert!(ensure(&base.path().join("f")).is_err());
    }
}
