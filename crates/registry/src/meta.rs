//! Registry metadata in SQL: repositories, the blobs each repository may serve, manifests
//! (with the blobs and manifests they refer to, and their OCI subject for the referrers API),
//! tags, and upload sessions. One code path for SQLite (the embedded default) and PostgreSQL,
//! through sqlx's `Any` driver: portable SQL only (`TEXT`, `BIGINT`, `ON CONFLICT`), and
//! placeholders `$1, $2, …` each used once and in order, which both drivers read the same way.
//!
//! Migrations are the numbered statements of [`MIGRATIONS`], applied in order at start inside
//! a transaction each and recorded in `schema_migrations`; a migration is never edited once
//! released, only followed by another.
//!
//! Tag rules live here, not in handlers, so that every writer obeys them: in repositories
//! where exact tags are immutable, setting an exact `X.Y.Z` tag to another digest is
//! [`MetaError::TagImmutable`], decided by one conditional statement so that of concurrent
//! writers exactly one wins.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow, install_default_drivers};
use sqlx::{AnyPool, Row};

use crate::digest::Digest;

/// Each migration: a version and its statements.
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE repositories (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)",
            "CREATE TABLE repository_blobs (repository TEXT NOT NULL, digest TEXT NOT NULL, \
         size BIGINT NOT NULL, PRIMARY KEY (repository, digest))",
            "CREATE TABLE manifests (repository TEXT NOT NULL, digest TEXT NOT NULL, \
         media_type TEXT NOT NULL, size BIGINT NOT NULL, subject TEXT, artifact_type TEXT, \
         created_at BIGINT NOT NULL, PRIMARY KEY (repository, digest))",
            "CREATE TABLE manifest_refs (repository TEXT NOT NULL, manifest TEXT NOT NULL, \
         target TEXT NOT NULL, PRIMARY KEY (repository, manifest, target))",
            "CREATE TABLE tags (repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, \
         updated_at BIGINT NOT NULL, PRIMARY KEY (repository, tag))",
            "CREATE INDEX manifests_subject ON manifests (repository, subject)",
            "CREATE TABLE uploads (id TEXT PRIMARY KEY, repository TEXT NOT NULL, \
         created_at BIGINT NOT NULL)",
        ],
    ),
    (
        2,
        &[
            "CREATE TABLE accounts (name TEXT PRIMARY KEY, role TEXT NOT NULL, publisher TEXT, \
             created_at BIGINT NOT NULL)",
            "CREATE TABLE tokens (hash TEXT PRIMARY KEY, account TEXT NOT NULL, \
             created_at BIGINT NOT NULL)",
        ],
    ),
    (
        3,
        &[
            "CREATE TABLE pulls (repository TEXT NOT NULL, tag TEXT NOT NULL, day TEXT NOT NULL, \
           count BIGINT NOT NULL, PRIMARY KEY (repository, tag, day))",
        ],
    ),
    (
        4,
        &[
            // A manifest's `annotations` object (JSON), which the referrers API repeats.
            "ALTER TABLE manifests ADD COLUMN annotations TEXT",
        ],
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("tag {tag} is an exact version and already points at {current}: it never changes")]
    TagImmutable { tag: String, current: String },
    #[error("metadata database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("metadata database holds an invalid digest: {0}")]
    Corrupt(String),
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
    /// The manifest's `annotations` (a JSON object), where the query asked for them.
    pub annotations: Option<String>,
}

/// What a manifest PUT records.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub digest: &'a Digest,
    pub media_type: &'a str,
    pub size: u64,
    pub subject: Option<&'a Digest>,
    pub artifact_type: Option<&'a str>,
    /// Its `annotations` object as JSON.
    pub annotations: Option<&'a str>,
    /// Blobs (config, layers) and child manifests it refers to.
    pub refs: &'a [Digest],
}

/// `X.Y.Z`, non-negative integers without leading zeros (EC601's exact version).
pub fn is_exact_version(tag: &str) -> bool {
    let parts: Vec<&str> = tag.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn digest(s: String) -> Result<Digest, MetaError> {
    Digest::from_str(&s).map_err(|_| MetaError::Corrupt(s))
}

/// A row of `SELECT digest, media_type, size, artifact_type FROM manifests`.
fn manifest_row(r: &AnyRow) -> Result<ManifestRow, MetaError> {
    Ok(ManifestRow {
        digest: digest(r.get(0))?,
        media_type: r.get(1),
        size: r.get::<i64, _>(2) as u64,
        artifact_type: r.get(3),
        annotations: r.try_get::<Option<String>, _>(4).ok().flatten(),
    })
}

/// A row of `SELECT name, role, publisher FROM accounts`.
fn account_row(r: &AnyRow) -> AccountRow {
    AccountRow {
        name: r.get(0),
        role: r.get(1),
        publisher: r.get(2),
    }
}

#[derive(Debug, Clone)]
pub struct Meta {
    pool: AnyPool,
    sqlite: bool,
}

/// Applies the `migrations` not yet recorded in `table` (created if missing), each in one
/// transaction with its record. Other components keep their own table and numbering (the
/// marketplace: `marketplace_migrations`). On PostgreSQL, processes starting at once (a
/// `serve` and its workers) take turns under an advisory lock: one applies, the others find
/// the work done.
pub async fn apply_migrations(
    pool: &AnyPool,
    postgres: bool,
    table: &str,
    migrations: &[(i64, &[&'static str])],
) -> Result<(), MetaError> {
    /// The advisory lock's key: "edgecert" in ASCII.
    const LOCK: i64 = 0x6564_6765_6365_7274;
    let mut conn = pool.acquire().await?;
    if postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let applied = migrate_on(&mut conn, table, migrations).await;
    if postgres {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // Never hand a connection that may hold the lock back to the pool.
            let _ = conn.detach();
        }
    }
    applied
}

async fn migrate_on(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    migrations: &[(i64, &[&'static str])],
) -> Result<(), MetaError> {
    use sqlx::Connection as _;
    let sql = |s: String| sqlx::AssertSqlSafe(s);
    sqlx::query(sql(format!(
        "CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
    )))
    .execute(&mut *conn)
    .await?;
    for (version, statements) in migrations {
        let mut tx = conn.begin().await?;
        let done = sqlx::query(sql(format!(
            "SELECT version FROM {table} WHERE version = $1"
        )))
        .bind(*version)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if done {
            continue;
        }
        for s in *statements {
            sqlx::query(*s).execute(&mut *tx).await?;
        }
        sqlx::query(sql(format!(
            "INSERT INTO {table} (version, applied_at) VALUES ($1, $2)"
        )))
        .bind(*version)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

impl Meta {
    /// Connects (`sqlite://PATH?mode=rwc`, `postgres://…`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Meta, MetaError> {
        install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite serializes writers anyway; one connection avoids SQLITE_BUSY between them.
            .max_connections(if sqlite { 1 } else { 16 })
            .connect(url)
            .await?;
        let meta = Meta { pool, sqlite };
        apply_migrations(&meta.pool, !sqlite, "schema_migrations", MIGRATIONS).await?;
        Ok(meta)
    }

    /// The connection pool, for components that keep their own tables in the same database
    /// (the marketplace).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database is SQLite (one process runs jobs) rather than PostgreSQL.
    pub fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    pub async fn ensure_repository(&self, name: &str) -> Result<(), MetaError> {
        sqlx::query(
            "INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn repository_exists(&self, name: &str) -> Result<bool, MetaError> {
        Ok(sqlx::query("SELECT name FROM repositories WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Makes blob `d` servable from `repository`.
    pub async fn link_blob(
        &self,
        repository: &str,
        d: &Digest,
        size: u64,
    ) -> Result<(), MetaError> {
        self.ensure_repository(repository).await?;
        sqlx::query(
            "INSERT INTO repository_blobs (repository, digest, size) VALUES ($1, $2, $3) \
             ON CONFLICT (repository, digest) DO NOTHING",
        )
        .bind(repository)
        .bind(d.to_string())
        .bind(size as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The size of blob `d` if `repository` may serve it.
    pub async fn linked_blob(
        &self,
        repository: &str,
        d: &Digest,
    ) -> Result<Option<u64>, MetaError> {
        let row =
            sqlx::query("SELECT size FROM repository_blobs WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(d.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) as u64))
    }

    pub async fn unlink_blob(&self, repository: &str, d: &Digest) -> Result<bool, MetaError> {
        let r = sqlx::query("DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2")
            .bind(repository)
            .bind(d.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Records a manifest and what it refers to (idempotent).
    pub async fn put_manifest(
        &self,
        repository: &str,
        m: &NewManifest<'_>,
    ) -> Result<(), MetaError> {
        self.ensure_repository(repository).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO manifests (repository, digest, media_type, size, subject, artifact_type, created_at, annotations) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repository, digest) DO NOTHING",
        )
        .bind(repository)
        .bind(m.digest.to_string())
        .bind(m.media_type)
        .bind(m.size as i64)
        .bind(m.subject.map(|s| s.to_string()))
        .bind(m.artifact_type)
        .bind(now())
        .bind(m.annotations)
        .execute(&mut *tx)
        .await?;
        for target in m.refs {
            sqlx::query(
                "INSERT INTO manifest_refs (repository, manifest, target) VALUES ($1, $2, $3) \
                 ON CONFLICT (repository, manifest, target) DO NOTHING",
            )
            .bind(repository)
            .bind(m.digest.to_string())
            .bind(target.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn manifest(
        &self,
        repository: &str,
        d: &Digest,
    ) -> Result<Option<ManifestRow>, MetaError> {
        let row = sqlx::query(
            "SELECT digest, media_type, size, artifact_type FROM manifests WHERE repository = $1 AND digest = $2",
        )
        .bind(repository)
        .bind(d.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| manifest_row(&r)).transpose()
    }

    /// The digest a tag points at.
    pub async fn tag(&self, repository: &str, tag: &str) -> Result<Option<Digest>, MetaError> {
        let row = sqlx::query("SELECT digest FROM tags WHERE repository = $1 AND tag = $2")
            .bind(repository)
            .bind(tag)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| digest(r.get(0))).transpose()
    }

    /// Points `tag` at `d`. With `exact_immutable`, an exact version tag that points elsewhere
    /// is never moved: the write is one conditional statement, so concurrent writers race in
    /// the database and exactly one digest wins.
    pub async fn set_tag(
        &self,
        repository: &str,
        tag: &str,
        d: &Digest,
        exact_immutable: bool,
    ) -> Result<(), MetaError> {
        let frozen = exact_immutable && is_exact_version(tag);
        let sql = if frozen {
            "INSERT INTO tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (repository, tag) DO NOTHING"
        } else {
            "INSERT INTO tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at"
        };
        sqlx::query(sql)
            .bind(repository)
            .bind(tag)
            .bind(d.to_string())
            .bind(now())
            .execute(&self.pool)
            .await?;
        if frozen {
            let current = self.tag(repository, tag).await?;
            if let Some(current) = current.filter(|c| c != d) {
                return Err(MetaError::TagImmutable {
                    tag: tag.to_owned(),
                    current: current.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Points `tag` at `d` only if it still points at `expected` (`None`: only if it does not
    /// exist): one conditional statement, so of concurrent movers that read the same state
    /// exactly one wins and the others see `false` and decide again on what is there now.
    pub async fn move_tag(
        &self,
        repository: &str,
        tag: &str,
        d: &Digest,
        expected: Option<&Digest>,
    ) -> Result<bool, MetaError> {
        let r = match expected {
            None => sqlx::query(
                "INSERT INTO tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (repository, tag) DO NOTHING",
            )
            .bind(repository)
            .bind(tag)
            .bind(d.to_string())
            .bind(now())
            .execute(&self.pool)
            .await?,
            Some(old) => {
                sqlx::query(
                    "UPDATE tags SET digest = $3, updated_at = $4 \
                     WHERE repository = $1 AND tag = $2 AND digest = $5",
                )
                .bind(repository)
                .bind(tag)
                .bind(d.to_string())
                .bind(now())
                .bind(old.to_string())
                .execute(&self.pool)
                .await?
            }
        };
        Ok(r.rows_affected() == 1)
    }

    /// The tags of `repository` that point at `d`, in lexical order.
    pub async fn tags_at(&self, repository: &str, d: &Digest) -> Result<Vec<String>, MetaError> {
        let rows =
            sqlx::query("SELECT tag FROM tags WHERE repository = $1 AND digest = $2 ORDER BY tag")
                .bind(repository)
                .bind(d.to_string())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool, MetaError> {
        let r = sqlx::query("DELETE FROM tags WHERE repository = $1 AND tag = $2")
            .bind(repository)
            .bind(tag)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a manifest and the tags pointing at it.
    pub async fn delete_manifest(&self, repository: &str, d: &Digest) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let ds = d.to_string();
        sqlx::query("DELETE FROM tags WHERE repository = $1 AND digest = $2")
            .bind(repository)
            .bind(&ds)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM manifest_refs WHERE repository = $1 AND manifest = $2")
            .bind(repository)
            .bind(&ds)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM manifests WHERE repository = $1 AND digest = $2")
            .bind(repository)
            .bind(&ds)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    /// Tags of a repository in lexical order, after `last`, at most `n`.
    pub async fn tags(
        &self,
        repository: &str,
        last: Option<&str>,
        n: Option<u32>,
    ) -> Result<Vec<String>, MetaError> {
        let limit = i64::from(n.unwrap_or(u32::MAX).min(100_000));
        let rows = sqlx::query(
            "SELECT tag FROM tags WHERE repository = $1 AND tag > $2 ORDER BY tag LIMIT $3",
        )
        .bind(repository)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Manifests whose subject is `subject`, optionally of one artifact type.
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &Digest,
    ) -> Result<Vec<ManifestRow>, MetaError> {
        let rows = sqlx::query(
            "SELECT digest, media_type, size, artifact_type, annotations FROM manifests \
             WHERE repository = $1 AND subject = $2 ORDER BY digest",
        )
        .bind(repository)
        .bind(subject.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(manifest_row).collect()
    }

    /// Whether any repository's manifest or blob link names `d` (the collector's question).
    pub async fn referenced(&self) -> Result<std::collections::HashSet<String>, MetaError> {
        let mut set = std::collections::HashSet::new();
        for sql in [
            "SELECT digest FROM repository_blobs",
            "SELECT digest FROM manifests",
            "SELECT target FROM manifest_refs",
        ] {
            for r in sqlx::query(sql).fetch_all(&self.pool).await? {
                set.insert(r.get::<String, _>(0));
            }
        }
        Ok(set)
    }

    pub async fn add_upload(&self, id: &str, repository: &str) -> Result<(), MetaError> {
        sqlx::query("INSERT INTO uploads (id, repository, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(repository)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The repository an upload session belongs to.
    pub async fn upload_repository(&self, id: &str) -> Result<Option<String>, MetaError> {
        let row = sqlx::query("SELECT repository FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Upload sessions started more than `age` seconds ago.
    pub async fn uploads_older_than(&self, age: u64) -> Result<Vec<String>, MetaError> {
        let rows = sqlx::query("SELECT id FROM uploads WHERE created_at < $1")
            .bind(now() - age.min(i64::MAX as u64) as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn remove_upload(&self, id: &str) -> Result<(), MetaError> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_versions() {
        for t in ["1.0.0", "0.0.1", "10.20.30"] {
            assert!(is_exact_version(t), "{t}");
        }
        for t in [
            "1.0",
            "1",
            "latest",
            "01.0.0",
            "1.0.0-arm",
            "1.0.0.0",
            "1..0",
            "v1.0.0",
        ] {
            assert!(!is_exact_version(t), "{t}");
        }
    }
}

/// An account as stored: name, role (`admin`, `publisher`, `reviewer`), publisher of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub role: String,
    pub publisher: Option<String>,
}

impl Meta {
    /// Creates an account; `false` when the name is taken.
    pub async fn add_account(&self, a: &AccountRow) -> Result<bool, MetaError> {
        let r = sqlx::query(
            "INSERT INTO accounts (name, role, publisher, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&a.name)
        .bind(&a.role)
        .bind(a.publisher.as_deref())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn account(&self, name: &str) -> Result<Option<AccountRow>, MetaError> {
        let row = sqlx::query("SELECT name, role, publisher FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| account_row(&r)))
    }

    /// Every account, by publisher then name (admins and reviewers first: no publisher).
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, MetaError> {
        let rows = sqlx::query(
            "SELECT name, role, publisher FROM accounts ORDER BY COALESCE(publisher, ''), name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(account_row).collect())
    }

    /// Whether a publisher has any member (the publisher exists).
    pub async fn publisher_exists(&self, publisher: &str) -> Result<bool, MetaError> {
        Ok(
            sqlx::query("SELECT name FROM accounts WHERE publisher = $1")
                .bind(publisher)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Records a token by its hash.
    pub async fn add_token(&self, hash: &str, account: &str) -> Result<(), MetaError> {
        sqlx::query("INSERT INTO tokens (hash, account, created_at) VALUES ($1, $2, $3)")
            .bind(hash)
            .bind(account)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account a token hash belongs to.
    pub async fn token_account(&self, hash: &str) -> Result<Option<AccountRow>, MetaError> {
        let row = sqlx::query(
            "SELECT a.name, a.role, a.publisher FROM tokens t JOIN accounts a ON a.name = t.account \
             WHERE t.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| account_row(&r)))
    }
}

/// Pulls of one repository's tag on one day (UTC, `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PullKey {
    pub repository: String,
    pub tag: String,
    pub day: String,
}

impl Meta {
    /// Adds counted pulls (one transaction for the batch).
    pub async fn add_pulls(&self, batch: &[(PullKey, u64)]) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        for (k, n) in batch {
            sqlx::query(
                "INSERT INTO pulls (repository, tag, day, count) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repository, tag, day) DO UPDATE SET count = pulls.count + excluded.count",
            )
            .bind(&k.repository)
            .bind(&k.tag)
            .bind(&k.day)
            .bind(*n as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A repository's pull counts: `(tag, day, count)`, by tag then day.
    pub async fn pulls(&self, repository: &str) -> Result<Vec<(String, String, u64)>, MetaError> {
        let rows = sqlx::query(
            "SELECT tag, day, count FROM pulls WHERE repository = $1 ORDER BY tag, day",
        )
        .bind(repository)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) as u64))
            .collect())
    }
}
