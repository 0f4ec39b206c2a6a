//! Blob storage: content-addressed, verified before visible, stored once across repositories.
//! [`FsStore`] is the local-directory backend (the embedded default); an S3-compatible backend
//! is planned behind the same operations (issue 11).

mod fs;

use std::io;

pub use fs::FsStore;

use crate::digest::Digest;

/// A resumable upload session's id (a random UUID, safe as a file name and in a URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    fn new() -> UploadId {
        UploadId(uuid::Uuid::new_v4().to_string())
    }

    /// An id from a request path; `None` unless it has the form this store hands out.
    pub fn parse(s: &str) -> Option<UploadId> {
        uuid::Uuid::parse_str(s)
            .ok()
            .filter(|u| u.hyphenated().to_string() == s)
            .map(|_| UploadId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("content does not match digest {expected}: it hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("content is {actual} bytes, {expected} were declared")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("upload session unknown")]
    UploadUnknown,
    #[error("upload session is being written by another request")]
    UploadBusy,
    #[error("chunk does not start where the upload ends (byte {size})")]
    RangeMismatch { size: u64 },
    #[error("blob storage: {0}")]
    Io(#[from] io::Error),
}

/// What a garbage collection removed and kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub blobs_removed: Vec<Digest>,
    pub blobs_kept: usize,
    pub uploads_removed: usize,
}
