//! What the pipeline keeps besides the lifecycle: each submission's report and SBOM, the
//! versions that went live with the tags written for them, and the catalog entry (the listing
//! of an identifier's newest live version).

use sqlx::Row;

use crate::db::{Market, now_ms};
use crate::submissions::State;

/// A version that went live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub identifier: String,
    pub version: String,
    pub submission: String,
    pub digest: String,
    /// The tags the go-live step wrote (exact, rolling, `latest`).
    pub tags: Vec<String>,
    pub live_at: i64,
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub identifier: String,
    pub publisher: String,
    pub submission: String,
    pub version: String,
    /// `offer.json` of the listed version.
    pub offer: String,
    /// Its report JSON.
    pub report: String,
    pub updated_at: i64,
}

/// `1.10.0` after `1.9.3`: numeric components compared as numbers, then the rest as text.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-', '+'])
            .map(|p| (p.parse::<u64>().unwrap_or(0), p.to_owned()))
            .collect()
    };
    key(a).cmp(&key(b))
}

impl Market {
    /// Keeps the report (and SBOM) of a certification, replacing an earlier run's, and the
    /// verdict and image digest on the submission.
    pub async fn store_report(
        &self,
        submission: &str,
        report: &str,
        sbom: Option<&str>,
        verdict: &str,
        digest: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO reports (submission, report, sbom, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (submission) DO UPDATE SET report = excluded.report, \
             sbom = excluded.sbom, created_at = excluded.created_at",
        )
        .bind(submission)
        .bind(report)
        .bind(sbom)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE submissions SET verdict = $1, digest = COALESCE($2, digest), updated_at = $3 \
             WHERE id = $4",
        )
        .bind(verdict)
        .bind(digest)
        .bind(now)
        .bind(submission)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Records the image digest of a submission once ingested.
    pub async fn set_digest(&self, submission: &str, digest: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE submissions SET digest = $1 WHERE id = $2")
            .bind(digest)
            .bind(submission)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The report JSON and SBOM (CycloneDX JSON) of a submission, once certified.
    pub async fn report(
        &self,
        submission: &str,
    ) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
        let row = sqlx::query("SELECT report, sbom FROM reports WHERE submission = $1")
            .bind(submission)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// The publisher's sign-off on a preview: queues the go-live step once. `Ok(false)` when
    /// it is queued (or done) already; `Err` with the state when the submission is not in
    /// preview.
    pub async fn request_go_live(
        &self,
        submission: &str,
    ) -> Result<Result<bool, String>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Touching the row first serializes two sign-offs of one submission.
        let state: Option<String> =
            sqlx::query("UPDATE submissions SET updated_at = $1 WHERE id = $2 RETURNING state")
                .bind(now)
                .bind(submission)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0));
        match state.as_deref().and_then(State::parse) {
            Some(State::Preview) => {}
            Some(other) => return Ok(Err(other.as_str().to_owned())),
            None => return Ok(Err("gone".to_owned())),
        }
        let queued: i64 = sqlx::query(
            "SELECT COUNT(*) FROM jobs WHERE submission = $1 AND step = 'go-live' \
             AND state IN ('ready', 'running', 'done')",
        )
        .bind(submission)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        if queued > 0 {
            return Ok(Ok(false));
        }
        crate::jobs::enqueue_in(&mut tx, submission, crate::jobs::Step::GoLive, now).await?;
        crate::submissions::append_event(&mut tx, submission, now, "go-live", "requested").await?;
        tx.commit().await?;
        Ok(Ok(true))
    }

    /// Records a version as live with the tags written for it, and makes it the catalog
    /// entry unless a newer version is listed already.
    pub async fn release(
        &self,
        r: &Release,
        offer: &str,
        report: &str,
        publisher: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let tags = serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO releases (identifier, version, submission, digest, tags, live_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (identifier, version) DO UPDATE \
             SET submission = excluded.submission, digest = excluded.digest, tags = excluded.tags",
        )
        .bind(&r.identifier)
        .bind(&r.version)
        .bind(&r.submission)
        .bind(&r.digest)
        .bind(tags)
        .bind(r.live_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The catalog entry by compare-and-set on the entry read: a concurrent go-live of
        // another version that listed itself in between makes the write miss, and this one
        // decides again (the newest version is listed, whatever the order they finish in).
        loop {
            let listed: Option<(String, String)> =
                sqlx::query("SELECT version, submission FROM catalog WHERE identifier = $1")
                    .bind(&r.identifier)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| (row.get(0), row.get(1)));
            if listed
                .as_ref()
                .is_some_and(|(v, _)| version_order(&r.version, v).is_lt())
            {
                return Ok(());
            }
            // The same parameters in both statements ($8: the entry read, unused by the
            // insert but bound as text so both backends accept it).
            let sql = match &listed {
                None => {
                    "INSERT INTO catalog (identifier, publisher, submission, version, offer, report, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $8 = '' \
                     ON CONFLICT (identifier) DO NOTHING"
                }
                Some(_) => {
                    "UPDATE catalog SET publisher = $2, submission = $3, version = $4, offer = $5, \
                     report = $6, updated_at = $7 WHERE identifier = $1 AND submission = $8"
                }
            };
            let written = sqlx::query(sql)
                .bind(&r.identifier)
                .bind(publisher)
                .bind(&r.submission)
                .bind(&r.version)
                .bind(offer)
                .bind(report)
                .bind(r.live_at)
                .bind(listed.map(|(_, s)| s).unwrap_or_default())
                .execute(&self.pool)
                .await?;
            if written.rows_affected() == 1 {
                return Ok(());
            }
        }
    }

    /// The live versions of `identifier`, newest first.
    pub async fn releases(&self, identifier: &str) -> Result<Vec<Release>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT identifier, version, submission, digest, tags, live_at FROM releases \
             WHERE identifier = $1",
        )
        .bind(identifier)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Release> = rows
            .iter()
            .map(|r| Release {
                identifier: r.get(0),
                version: r.get(1),
                submission: r.get(2),
                digest: r.get(3),
                tags: serde_json::from_str(r.get::<&str, _>(4)).unwrap_or_default(),
                live_at: r.get(5),
            })
            .collect();
        out.sort_by(|a, b| version_order(&b.version, &a.version));
        Ok(out)
    }

    /// Every catalog entry, by identifier: the listed versions that do not fail the policy
    /// version in effect now (a failing one has left the catalog; its tags stay).
    pub async fn listings(&self) -> Result<Vec<Listing>, sqlx::Error> {
        let sql = format!("{LISTED} ORDER BY c.identifier");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(listing).collect())
    }

    /// One catalog entry, unless it has left the catalog (see [`Market::listings`]).
    pub async fn listing(&self, identifier: &str) -> Result<Option<Listing>, sqlx::Error> {
        let sql = format!("{LISTED} AND c.identifier = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms())
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(listing))
    }
}

/// Catalog entries whose version does not fail the newest policy version in effect at `$1`.
const LISTED: &str = "SELECT c.identifier, c.publisher, c.submission, c.version, c.offer, c.report, \
     c.updated_at FROM catalog c WHERE NOT EXISTS (SELECT 1 FROM recertifications r \
     WHERE r.identifier = c.identifier AND r.version = c.version AND r.verdict = 'fail' \
     AND r.policy_version = (SELECT p.version FROM policies p WHERE p.effective_at <= $1 \
     ORDER BY p.effective_at DESC, p.created_at DESC LIMIT 1))";

fn listing(r: &sqlx::any::AnyRow) -> Listing {
    Listing {
        identifier: r.get(0),
        publisher: r.get(1),
        submission: r.get(2),
        version: r.get(3),
        offer: r.get(4),
        report: r.get(5),
        updated_at: r.get(6),
    }
}

#[cfg(test)]
mod tests {
    use super::version_order;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(version_order("1.10.0", "1.9.3"), Greater);
        assert_eq!(version_order("1.0.3", "1.0.3"), Equal);
        assert_eq!(version_order("1.0.2", "1.0.10"), Less);
        assert_eq!(version_order("2.0.0", "10.0.0"), Less);
    }
}
