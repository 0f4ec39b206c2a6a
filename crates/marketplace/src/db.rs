//! The marketplace's tables, next to the registry's in the same database, with their own
//! migration record (`marketplace_migrations`). Times are milliseconds since the epoch.

use edgecert_registry::meta::{Meta, MetaError, apply_migrations};
use sqlx::AnyPool;

pub const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE offers (identifier TEXT PRIMARY KEY, publisher TEXT NOT NULL, \
         offer TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE TABLE submissions (id TEXT PRIMARY KEY, identifier TEXT NOT NULL, \
         publisher TEXT NOT NULL, source TEXT NOT NULL, version TEXT, state TEXT NOT NULL, \
         verdict TEXT, reason TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE INDEX submissions_by_state ON submissions (state, created_at)",
        "CREATE TABLE submission_events (submission TEXT NOT NULL, seq BIGINT NOT NULL, \
         at BIGINT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, \
         PRIMARY KEY (submission, seq))",
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, submission TEXT NOT NULL, step TEXT NOT NULL, \
         state TEXT NOT NULL, attempts BIGINT NOT NULL, owner TEXT, lease_until BIGINT, \
         run_after BIGINT NOT NULL, error TEXT, created_at BIGINT NOT NULL, \
         updated_at BIGINT NOT NULL)",
        "CREATE INDEX jobs_claimable ON jobs (state, run_after)",
    ],
)];

/// The marketplace's handle on the database it shares with the registry.
#[derive(Debug, Clone)]
pub struct Market {
    pub(crate) pool: AnyPool,
    /// SQLite: one process, one connection, no row locks to skip.
    pub(crate) sqlite: bool,
}

impl Market {
    /// The marketplace on the registry's database, its migrations applied.
    pub async fn open(meta: &Meta) -> Result<Market, MetaError> {
        apply_migrations(
            meta.pool(),
            !meta.is_sqlite(),
            "marketplace_migrations",
            MIGRATIONS,
        )
        .await?;
        Ok(Market {
            pool: meta.pool().clone(),
            sqlite: meta.is_sqlite(),
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
