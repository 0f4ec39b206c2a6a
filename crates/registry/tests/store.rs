//! The filesystem blob store through its public API: what becomes visible and when, resumable
//! uploads across a reopen (as after `kill -9` of `serve`), concurrent writers, and garbage
//! collection with its grace period.
//!
//! Deliberately panicking: these are test assertions.

use std::time::Duration;

use edgecert_registry::digest::{Algorithm, Digest};
use edgecert_registry::store::{FsStore, StoreError, UploadId};
use tokio::io::AsyncReadExt;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn read(store: &FsStore, d: &Digest) -> Vec<u8> {
    let (mut f, len) = store.open_blob(d).await.unwrap().expect("stored");
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf.len() as u64, len);
    buf
}

#[tokio::test]
async fn put_verifies_before_anything_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
    for alg in [Algorithm::Sha256, Algorithm::Sha512] {
        let bytes = data(700_000, 1);
        let d = Digest::of(alg, &bytes);
        let n = store
            .put(&d, Some(700_000), bytes.as_slice())
            .await
            .unwrap();
        assert_eq!(n, 700_000);
        assert_eq!(store.stat(&d).await.unwrap(), Some(700_000));
        assert_eq!(read(&store, &d).await, bytes);
    }
    // Wrong bytes for a digest: an error, and neither a blob nor a temporary file remains.
    let other = Digest::of(Algorithm::Sha256, b"something else");
    let before = files_under(dir.path()).len();
    let e = store.put(&other, None, &b"not it"[..]).await.unwrap_err();
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
    assert_eq!(files_under(dir.path()).len(), before);
}

#[tokio::test]
async fn identical_blobs_are_stored_once_even_when_pushed_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FsStore::open(dir.path()).await.unwrap());
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
    let blobs = files_under(&dir.path().join("blobs"));
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert_eq!(read(&store, &d).await, bytes);
}

#[tokio::test]
async fn chunked_upload_resumes_after_reopen_and_rejects_out_of_order_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(1_000_000, 3);
    let d = Digest::of(Algorithm::Sha256, &bytes);
    let id = {
        let store = FsStore::open(dir.path()).await.unwrap();
        let id = store.start_upload().await.unwrap();
        assert_eq!(
            store.append(&id, Some(0), &bytes[..400_000]).await.unwrap(),
            400_000
        );
        // A chunk that skips ahead, or repeats, is refused with the current size.
        let e = store
            .append(&id, Some(500_000), &bytes[500_000..])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::RangeMismatch { size: 400_000 }),
            "{e}"
        );
        let e = store.append(&id, Some(0), &bytes[..10]).await.unwrap_err();
        assert!(
            matches!(e, StoreError::RangeMismatch { size: 400_000 }),
            "{e}"
        );
        // Nothing of it is a blob yet.
        assert_eq!(store.stat(&d).await.unwrap(), None);
        id
    };
    // "Restart": a new store on the same directory knows the session and its offset.
    let store = FsStore::open(dir.path()).await.unwrap();
    let id = UploadId::parse(id.as_str()).expect("an id the store handed out parses");
    assert_eq!(store.upload_size(&id).await.unwrap(), Some(400_000));
    assert_eq!(
        store.append(&id, None, &bytes[400_000..]).await.unwrap(),
        1_000_000
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
    assert_eq!(store.finish(&id, &d).await.unwrap(), 1_000_000);
    assert_eq!(read(&store, &d).await, bytes);
    assert_eq!(store.upload_size(&id).await.unwrap(), None);
    assert!(matches!(
        store.append(&id, None, &b"late"[..]).await.unwrap_err(),
        StoreError::UploadUnknown
    ));
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
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).await.unwrap();
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
    // Within the grace period nothing goes: the orphan may be a blob whose manifest is on its way.
    let r = store
        .gc(&referenced, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        r.blobs_removed.is_empty() && r.uploads_removed == 0,
        "{r:?}"
    );
    // Past it, the orphan and the abandoned session go, the referenced blob stays.
    std::thread::sleep(Duration::from_millis(50));
    let r = store
        .gc(&referenced, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(r.blobs_removed, std::slice::from_ref(&dorphan));
    assert_eq!((r.blobs_kept, r.uploads_removed), (1, 1), "{r:?}");
    assert_eq!(store.stat(&dk).await.unwrap(), Some(1000));
    assert_eq!(store.stat(&dorphan).await.unwrap(), None);
    assert_eq!(store.upload_size(&upload).await.unwrap(), None);
    // Pushing an existing blob again restarts its grace period.
    std::thread::sleep(Duration::from_millis(50));
    store.put(&dk, None, kept.as_slice()).await.unwrap();
    let r = store
        .gc(&|_| false, Duration::from_millis(40))
        .await
        .unwrap();
    assert!(r.blobs_removed.is_empty(), "{r:?}");
}
