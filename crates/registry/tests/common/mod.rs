//! What the registry's tests share: the second metadata backend (PostgreSQL) and the second
//! blob backend (an S3-compatible server), both started on loopback by `scripts/setup.sh`.
//! Without them a test skips that backend with a message, except under
//! `EDGECERT_REQUIRE_SERVICES=1` (CI), where it fails.
//!
//! Deliberately panicking: test support.

#![allow(dead_code)]

use edgecert_registry::meta::Meta;
use edgecert_registry::store::{BlobStore, FsStore, S3Config, S3Store};

pub use edgecert_registry::test_support::{fresh_postgres as postgres, missing, short_id};

pub async fn sqlite(dir: &std::path::Path) -> Meta {
    let url = format!("sqlite://{}?mode=rwc", dir.join("meta.db").display());
    Meta::connect(&url).await.unwrap()
}

/// A fresh prefix in the test bucket of the S3-compatible server `EDGECERT_TEST_S3_ENDPOINT`
/// names.
pub fn s3_config() -> Option<S3Config> {
    let Ok(endpoint) = std::env::var("EDGECERT_TEST_S3_ENDPOINT") else {
        missing("EDGECERT_TEST_S3_ENDPOINT");
        return None;
    };
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} (scripts/setup.sh)"));
    Some(S3Config {
        bucket: var("EDGECERT_TEST_S3_BUCKET"),
        // Short: s3s-fs keeps each object's metadata in a file named after the base64 of its
        // whole key, so a key over about 150 bytes fails there (ENAMETOOLONG) while S3 takes
        // 1024; a sha512 blob's key is 144 bytes before the prefix.
        prefix: short_id(),
        endpoint: Some(endpoint),
        region: None,
        access_key: Some(var("EDGECERT_TEST_S3_ACCESS_KEY")),
        secret_key: Some(var("EDGECERT_TEST_S3_SECRET_KEY")),
    })
}

/// Which pair of backends a registry under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backends {
    /// The embedded default: SQLite and a blob directory.
    Embedded,
    /// Scale-out: PostgreSQL and S3-compatible object storage.
    ScaleOut,
}

/// Metadata and blob store of `which` (files under `dir`); `None` when a service is missing
/// (and not required).
pub async fn open(which: Backends, dir: &std::path::Path) -> Option<(Meta, BlobStore)> {
    match which {
        Backends::Embedded => Some((
            sqlite(dir).await,
            FsStore::open(dir.join("blobs")).await.unwrap().into(),
        )),
        Backends::ScaleOut => {
            let url = postgres().await?;
            let config = s3_config()?;
            Some((
                Meta::connect(&url).await.unwrap(),
                S3Store::open(config).await.unwrap().into(),
            ))
        }
    }
}
