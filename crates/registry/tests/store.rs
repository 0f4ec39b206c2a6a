//! The blob store through its public API, on both backends — a local directory and a real
//! S3-compatible server (`s3s-fs`, started on loopback by `scripts/setup.sh`): what becomes
//! visible and when, multipart writes of large blobs, resumable uploads across a reopen (as
//! after `kill -9` of `serve`), concurrent writers, and garbage collection with its grace period.
//!
//! Deliberately panicking: these are test assertions.

use std::sync::Arc;
use std::time::Duration;

mod common;

use common::s3_config;
use edgecert_registry::digest::{Algorithm, Digest};
use edgecert_registry::store::{BlobStore, FsStore, S3Config, S3Store, StoreError, UploadId};
use futures_util::TryStreamExt;
use object_store::ObjectStore;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed ^ (i >> 16) as u8)
        .collect()
}

/// One backend under test: how to open it (again), list what it holds, and how coarse its
/// modification times are.
enum Backend {
    Fs(tempfile::TempDir),
    S3 {
        config: S3Config,
        raw: Arc<dyn ObjectStore>,
    },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Fs(_) => "fs",
            Backend::S3 { .. } => "s3",
        }
    }

    async fn open(&self) -> BlobStore {
        match self {
            Backend::Fs(dir) => FsStore::open(dir.path()).await.unwrap().into(),
            Backend::S3 { config, .. } => S3Store::open(config.clone()).await.unwrap().into(),
        }
    }

    /// Every object or file the backend holds, by path relative to its root.
    async fn contents(&self) -> Vec<String> {
        match self {
            Backend::Fs(dir) => {
                let mut out = Vec::new();
                files_under(dir.path(), dir.path(), &mut out);
                out
            }
            Backend::S3 { config, raw } => {
                let prefix = object_store::path::Path::from(config.prefix.as_str());
                let metas: Vec<_> = raw.list(Some(&prefix)).try_collect().await.unwrap();
                let mut out: Vec<String> = metas
                    .iter()
                    .map(|m| {
                        m.location
                            .as_ref()
                            .strip_prefix(&format!("{}/", config.prefix))
                            .unwrap_or(m.location.as_ref())
                            .to_owned()
                    })
                    .collect();
                out.sort();
                out
            }
        }
    }

    /// A grace period that has passed after [`Backend::wait`], and the wait: S3 reports
    /// modification times to the second.
    fn tick(&self) -> (Duration, Duration) {
        match self {
            Backend::Fs(_) => (Duration::from_millis(40), Duration::from_millis(60)),
            Backend::S3 { .. } => (Duration::from_millis(2500), Duration::from_millis(3600)),
        }
    }
}

fn files_under(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().display().to_string());
        }
    }
    out.sort();
}

/// The directory backend, and the S3 backend when its server is up (a fresh prefix each).
fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Fs(tempfile::tempdir().unwrap())];
    if let Some(config) = s3_config() {
        let raw = config.client().unwrap();
        out.push(Backend::S3 {
            config,
            raw: Arc::new(raw),
        });
    }
    out
}

async fn read(store: &BlobStore, d: &Digest) -> Vec<u8> {
    let len = store.stat(d).await.unwrap().expect("stored");
    let chunks: Vec<_> = store
        .read(d, 0, len)
        .await
        .unwrap()
        .expect("stored")
        .try_collect()
        .await
        .unwrap();
    let buf = chunks.concat();
    assert_eq!(buf.len() as u64, len);
    buf
}

#[tokio::test]
async fn put_verifies_before_anything_is_visible() {
    for b in backends() {
        let store = b.open().await;
        // Small blobs (one write) and one over the multipart threshold (8 MiB parts).
        for (alg, len) in [
            (Algorithm::Sha256, 700_000),
            (Algorithm::Sha512, 700_000),
            (Algorithm::Sha256, 20_000_000),
        ] {
            let bytes = data(len, 1);
            let d = Digest::of(alg, &bytes);
            let n = store
                .put(&d, Some(len as u64), bytes.as_slice())
                .await
                .unwrap();
            assert_eq!(n, len as u64, "{}", b.name());
            assert_eq!(store.stat(&d).await.unwrap(), Some(len as u64));
            assert_eq!(read(&store, &d).await, bytes, "{}", b.name());
            // A range.
            let part: Vec<_> = store
                .read(&d, 1000, 5000)
                .await
                .unwrap()
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(part.concat(), &bytes[1000..6000], "{}", b.name());
        }
        // Wrong bytes for a digest, small and large: an error, and nothing new is stored.
        let before = b.contents().await;
        let other = Digest::of(Algorithm::Sha256, b"something else");
        let e = store.put(&other, None, &b"not it"[..]).await.unwrap_err();
        assert!(matches!(e, StoreError::DigestMismatch { .. }), "{e}");
        let big = data(17_000_000, 9);
        let e = store.put(&other, None, big.as_slice()).await.unwrap_err();
        assert!(matches!(e, StoreError::DigestMismatch { .. }), "{e}");
        assert_eq!(store.stat(&other).await.unwrap(), None);
        let e = store
            .put(&Digest::of(Algorithm::Sha256, b"abc"), Some(4), &b"abc"[..])
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::SizeMismatch {
                    expected: 4,
                    actual: 3
                }
            ),
            "{e}"
        );
        assert_eq!(b.contents().await, before, "{}", b.name());
        // The empty blob.
        let empty = Digest::of(Algorithm::Sha256, b"");
        assert_eq!(store.put(&empty, Some(0), &b""[..]).await.unwrap(), 0);
        assert_eq!(read(&store, &empty).await, b"");
    }
}

#[tokio::test]
async fn identical_blobs_are_stored_once_even_when_pushed_together() {
    for b in backends() {
        let store = Arc::new(b.open().await);
        let bytes = data(300_000, 7);
        let d = Digest::of(Algorithm::Sha256, &bytes);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, d, bytes) = (store.clone(), d.clone(), bytes.clone());
            tasks.push(tokio::spawn(async move {
                store.put(&d, None, bytes.as_slice()).await.unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 300_000);
        }
        let blob = format!("blobs/sha256/{}/{}", &d.hex()[..2], d.hex());
        let held: Vec<String> = b
            .contents()
            .await
            .into_iter()
            .filter(|p| !p.ends_with('/'))
            .collect();
        assert_eq!(held, vec![blob], "{}", b.name());
        assert_eq!(read(&store, &d).await, bytes);
    }
}

#[tokio::test]
async fn chunked_upload_resumes_after_reopen_and_rejects_out_of_order_chunks() {
    for b in backends() {
        // Over two multipart parts, in chunks that are themselves multipart on S3.
        let bytes = data(20_000_000, 3);
        let d = Digest::of(Algorithm::Sha256, &bytes);
        let cut = 9_000_000;
        let id = {
            let store = b.open().await;
            let id = store.start_upload().await.unwrap();
            assert_eq!(
                store.append(&id, Some(0), &bytes[..cut]).await.unwrap(),
                cut as u64
            );
            // A chunk that skips ahead, or repeats, is refused with the current size.
            let e = store
                .append(&id, Some(cut as u64 + 1), &bytes[cut + 1..])
                .await
                .unwrap_err();
            assert!(
                matches!(e, StoreError::RangeMismatch { size } if size == cut as u64),
                "{e}"
            );
            let e = store.append(&id, Some(0), &bytes[..10]).await.unwrap_err();
            assert!(
                matches!(e, StoreError::RangeMismatch { size } if size == cut as u64),
                "{e}"
            );
            // Nothing of it is a blob yet.
            assert_eq!(store.stat(&d).await.unwrap(), None);
            id
        };
        // "Restart": a new store on the same place knows the session and its offset.
        let store = b.open().await;
        let id = UploadId::parse(id.as_str()).expect("an id the store handed out parses");
        assert_eq!(store.upload_size(&id).await.unwrap(), Some(cut as u64));
        assert_eq!(
            store
                .append(&id, None, &bytes[cut..cut + 1000])
                .await
                .unwrap(),
            cut as u64 + 1000
        );
        assert_eq!(
            store
                .append(&id, Some(cut as u64 + 1000), &bytes[cut + 1000..])
                .await
                .unwrap(),
            20_000_000
        );
        // Finishing with the wrong digest drops the session and publishes nothing.
        let wrong = Digest::of(Algorithm::Sha256, b"x");
        let copy = store.start_upload().await.unwrap();
        store.append(&copy, Some(0), &bytes[..]).await.unwrap();
        let e = store.finish(&copy, &wrong).await.unwrap_err();
        assert!(matches!(e, StoreError::DigestMismatch { .. }), "{e}");
        assert_eq!(store.upload_size(&copy).await.unwrap(), None);
        assert_eq!(store.stat(&wrong).await.unwrap(), None);
        // The right digest publishes it and ends the session.
        assert_eq!(store.finish(&id, &d).await.unwrap(), 20_000_000);
        assert_eq!(read(&store, &d).await, bytes, "{}", b.name());
        assert_eq!(store.upload_size(&id).await.unwrap(), None);
        assert!(matches!(
            store.append(&id, None, &b"late"[..]).await.unwrap_err(),
            StoreError::UploadUnknown
        ));
        // A cancelled session is gone; nothing but the blob remains.
        let dropped = store.start_upload().await.unwrap();
        store.append(&dropped, None, &b"abc"[..]).await.unwrap();
        assert!(store.cancel(&dropped).await.unwrap());
        assert!(!store.cancel(&dropped).await.unwrap());
        let left: Vec<String> = b
            .contents()
            .await
            .into_iter()
            .filter(|p| !p.starts_with("tmp/"))
            .collect();
        assert_eq!(
            left,
            vec![format!("blobs/sha256/{}/{}", &d.hex()[..2], d.hex())],
            "{}",
            b.name()
        );
    }
}

#[tokio::test]
async fn upload_ids_from_requests_are_validated() {
    for bad in [
        "",
        "..",
        "../../etc/passwd",
        "not-a-uuid",
        "6F9619FF-8B86-D011-B42D-00C04FC964FF",
    ] {
        assert_eq!(UploadId::parse(bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn gc_removes_unreferenced_blobs_and_abandoned_uploads_only_after_the_grace_period() {
    for b in backends() {
        let (grace, wait) = b.tick();
        let store = b.open().await;
        let kept = data(1000, 1);
        let orphan = data(1000, 2);
        let (dk, dorphan) = (
            Digest::of(Algorithm::Sha256, &kept),
            Digest::of(Algorithm::Sha256, &orphan),
        );
        store.put(&dk, None, kept.as_slice()).await.unwrap();
        store.put(&dorphan, None, orphan.as_slice()).await.unwrap();
        let upload = store.start_upload().await.unwrap();
        store
            .append(&upload, Some(0), &b"partial"[..])
            .await
            .unwrap();
        let referenced = |d: &Digest| *d == dk;
        // Within the grace period nothing goes: the orphan may be a blob whose manifest is on
        // its way.
        let r = store
            .gc(&referenced, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(
            r.blobs_removed.is_empty() && r.uploads_removed == 0,
            "{}: {r:?}",
            b.name()
        );
        // Past it, the orphan and the abandoned session go, the referenced blob stays.
        tokio::time::sleep(wait).await;
        let r = store.gc(&referenced, grace).await.unwrap();
        assert_eq!(r.blobs_removed, std::slice::from_ref(&dorphan));
        assert_eq!((r.blobs_kept, r.uploads_removed), (1, 1), "{r:?}");
        assert_eq!(store.stat(&dk).await.unwrap(), Some(1000));
        assert_eq!(store.stat(&dorphan).await.unwrap(), None);
        assert_eq!(store.upload_size(&upload).await.unwrap(), None);
        // Pushing an existing blob again restarts its grace period.
        tokio::time::sleep(wait).await;
        store.put(&dk, None, kept.as_slice()).await.unwrap();
        let r = store.gc(&|_| false, grace).await.unwrap();
        assert!(r.blobs_removed.is_empty(), "{}: {r:?}", b.name());
        assert_eq!(store.stat(&dk).await.unwrap(), Some(1000));
    }
}
