//! Blob storage: content-addressed, verified before visible, stored once across repositories.
//! Two backends behind one [`BlobStore`]: [`FsStore`], a local directory (the embedded
//! default), and [`S3Store`], S3-compatible object storage for scale-out.

mod fs;
mod s3;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use tokio::io::AsyncRead;

pub use fs::FsStore;
pub use s3::{S3Config, S3Store};

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
    #[error("object storage: {0}")]
    Object(#[from] object_store::Error),
}

/// Upload sessions with a request writing to them in this process: a second concurrent
/// writer of one session is refused, and the collector leaves them alone.
#[derive(Debug, Default)]
pub(crate) struct Writers(std::sync::Mutex<std::collections::HashSet<String>>);

/// A session's writer mark, released when the writer is done (or panics).
pub(crate) struct Writing<'a> {
    writers: &'a Writers,
    id: String,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.writers.0.lock() {
            set.remove(&self.id);
        }
    }
}

impl Writers {
    pub(crate) fn claim(&self, id: &UploadId) -> Result<Writing<'_>, StoreError> {
        let mut set = self
            .0
            .lock()
            .map_err(|_| io::Error::other("lock poisoned"))?;
        if !set.insert(id.as_str().to_owned()) {
            return Err(StoreError::UploadBusy);
        }
        Ok(Writing {
            writers: self,
            id: id.as_str().to_owned(),
        })
    }

    pub(crate) fn is_writing(&self, id: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(id))
    }
}

/// What a garbage collection removed and kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub blobs_removed: Vec<Digest>,
    pub blobs_kept: usize,
    pub uploads_removed: usize,
}

/// A blob's bytes (or a range of them) as they are read.
pub type BlobStream = BoxStream<'static, io::Result<Bytes>>;

/// Where blobs live: `file://DIR` or `s3://BUCKET[/PREFIX]`, as `serve --blobs` takes it.
#[derive(Debug)]
pub enum BlobStore {
    Fs(FsStore),
    S3(S3Store),
}

impl From<FsStore> for BlobStore {
    fn from(s: FsStore) -> BlobStore {
        BlobStore::Fs(s)
    }
}

impl From<S3Store> for BlobStore {
    fn from(s: S3Store) -> BlobStore {
        BlobStore::S3(s)
    }
}

/// Forwards a call to the backend.
macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            BlobStore::Fs($s) => $e,
            BlobStore::S3($s) => $e,
        }
    };
}

impl BlobStore {
    /// Opens the store a `--blobs` URL names: `file://DIR` (a path alone works too) or
    /// `s3://BUCKET[/PREFIX]`, whose endpoint and credentials come from the usual `AWS_*`
    /// environment variables (see [`S3Config::from_env`]).
    pub async fn open(url: &str) -> Result<BlobStore, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("--blobs {url}: no bucket name after s3://"));
            }
            let config = S3Config::from_env(bucket, prefix.trim_matches('/'));
            return S3Store::open(config)
                .await
                .map(BlobStore::S3)
                .map_err(|e| format!("--blobs {url}: {e}"));
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("file://") {
            return Err(format!(
                "--blobs {url}: expected file://DIR or s3://BUCKET/PREFIX"
            ));
        }
        FsStore::open(path)
            .await
            .map(BlobStore::Fs)
            .map_err(|e| format!("--blobs {url}: {e}"))
    }

    /// The blob's size, if it is stored.
    pub async fn stat(&self, d: &Digest) -> Result<Option<u64>, StoreError> {
        each!(self, s => s.stat(d).await)
    }

    /// `count` bytes of the blob from byte `start` (the caller knows its size from
    /// [`BlobStore::stat`]); `None` when it is not stored.
    pub async fn read(
        &self,
        d: &Digest,
        start: u64,
        count: u64,
    ) -> Result<Option<BlobStream>, StoreError> {
        each!(self, s => s.read(d, start, count).await)
    }

    /// The whole blob in memory (manifests: at most 4 MiB); `None` when it is not stored.
    pub async fn read_all(&self, d: &Digest, limit: u64) -> Result<Option<Bytes>, StoreError> {
        use futures_util::TryStreamExt;
        let Some(size) = self.stat(d).await? else {
            return Ok(None);
        };
        if size > limit {
            return Err(io::Error::other(format!("{d} is {size} bytes, over {limit}")).into());
        }
        let Some(stream) = self.read(d, 0, size).await? else {
            return Ok(None);
        };
        let chunks: Vec<Bytes> = stream.try_collect().await?;
        Ok(Some(chunks.concat().into()))
    }

    /// Stores the bytes of `r` as blob `expected` if they hash to it (and have
    /// `expected_size` bytes, when given); returns the size. Nothing is visible otherwise.
    pub async fn put(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        r: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.put(expected, expected_size, r).await)
    }

    /// Deletes a blob; `false` when it was not stored.
    pub async fn delete(&self, d: &Digest) -> Result<bool, StoreError> {
        each!(self, s => s.delete(d).await)
    }

    /// Starts a resumable upload session.
    pub async fn start_upload(&self) -> Result<UploadId, StoreError> {
        each!(self, s => s.start_upload().await)
    }

    /// Bytes received so far by an upload session, `None` when it does not exist.
    pub async fn upload_size(&self, id: &UploadId) -> Result<Option<u64>, StoreError> {
        each!(self, s => s.upload_size(id).await)
    }

    /// Appends a chunk to an upload session. With `offset`, the chunk must start exactly where
    /// the session ends (else [`StoreError::RangeMismatch`]). Returns the new size; what a
    /// client was told it sent survives a crash of the server.
    pub async fn append(
        &self,
        id: &UploadId,
        offset: Option<u64>,
        r: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.append(id, offset, r).await)
    }

    /// Completes an upload session as blob `expected`: the whole session is hashed (a session
    /// may span restarts, so no hash state is trusted) and verified before it is visible. On
    /// a digest mismatch the session is removed.
    pub async fn finish(&self, id: &UploadId, expected: &Digest) -> Result<u64, StoreError> {
        each!(self, s => s.finish(id, expected).await)
    }

    /// Cancels an upload session; `false` when it did not exist.
    pub async fn cancel(&self, id: &UploadId) -> Result<bool, StoreError> {
        each!(self, s => s.cancel(id).await)
    }

    /// Removes blobs that `referenced` does not name and abandoned upload sessions, each only
    /// when untouched for `grace`: a blob pushed (or pushed again) just before a collection is
    /// never collected before the manifest that refers to it arrives.
    pub async fn gc(
        &self,
        referenced: &(dyn Fn(&Digest) -> bool + Sync),
        grace: Duration,
    ) -> Result<GcReport, StoreError> {
        each!(self, s => s.gc(referenced, grace).await)
    }
}
