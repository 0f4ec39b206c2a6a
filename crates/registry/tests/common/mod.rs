//! What the registry's tests share: the second metadata backend (PostgreSQL) and the second
//! blob backend (an S3-compatible server), both started on loopback by `scripts/setup.sh`.
//! Without them a test skips that backend with a message, except under
//! `EDGECERT_REQUIRE_SERVICES=1` (CI), where it fails.
//!
//! Deliberately panicking: test support.

#![allow(dead_code)]

use edgecert_registry::meta::Meta;
use edgecert_registry::store::{BlobStore, FsStore, S3Config, S3Store};

fn required(what: &str) -> bool {
    assert!(
        std::env::var("EDGECERT_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "{what} is required (EDGECERT_REQUIRE_SERVICES=1): run scripts/setup.sh"
    );
    eprintln!("SKIP: {what} is not set; run scripts/setup.sh");
    false
}

/// 8 hex digits, different per call (names of test databases and bucket prefixes).
pub fn short_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let mix = (t.subsec_nanos() ^ std::process::id().rotate_left(16))
        .wrapping_add(N.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9));
    format!("{mix:08x}")
}

/// A fresh, empty PostgreSQL database on the server `EDGECERT_TEST_POSTGRES` names.
pub async fn postgres() -> Option<String> {
    use sqlx::Connection as _;
    let Some(admin) = std::env::var("EDGECERT_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        required("EDGECERT_TEST_POSTGRES");
        return None;
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    let name = format!("t_{}_{}", short_id(), short_id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

pub async fn sqlite(dir: &std::path::Path) -> Meta {
    let url = format!("sqlite://{}?mode=rwc", dir.join("meta.db").display());
    Meta::connect(&url).await.unwrap()
}

/// A fresh prefix in the test bucket of the S3-compatible server `EDGECERT_TEST_S3_ENDPOINT`
/// names.
pub fn s3_config() -> Option<S3Config> {
    let Ok(endpoint) = std::env::var("EDGECERT_TEST_S3_ENDPOINT") else {
        required("EDGECERT_TEST_S3_ENDPOINT");
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
