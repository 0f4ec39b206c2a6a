//! The pipeline's durable jobs. A job is one step of one submission (ingest, certify,
//! preview, go-live, …); it lives in the `jobs` table from the moment the work is accepted.
//!
//! A worker **claims** a job with a lease (an owner and a deadline). With PostgreSQL any number
//! of processes claim at once: the claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
//! LOCKED)`, so two claimers never get the same job and never wait on each other. With SQLite
//! the one process that owns the database claims through its one connection. A job whose
//! lease ran out (its process died, or hung) is claimable again: nothing is lost, and steps are
//! written to be idempotent. Every later write of a job (renew, complete, fail) names its
//! owner and is refused once the lease has passed to another: a worker that was presumed dead
//! cannot overwrite its successor's result (fencing).

use std::time::Duration;

use sqlx::Row;

use crate::db::{Market, now_ms};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Copy every platform of the submitted image into the content store.
    Ingest,
    /// The static pass and the ingestion test.
    Certify,
    /// Write `preview/<identifier>:<tag>`.
    Preview,
    /// Write the public repository's tags and the catalog entry.
    GoLive,
    /// Certify a live version again, statically, against a new policy version (payload).
    Recertify,
    /// Deliver a notification (subject) through a channel (payload: `webhook`, `email`).
    Deliver,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Ingest => "ingest",
            Step::Certify => "certify",
            Step::Preview => "preview",
            Step::GoLive => "go-live",
            Step::Recertify => "recertify",
            Step::Deliver => "deliver",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        [
            Step::Ingest,
            Step::Certify,
            Step::Preview,
            Step::GoLive,
            Step::Recertify,
            Step::Deliver,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub submission: String,
    pub step: Step,
    /// Claims so far, this one included.
    pub attempts: i64,
    /// What the step works on besides its subject (a policy version, a channel).
    pub payload: Option<String>,
}

/// A job's row, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub step: String,
    pub state: String,
    pub attempts: i64,
    pub owner: Option<String>,
    pub error: Option<String>,
}

pub(crate) async fn enqueue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    submission: &str,
    step: Step,
    now: i64,
) -> Result<String, sqlx::Error> {
    enqueue_with(tx, submission, step, None, now).await
}

/// Enqueues `step` on `subject` with a payload, ready at `now`.
pub(crate) async fn enqueue_with(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subject: &str,
    step: Step,
    payload: Option<&str>,
    now: i64,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO jobs (id, submission, step, state, attempts, run_after, created_at, updated_at, payload) \
         VALUES ($1, $2, $3, 'ready', 0, $4, $4, $4, $5)",
    )
    .bind(&id)
    .bind(subject)
    .bind(step.as_str())
    .bind(now)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Market {
    /// Enqueues `step` of `submission`, ready now.
    pub async fn enqueue(&self, submission: &str, step: Step) -> Result<String, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let id = enqueue_in(&mut tx, submission, step, now_ms()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims the oldest job that is ready, or whose lease ran out, for `owner` until `lease`
    /// from now; `None` when there is none.
    pub async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<Job>, sqlx::Error> {
        let now = now_ms();
        let lock = if self.sqlite {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', owner = $1, lease_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
               WHERE (state = 'ready' AND run_after <= $3) OR (state = 'running' AND lease_until < $3) \
               ORDER BY run_after, created_at, id LIMIT 1{lock}) \
             RETURNING id, submission, step, attempts, payload"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| {
            Some(Job {
                id: r.get(0),
                submission: r.get(1),
                step: Step::parse(r.get::<&str, _>(2))?,
                attempts: r.get(3),
                payload: r.get(4),
            })
        }))
    }

    /// Extends `owner`'s lease on `job`; `false` when the job is no longer theirs.
    pub async fn renew(
        &self,
        job: &Job,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2 \
             WHERE id = $3 AND owner = $4 AND state = 'running' AND lease_until >= $2",
        )
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .bind(&job.id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Marks `job` done, if it is still `owner`'s, and enqueues `next` (the following step)
    /// in the same transaction. `false` (and nothing written) when the lease was lost.
    pub async fn complete(
        &self,
        job: &Job,
        owner: &str,
        next: Option<Step>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = $1 \
             WHERE id = $2 AND owner = $3 AND state = 'running' AND lease_until >= $1",
        )
        .bind(now)
        .bind(&job.id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        if let Some(step) = next {
            enqueue_in(&mut tx, &job.submission, step, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records that `job` failed with `error`: ready again after `retry_in`, or failed for
    /// good without it. `false` when the job is no longer `owner`'s.
    pub async fn fail(
        &self,
        job: &Job,
        owner: &str,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let (state, run_after) = match retry_in {
            Some(d) => ("ready", now.saturating_add(millis(d))),
            None => ("failed", now),
        };
        let n = sqlx::query(
            "UPDATE jobs SET state = $1, run_after = $2, error = $3, lease_until = NULL, \
             updated_at = $4 \
             WHERE id = $5 AND owner = $6 AND state = 'running' AND lease_until >= $4",
        )
        .bind(state)
        .bind(run_after)
        .bind(error)
        .bind(now)
        .bind(&job.id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The jobs of a submission, oldest first.
    pub async fn jobs(&self, submission: &str) -> Result<Vec<JobRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, step, state, attempts, owner, error FROM jobs \
             WHERE submission = $1 ORDER BY created_at, id",
        )
        .bind(submission)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| JobRow {
                id: r.get(0),
                step: r.get(1),
                state: r.get(2),
                attempts: r.get(3),
                owner: r.get(4),
                error: r.get(5),
            })
            .collect())
    }
}
