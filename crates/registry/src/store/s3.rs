//! The content-addressed blob store on S3-compatible object storage (`--blobs s3://…`), through
//! the `object_store` crate (Apache Arrow's), for scale-out: any number of `serve` processes
//! share one bucket.
//!
//! Layout under the prefix:
//! - `blobs/<algorithm>/<first two hex>/<hex>`: verified blobs, each stored once;
//! - `uploads/<id>/session`: an upload session exists (empty marker);
//! - `uploads/<id>/<offset, 20 digits>`: each chunk a session received, as its own object
//!   (objects cannot be appended to): the session's size is the sum of its chunks, so it
//!   survives a restart, `kill -9` included.
//!
//! Verified before visible: a blob is written to its final key as a **multipart upload**,
//! hashed on the way, and the upload is completed only when digest and size match (aborted
//! otherwise). An object is visible only once its multipart upload completes, so no reader
//! ever sees a partial or unverified blob, and no server-side copy is needed. A blob under a
//! few MiB is held in memory, verified and written with one `PUT`. Pushing an existing blob
//! again rewrites the same bytes, which refreshes its modification time: the collector's
//! grace period is measured from it, as on a filesystem.
//!
//! A chunk interrupted by a crash leaves an incomplete multipart upload, invisible and not
//! counted in the session; S3 removes those by the bucket's lifecycle rule
//! (`AbortIncompleteMultipartUpload`), which operators set on the bucket.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{BlobStream, GcReport, StoreError, UploadId};
use crate::digest::{Algorithm, Digest, Hasher};

/// Part size of multipart uploads (S3's minimum is 5 MiB) and the size under which a blob is
/// verified in memory and written with one request.
const PART: usize = 8 * 1024 * 1024;
/// Parts in flight at once per upload.
const PARTS_IN_FLIGHT: usize = 4;
const READ_BUF: usize = 256 * 1024;

/// Where the bucket is and how to sign requests.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`); empty for the bucket's root.
    pub prefix: String,
    /// `http://host:port` of an S3-compatible server; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

impl S3Config {
    /// The S3 client this configuration describes (no request made yet).
    pub fn client(&self) -> Result<AmazonS3, StoreError> {
        // For https endpoints: rustls with ring, as everywhere in edgecert.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &self.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(k), Some(s)) = (&self.access_key, &self.secret_key) {
            b = b.with_access_key_id(k).with_secret_access_key(s);
        }
        Ok(b.build()?)
    }

    /// The bucket and prefix given, the rest from the environment variables AWS tools use:
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`), `AWS_REGION` (or `AWS_DEFAULT_REGION`),
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env(bucket: &str, prefix: &str) -> S3Config {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: var(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]),
            region: var(&["AWS_REGION", "AWS_DEFAULT_REGION"]),
            access_key: var(&["AWS_ACCESS_KEY_ID"]),
            secret_key: var(&["AWS_SECRET_ACCESS_KEY"]),
        }
    }
}

#[derive(Debug)]
pub struct S3Store {
    os: Arc<dyn ObjectStore>,
    prefix: Key,
    /// Upload sessions with a request writing to them in this process.
    busy: super::Writers,
    /// Held while a blob is completed and while the collector decides on and removes one.
    publishing: tokio::sync::Mutex<()>,
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// An object being written: held in memory up to [`PART`] bytes, then a multipart upload.
/// Nothing is visible until [`ObjectWriter::commit`].
struct ObjectWriter {
    os: Arc<dyn ObjectStore>,
    key: Key,
    small: Vec<u8>,
    multipart: Option<WriteMultipart>,
    len: u64,
}

impl ObjectWriter {
    fn new(os: Arc<dyn ObjectStore>, key: Key) -> ObjectWriter {
        ObjectWriter {
            os,
            key,
            small: Vec::new(),
            multipart: None,
            len: 0,
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.len += data.len() as u64;
        if self.multipart.is_none() && self.small.len() + data.len() <= PART {
            self.small.extend_from_slice(data);
            return Ok(());
        }
        if self.multipart.is_none() {
            let upload = self.os.put_multipart(&self.key).await?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
            w.write(&std::mem::take(&mut self.small));
            self.multipart = Some(w);
        }
        let w = self.multipart.as_mut().expect("started above");
        w.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        w.write(data);
        Ok(())
    }

    /// Makes the object visible, whole.
    async fn commit(self) -> Result<u64, StoreError> {
        match self.multipart {
            Some(w) => {
                w.finish().await?;
            }
            None => {
                self.os
                    .put(&self.key, PutPayload::from(Bytes::from(self.small)))
                    .await?;
            }
        }
        Ok(self.len)
    }

    async fn abort(self) {
        if let Some(w) = self.multipart {
            let _ = w.abort().await;
        }
    }
}

/// A blob being written and hashed.
struct BlobWriter {
    w: ObjectWriter,
    hasher: Hasher,
}

impl BlobWriter {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(data);
        self.w.write(data).await
    }
}

impl S3Store {
    /// Connects to the bucket and checks that it answers (a listing of the prefix).
    pub async fn open(config: S3Config) -> Result<S3Store, StoreError> {
        let os: Arc<dyn ObjectStore> = Arc::new(config.client()?);
        let prefix = Key::from(config.prefix.as_str());
        let store = S3Store {
            os,
            prefix,
            busy: super::Writers::default(),
            publishing: tokio::sync::Mutex::new(()),
        };
        store
            .os
            .list_with_delimiter(Some(&store.prefix))
            .await
            .map_err(|e| io::Error::other(format!("bucket {}: {e}", config.bucket)))?;
        Ok(store)
    }

    fn key(&self, rel: &str) -> Key {
        let mut k = self.prefix.clone();
        for part in rel.split('/') {
            k = k.join(part);
        }
        k
    }

    fn blob_key(&self, d: &Digest) -> Key {
        self.key(&format!(
            "blobs/{}/{}/{}",
            d.algorithm().as_str(),
            &d.hex()[..2],
            d.hex()
        ))
    }

    fn session_dir(&self, id: &UploadId) -> Key {
        self.key(&format!("uploads/{}", id.as_str()))
    }

    pub async fn stat(&self, d: &Digest) -> Result<Option<u64>, StoreError> {
        match self.os.head(&self.blob_key(d)).await {
            Ok(m) => Ok(Some(m.size)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn read(
        &self,
        d: &Digest,
        start: u64,
        count: u64,
    ) -> Result<Option<BlobStream>, StoreError> {
        if count == 0 {
            // A zero-length range is an error to S3; an empty read needs no request.
            return Ok(self
                .stat(d)
                .await?
                .map(|_| futures_util::stream::empty().boxed()));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..start + count)),
            ..GetOptions::default()
        };
        match self.os.get_opts(&self.blob_key(d), options).await {
            Ok(r) => Ok(Some(r.into_stream().map_err(io::Error::other).boxed())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Blob `expected` is written from what `feed` sends, verified, then made visible (or
    /// dropped).
    async fn write_blob<F>(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        feed: F,
    ) -> Result<u64, StoreError>
    where
        F: AsyncFnOnce(&mut BlobWriter) -> Result<(), StoreError>,
    {
        let mut bw = BlobWriter {
            w: ObjectWriter::new(self.os.clone(), self.blob_key(expected)),
            hasher: Hasher::new(expected.algorithm()),
        };
        if let Err(e) = feed(&mut bw).await {
            bw.w.abort().await;
            return Err(e);
        }
        let BlobWriter { w, hasher } = bw;
        if let Err(e) = super::fs::verify(expected, expected_size, hasher.finish(), w.len) {
            w.abort().await;
            return Err(e);
        }
        let _publishing = self.publishing.lock().await;
        w.commit().await
    }

    pub async fn put(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        mut r: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, StoreError> {
        self.write_blob(expected, expected_size, async |bw: &mut BlobWriter| {
            let mut buf = vec![0u8; READ_BUF];
            loop {
                let k = r.read(&mut buf).await?;
                if k == 0 {
                    return Ok(());
                }
                bw.write(&buf[..k]).await?;
            }
        })
        .await
    }

    pub async fn delete(&self, d: &Digest) -> Result<bool, StoreError> {
        if self.stat(d).await?.is_none() {
            return Ok(false);
        }
        match self.os.delete(&self.blob_key(d)).await {
            Ok(()) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn start_upload(&self) -> Result<UploadId, StoreError> {
        let id = UploadId::new();
        let marker = self.session_dir(&id).join("session");
        self.os.put(&marker, PutPayload::new()).await?;
        Ok(id)
    }

    /// The session's chunks by offset with their sizes and times, `None` when it does not
    /// exist.
    async fn chunks(&self, id: &UploadId) -> Result<Option<BTreeMap<u64, (Key, u64)>>, StoreError> {
        let dir = self.session_dir(id);
        let mut listing = self.os.list(Some(&dir));
        let mut exists = false;
        let mut out = BTreeMap::new();
        while let Some(m) = listing.try_next().await? {
            match m.location.filename() {
                Some("session") => exists = true,
                Some(name) => {
                    if let Ok(offset) = name.parse::<u64>() {
                        out.insert(offset, (m.location.clone(), m.size));
                    }
                }
                None => {}
            }
        }
        Ok(exists.then_some(out))
    }

    /// The session's size: its chunks laid end to end (a chunk that does not start where the
    /// previous ends, which this store never writes, ends the count).
    fn size_of(chunks: &BTreeMap<u64, (Key, u64)>) -> u64 {
        let mut size = 0;
        for (&offset, &(_, len)) in chunks {
            if offset != size {
                break;
            }
            size += len;
        }
        size
    }

    pub async fn upload_size(&self, id: &UploadId) -> Result<Option<u64>, StoreError> {
        Ok(self.chunks(id).await?.as_ref().map(Self::size_of))
    }

    pub async fn append(
        &self,
        id: &UploadId,
        offset: Option<u64>,
        mut r: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, StoreError> {
        let _writing = self.busy.claim(id)?;
        let Some(chunks) = self.chunks(id).await? else {
            return Err(StoreError::UploadUnknown);
        };
        let size = Self::size_of(&chunks);
        if offset.is_some_and(|o| o != size) {
            return Err(StoreError::RangeMismatch { size });
        }
        let key = self.session_dir(id).join(format!("{size:020}"));
        let mut w = ObjectWriter::new(self.os.clone(), key);
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let step = match r.read(&mut buf).await {
                Ok(0) => break,
                Ok(k) => w.write(&buf[..k]).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = step {
                w.abort().await;
                return Err(e);
            }
        }
        if w.len == 0 {
            return Ok(size);
        }
        Ok(size + w.commit().await?)
    }

    async fn remove_session(&self, id: &UploadId) -> Result<(), StoreError> {
        let dir = self.session_dir(id);
        let keys: Vec<Key> = self
            .os
            .list(Some(&dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        // Chunks first, the marker last: a session never looks smaller than it is.
        for k in keys.iter().filter(|k| k.filename() != Some("session")) {
            self.delete_key(k).await?;
        }
        self.delete_key(&dir.clone().join("session")).await
    }

    async fn delete_key(&self, k: &Key) -> Result<(), StoreError> {
        match self.os.delete(k).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn finish(&self, id: &UploadId, expected: &Digest) -> Result<u64, StoreError> {
        let _writing = self.busy.claim(id)?;
        let Some(chunks) = self.chunks(id).await? else {
            return Err(StoreError::UploadUnknown);
        };
        let size = Self::size_of(&chunks);
        let keys: Vec<Key> = chunks.into_values().map(|(k, _)| k).collect();
        let os = self.os.clone();
        let result = self
            .write_blob(expected, Some(size), async |bw: &mut BlobWriter| {
                for k in &keys {
                    let mut chunk = os.get(k).await?.into_stream();
                    while let Some(bytes) = chunk.try_next().await? {
                        bw.write(&bytes).await?;
                    }
                }
                Ok(())
            })
            .await;
        match result {
            Ok(n) => {
                self.remove_session(id).await?;
                Ok(n)
            }
            Err(e @ (StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. })) => {
                self.remove_session(id).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn cancel(&self, id: &UploadId) -> Result<bool, StoreError> {
        let _writing = self.busy.claim(id)?;
        if self.chunks(id).await?.is_none() {
            return Ok(false);
        }
        self.remove_session(id).await?;
        Ok(true)
    }

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
            let base = self.key(&format!("blobs/{}", alg.as_str()));
            let listed: Vec<_> = self.os.list(Some(&base)).try_collect().await?;
            for m in listed {
                let Some(name) = m.location.filename() else {
                    continue;
                };
                let Ok(d) = format!("{}:{name}", alg.as_str()).parse::<Digest>() else {
                    continue;
                };
                report.blobs_kept += 1;
                if referenced(&d) {
                    continue;
                }
                let _publishing = self.publishing.lock().await;
                // Re-read under the lock: a push may have rewritten it since the listing.
                let fresh = match self.os.head(&m.location).await {
                    Ok(m) => SystemTime::from(m.last_modified) > cutoff,
                    Err(e) if not_found(&e) => continue,
                    Err(e) => return Err(e.into()),
                };
                if !fresh {
                    self.delete_key(&m.location).await?;
                    report.blobs_kept -= 1;
                    report.blobs_removed.push(d);
                }
            }
        }
        // Sessions: removed when nothing of them changed within the grace period.
        let uploads = self.key("uploads");
        let mut newest: BTreeMap<String, SystemTime> = BTreeMap::new();
        let listed: Vec<_> = self.os.list(Some(&uploads)).try_collect().await?;
        for m in listed {
            let Some(id) = m
                .location
                .prefix_match(&uploads)
                .and_then(|mut parts| parts.next())
            else {
                continue;
            };
            let t = SystemTime::from(m.last_modified);
            let e = newest
                .entry(id.as_ref().to_owned())
                .or_insert(SystemTime::UNIX_EPOCH);
            *e = (*e).max(t);
        }
        for (id, t) in newest {
            let Some(id) = UploadId::parse(&id) else {
                continue;
            };
            if t > cutoff || self.busy.is_writing(id.as_str()) {
                continue;
            }
            self.remove_session(&id).await?;
            report.uploads_removed += 1;
        }
        Ok(report)
    }
}
