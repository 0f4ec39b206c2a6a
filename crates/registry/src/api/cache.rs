//! Recently served manifests in memory, so the hot path of a pull — a manifest GET by tag —
//! costs no database query and no storage read when it repeats.
//!
//! Coherence: this process forgets a repository's entries whenever it writes a manifest or a
//! tag of it, or deletes one. Other processes sharing the database (scale-out) are bounded by
//! age: an entry lives [`SHORT`] when the tag can move (staging, rolling tags) and [`LONG`]
//! when it cannot (a digest; an exact version tag outside staging), so a delete made
//! elsewhere is seen within [`LONG`]. Size is bounded: past [`MAX_BYTES`] or [`MAX_ENTRIES`]
//! the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::digest::Digest;

pub const SHORT: Duration = Duration::from_secs(1);
pub const LONG: Duration = Duration::from_secs(30);
const MAX_BYTES: usize = 64 * 1024 * 1024;
const MAX_ENTRIES: usize = 16_384;

#[derive(Debug, Clone)]
pub struct Cached {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
    expires: Instant,
}

impl Cached {
    /// An entry served once, not kept.
    pub fn new(digest: Digest, media_type: String, bytes: Bytes) -> Cached {
        Cached {
            digest,
            media_type,
            bytes,
            expires: Instant::now(),
        }
    }
}

#[derive(Debug, Default)]
pub struct ManifestCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (repository, reference as requested) → manifest.
    map: HashMap<(String, String), Cached>,
    bytes: usize,
}

impl ManifestCache {
    pub fn get(&self, repository: &str, reference: &str) -> Option<Cached> {
        let inner = self.inner.lock().ok()?;
        let c = inner
            .map
            .get(&(repository.to_owned(), reference.to_owned()))?;
        (c.expires > Instant::now()).then(|| c.clone())
    }

    pub fn put(
        &self,
        repository: &str,
        reference: &str,
        digest: Digest,
        media_type: String,
        bytes: Bytes,
        ttl: Duration,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.bytes + bytes.len() > MAX_BYTES || inner.map.len() >= MAX_ENTRIES {
            inner.map.clear();
            inner.bytes = 0;
        }
        inner.bytes += bytes.len();
        let old = inner.map.insert(
            (repository.to_owned(), reference.to_owned()),
            Cached {
                digest,
                media_type,
                bytes,
                expires: Instant::now() + ttl,
            },
        );
        if let Some(old) = old {
            inner.bytes -= old.bytes.len();
        }
    }

    /// Drops every entry of `repository` (after a write to it).
    pub fn forget(&self, repository: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let mut freed = 0;
        inner.map.retain(|(repo, _), c| {
            let keep = repo != repository;
            if !keep {
                freed += c.bytes.len();
            }
            keep
        });
        inner.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    #[test]
    fn entries_expire_are_forgotten_per_repository_and_stay_bounded() {
        let c = ManifestCache::default();
        let d = Digest::of(Algorithm::Sha256, b"m");
        let m = Bytes::from_static(b"m");
        c.put("a", "1.0.0", d.clone(), "t".into(), m.clone(), LONG);
        c.put("b", "1.0.0", d.clone(), "t".into(), m.clone(), LONG);
        c.put(
            "a",
            "latest",
            d.clone(),
            "t".into(),
            m.clone(),
            Duration::ZERO,
        );
        assert_eq!(c.get("a", "1.0.0").unwrap().digest, d);
        assert!(c.get("a", "latest").is_none(), "expired");
        c.forget("a");
        assert!(c.get("a", "1.0.0").is_none());
        assert!(c.get("b", "1.0.0").is_some());
        assert_eq!(c.inner.lock().unwrap().bytes, 1);
        let big = Bytes::from(vec![0u8; 40 * 1024 * 1024]);
        c.put("c", "1", d.clone(), "t".into(), big.clone(), LONG);
        c.put("c", "2", d, "t".into(), big, LONG);
        let inner = c.inner.lock().unwrap();
        assert!(inner.bytes <= MAX_BYTES, "{}", inner.bytes);
        assert_eq!(inner.map.len(), 1);
    }
}
