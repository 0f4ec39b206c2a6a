//! The content-addressed blob store on a local filesystem (the embedded default, `--data DIR`).
//!
//! Layout under the root:
//! - `blobs/<algorithm>/<first two hex>/<hex>`: verified blobs, each stored once whatever
//!   repositories refer to it;
//! - `tmp/<random>`: a monolithic upload being written;
//! - `uploads/<id>`: a resumable upload session's bytes so far (its length is the offset the
//!   next chunk must start at, so a session survives a restart, `kill -9` included).
//!
//! A blob becomes visible only by `rename(2)` of a file whose digest and size were verified
//! and which was `fsync`ed, followed by an `fsync` of the directory: a reader never sees a
//! partial or unverified blob. Pushing bytes whose blob already exists still verifies them,
//! then keeps the existing file and refreshes its modification time, which is what the
//! garbage collector's grace period is measured from: a blob pushed (or pushed again) just
//! before a collection is never collected before the manifest that refers to it arrives —
//! the race CNCF distribution's offline GC is known for.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{GcReport, StoreError, UploadId};
use crate::digest::{Algorithm, Digest, Hasher};

const BUF: usize = 256 * 1024;

#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    /// Upload sessions with a request writing to them: a second concurrent writer is refused.
    busy: super::Writers,
    /// Held while a blob is published (or its time refreshed) and while the collector decides
    /// on and removes one: a push can never refresh a blob the collector is removing.
    publishing: tokio::sync::Mutex<()>,
}

async fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

/// Copies `r` into `file`, hashing; returns (bytes, digest).
async fn copy_hashing(
    r: &mut (impl AsyncRead + Unpin),
    file: &mut tokio::fs::File,
    mut hasher: Option<&mut Hasher>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; BUF];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf).await?;
        if k == 0 {
            return Ok(n);
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..k]);
        }
        file.write_all(&buf[..k]).await?;
        n += k as u64;
    }
}

fn modified(meta: &std::fs::Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

impl FsStore {
    /// Opens (creating) the store at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> io::Result<FsStore> {
        let root = root.into();
        for dir in ["blobs/sha256", "blobs/sha512", "tmp", "uploads"] {
            tokio::fs::create_dir_all(root.join(dir)).await?;
        }
        Ok(FsStore {
            root,
            busy: super::Writers::default(),
            publishing: tokio::sync::Mutex::new(()),
        })
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().as_str())
            .join(&d.hex()[..2])
            .join(d.hex())
    }

    fn upload_path(&self, id: &UploadId) -> PathBuf {
        self.root.join("uploads").join(id.as_str())
    }

    /// The blob's size, if it is stored.
    pub async fn stat(&self, d: &Digest) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.blob_path(d)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The blob for reading (seek for ranges) and its size.
    pub async fn open_blob(
        &self,
        d: &Digest,
    ) -> Result<Option<(tokio::fs::File, u64)>, StoreError> {
        match tokio::fs::File::open(self.blob_path(d)).await {
            Ok(f) => {
                let len = f.metadata().await?.len();
                Ok(Some((f, len)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `count` bytes of the blob from byte `start`, streamed; `None` when it is not stored.
    pub async fn read(
        &self,
        d: &Digest,
        start: u64,
        count: u64,
    ) -> Result<Option<super::BlobStream>, StoreError> {
        use futures_util::StreamExt;
        use tokio::io::AsyncSeekExt;
        let Some((mut file, _)) = self.open_blob(d).await? else {
            return Ok(None);
        };
        if start > 0 {
            file.seek(io::SeekFrom::Start(start)).await?;
        }
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(count), BUF);
        Ok(Some(stream.boxed()))
    }

    /// Moves the verified, synced file `from` into place as blob `d` (or, when `d` is already
    /// stored, removes `from` and refreshes the stored blob's modification time).
    async fn publish(&self, from: &Path, d: &Digest) -> Result<(), StoreError> {
        let to = self.blob_path(d);
        let dir = to.parent().expect("blob paths have a parent");
        let _publishing = self.publishing.lock().await;
        tokio::fs::create_dir_all(dir).await?;
        if tokio::fs::metadata(&to).await.is_ok() {
            tokio::fs::remove_file(from).await?;
            let to2 = to.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::File::options()
                    .append(true)
                    .open(to2)?
                    .set_modified(SystemTime::now())
            })
            .await
            .map_err(io::Error::other)??;
            return Ok(());
        }
        tokio::fs::rename(from, &to).await?;
        sync_dir(dir).await?;
        Ok(())
    }

    /// Stores the bytes of `r` as blob `expected` if they hash to it (and have
    /// `expected_size` bytes, when given); returns the size. Nothing is visible otherwise.
    pub async fn put(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        mut r: impl AsyncRead + Unpin,
    ) -> Result<u64, StoreError> {
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut hasher = Hasher::new(expected.algorithm());
            let n = copy_hashing(&mut r, &mut file, Some(&mut hasher)).await?;
            verify(expected, expected_size, hasher.finish(), n)?;
            file.sync_all().await?;
            drop(file);
            self.publish(&tmp, expected).await?;
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Deletes a blob; `false` when it was not stored.
    pub async fn delete(&self, d: &Digest) -> Result<bool, StoreError> {
        match tokio::fs::remove_file(self.blob_path(d)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a resumable upload session.
    pub async fn start_upload(&self) -> Result<UploadId, StoreError> {
        let id = UploadId::new();
        tokio::fs::File::create(self.upload_path(&id)).await?;
        Ok(id)
    }

    /// Bytes received so far by an upload session, `None` when it does not exist.
    pub async fn upload_size(&self, id: &UploadId) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.upload_path(id)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Appends a chunk to an upload session. With `offset`, the chunk must start exactly where
    /// the session ends (else [`StoreError::RangeMismatch`]). Returns the new size; the bytes
    /// are synced before it returns, so what a client was told it sent survives a crash.
    pub async fn append(
        &self,
        id: &UploadId,
        offset: Option<u64>,
        mut r: impl AsyncRead + Unpin,
    ) -> Result<u64, StoreError> {
        let _writing = self.busy.claim(id)?;
        let path = self.upload_path(id);
        let mut file = match tokio::fs::OpenOptions::new().append(true).open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::UploadUnknown),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        if offset.is_some_and(|o| o != size) {
            return Err(StoreError::RangeMismatch { size });
        }
        let n = copy_hashing(&mut r, &mut file, None).await?;
        file.sync_all().await?;
        Ok(size + n)
    }

    /// Completes an upload session as blob `expected`: the whole session is hashed (a session
    /// may span restarts, so no hash state is trusted), verified, synced and moved into place.
    /// On a digest mismatch the session is removed.
    pub async fn finish(&self, id: &UploadId, expected: &Digest) -> Result<u64, StoreError> {
        let _writing = self.busy.claim(id)?;
        let path = self.upload_path(id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::UploadUnknown),
            Err(e) => return Err(e.into()),
        };
        let mut hasher = Hasher::new(expected.algorithm());
        let mut buf = vec![0u8; BUF];
        let mut n = 0u64;
        loop {
            let k = file.read(&mut buf).await?;
            if k == 0 {
                break;
            }
            hasher.update(&buf[..k]);
            n += k as u64;
        }
        drop(file);
        if let Err(e) = verify(expected, None, hasher.finish(), n) {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        self.publish(&path, expected).await?;
        Ok(n)
    }

    /// Cancels an upload session; `false` when it did not exist.
    pub async fn cancel(&self, id: &UploadId) -> Result<bool, StoreError> {
        let _writing = self.busy.claim(id)?;
        match tokio::fs::remove_file(self.upload_path(id)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes blobs that `referenced` does not name and upload sessions and temporary files,
    /// all only when untouched for `grace` (see the module docs for why).
    pub async fn gc(
        &self,
        referenced: &(dyn Fn(&Digest) -> bool + Sync),
        grace: Duration,
    ) -> Result<GcReport, StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = GcReport::default();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let base = self.root.join("blobs").join(alg.as_str());
            let mut shards = tokio::fs::read_dir(&base).await?;
            while let Some(shard) = shards.next_entry().await? {
                let mut files = tokio::fs::read_dir(shard.path()).await?;
                while let Some(f) = files.next_entry().await? {
                    let name = f.file_name().to_string_lossy().into_owned();
                    let Ok(d) = format!("{}:{name}", alg.as_str()).parse::<Digest>() else {
                        continue;
                    };
                    report.blobs_kept += 1;
                    if referenced(&d) {
                        continue;
                    }
                    let _publishing = self.publishing.lock().await;
                    // Re-read under the lock: a push may have refreshed it since the listing.
                    let fresh = match tokio::fs::metadata(f.path()).await {
                        Ok(m) => modified(&m) > cutoff,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if !fresh && self.delete(&d).await? {
                        report.blobs_kept -= 1;
                        report.blobs_removed.push(d);
                    }
                }
            }
        }
        for dir in ["uploads", "tmp"] {
            let mut entries = tokio::fs::read_dir(self.root.join(dir)).await?;
            while let Some(e) = entries.next_entry().await? {
                if modified(&e.metadata().await?) > cutoff {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if dir == "uploads" && self.busy.is_writing(&name) {
                    continue;
                }
                match tokio::fs::remove_file(e.path()).await {
                    Ok(()) => report.uploads_removed += 1,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(err.into()),
                }
            }
        }
        Ok(report)
    }
}

pub(super) fn verify(
    expected: &Digest,
    size: Option<u64>,
    actual: Digest,
    n: u64,
) -> Result<(), StoreError> {
    if let Some(want) = size.filter(|&s| s != n) {
        return Err(StoreError::SizeMismatch {
            expected: want,
            actual: n,
        });
    }
    if &actual != expected {
        return Err(StoreError::DigestMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}
