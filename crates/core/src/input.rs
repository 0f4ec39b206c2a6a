//! Reading the small files a user names on the command line (offer, policy, blocklist, rule
//! files, a route test's message): only regular files, at most a bound, as UTF-8. A FIFO would
//! block the run forever and `/dev/zero` would fill memory; both are refused naming what the
//! path is instead.

use std::fs::OpenOptions;
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// An offer, a policy or a route test's message.
pub const MAX_DOCUMENT: u64 = 1024 * 1024;
/// A blocklist of SHA-256 digests or a YARA rule file.
pub const MAX_RULES: u64 = 64 * 1024 * 1024;

/// The text of the regular file at `path`, if it is at most `max` bytes. The error says what
/// the path is when it is not a regular file (the open never blocks: `O_NONBLOCK`, then the
/// type of what was opened).
pub fn read_text(path: &Path, max: u64) -> io::Result<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is a {}, not a regular file", kind_of(&t)),
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than the {max} bytes allowed"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// What a file that is not a regular file is, for messages: `FIFO`, `character device` …
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symlink"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_text_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("offer.json");
        std::fs::write(&ok, "{}").unwrap();
        assert_eq!(read_text(&ok, 10).unwrap(), "{}");

        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 11]).unwrap();
        let e = read_text(&big, 10).unwrap_err().to_string();
        assert!(e.contains("larger than the 10 bytes"), "{e}");

        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read_text(&fifo, 10).unwrap_err().to_string();
        assert_eq!(e, "it is a FIFO, not a regular file");

        let e = read_text(Path::new("/dev/zero"), 10)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "it is a character device, not a regular file");
        let e = read_text(dir.path(), 10).unwrap_err().to_string();
        assert_eq!(e, "it is a directory, not a regular file");

        let latin1 = dir.path().join("latin1");
        std::fs::write(&latin1, b"ab\xe9").unwrap();
        let e = read_text(&latin1, 10).unwrap_err().to_string();
        assert!(e.contains("offset 2"), "{e}");
    }
}
