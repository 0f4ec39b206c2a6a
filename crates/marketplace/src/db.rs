//! The marketplace's tables, next to the registry's in the same database, with their own
//! migration record (`marketplace_migrations`). Times are milliseconds since the epoch.

use edgecert_registry::meta::{Meta, MetaError, apply_migrations};
use sqlx::AnyPool;

pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
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
    ),
    (
        2,
        &[
            // The offer as it was when submitted (later edits do not change what was judged)
            // and the image's digest once ingested.
            "ALTER TABLE submissions ADD COLUMN offer TEXT",
            "ALTER TABLE submissions ADD COLUMN digest TEXT",
            "CREATE TABLE reports (submission TEXT PRIMARY KEY, report TEXT NOT NULL, \
             sbom TEXT, created_at BIGINT NOT NULL)",
            // A version that went live, and the tags the go-live step wrote for it.
            "CREATE TABLE releases (identifier TEXT NOT NULL, version TEXT NOT NULL, \
             submission TEXT NOT NULL, digest TEXT NOT NULL, tags TEXT NOT NULL, \
             live_at BIGINT NOT NULL, PRIMARY KEY (identifier, version))",
            // The catalog entry: the listing of the newest live version.
            "CREATE TABLE catalog (identifier TEXT PRIMARY KEY, publisher TEXT NOT NULL, \
             submission TEXT NOT NULL, version TEXT NOT NULL, offer TEXT NOT NULL, \
             report TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        ],
    ),
    (
        3,
        &[
            // What a job works on besides its subject (a policy version, a delivery channel);
            // the subject (`submission`) is a submission, or a notification for deliveries.
            "ALTER TABLE jobs ADD COLUMN payload TEXT",
            "CREATE TABLE publisher_settings (publisher TEXT PRIMARY KEY, webhook_url TEXT, \
             webhook_secret TEXT, email TEXT, updated_at BIGINT NOT NULL)",
            "CREATE TABLE policies (version TEXT PRIMARY KEY, policy TEXT NOT NULL, \
             effective_at BIGINT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE recertifications (policy_version TEXT NOT NULL, identifier TEXT NOT NULL, \
             version TEXT NOT NULL, submission TEXT NOT NULL, verdict TEXT NOT NULL, \
             failing TEXT NOT NULL, report TEXT NOT NULL, created_at BIGINT NOT NULL, \
             PRIMARY KEY (policy_version, identifier, version))",
            "CREATE TABLE notifications (id TEXT PRIMARY KEY, publisher TEXT NOT NULL, \
             kind TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, \
             created_at BIGINT NOT NULL, read_at BIGINT)",
            "CREATE TABLE deliveries (notification TEXT NOT NULL, channel TEXT NOT NULL, \
             state TEXT NOT NULL, attempts BIGINT NOT NULL, error TEXT, \
             updated_at BIGINT NOT NULL, PRIMARY KEY (notification, channel))",
        ],
    ),
];

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

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
