//! Submissions and their lifecycle (`spec/marketplace.md`):
//!
//! ```text
//! queued ─► ingesting ─► certifying ─┬─► failed | incomplete   (ingesting ─► incomplete too:
//!                                    │                          the source could not be read)
//!                                    └─► in-review ─┬─► rejected   (reason required)
//!                                                   └─► approved ─► preview ─► live
//! any state before live ─► withdrawn
//! ```
//!
//! The edges are enforced by the database, not by callers: a transition is one conditional
//! `UPDATE … WHERE state IN (<the states it may come from>)`, so of two concurrent
//! transitions out of one state (a reviewer's approve and the publisher's withdraw) exactly one
//! happens and the other gets [`TransitionError::Conflict`] with the state it found. Each
//! transition appends an event (the submission's timeline) in the same transaction. Creating a
//! submission enqueues its first job in that transaction too: accepted work is never lost.

use sqlx::Row;

use crate::db::{Market, now_ms};
use crate::jobs::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Queued,
    Ingesting,
    Certifying,
    Failed,
    Incomplete,
    InReview,
    Rejected,
    Approved,
    Preview,
    Live,
    Withdrawn,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Queued,
        State::Ingesting,
        State::Certifying,
        State::Failed,
        State::Incomplete,
        State::InReview,
        State::Rejected,
        State::Approved,
        State::Preview,
        State::Live,
        State::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Ingesting => "ingesting",
            State::Certifying => "certifying",
            State::Failed => "failed",
            State::Incomplete => "incomplete",
            State::InReview => "in-review",
            State::Rejected => "rejected",
            State::Approved => "approved",
            State::Preview => "preview",
            State::Live => "live",
            State::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The states a submission may reach this one from.
    pub fn sources(self) -> &'static [State] {
        use State::*;
        match self {
            Queued => &[],
            Ingesting => &[Queued],
            Certifying => &[Ingesting],
            Failed | InReview => &[Certifying],
            // A blocking check could not run, or the image could not be read at all.
            Incomplete => &[Ingesting, Certifying],
            Rejected | Approved => &[InReview],
            Preview => &[Approved],
            Live => &[Preview],
            Withdrawn => &[Queued, Ingesting, Certifying, InReview, Approved, Preview],
        }
    }

    /// Whether nothing follows: the submission's story is over.
    pub fn is_final(self) -> bool {
        State::ALL
            .iter()
            .all(|next| !next.sources().contains(&self))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("submission {0} does not exist")]
    NotFound(String),
    #[error("submission is {current}, it cannot become {wanted}")]
    Conflict { current: String, wanted: String },
    #[error("rejecting a submission needs a reason")]
    ReasonRequired,
    #[error("marketplace database: {0}")]
    Db(#[from] sqlx::Error),
}

/// What a submission row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub id: String,
    pub identifier: String,
    pub publisher: String,
    /// The image source it was submitted from (`staging/…`, `docker://…`).
    pub source: String,
    pub state: State,
    pub reason: Option<String>,
    /// The exact version tag this submission publishes (`1.0.3`), from the offer's tags.
    pub version: Option<String>,
    /// `pass`, `fail` or `incomplete` once certified.
    pub verdict: Option<String>,
    /// The image's digest once ingested.
    pub digest: Option<String>,
    /// `offer.json` as it was when submitted.
    pub offer: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One entry of a submission's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub data: String,
}

impl Market {
    /// A new submission of `identifier` from `source`, `queued`, with its first job (ingest)
    /// enqueued in the same transaction.
    pub async fn submit(
        &self,
        identifier: &str,
        publisher: &str,
        source: &str,
    ) -> Result<Submission, sqlx::Error> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // The offer as stored now is what this submission is judged and listed by.
        let offer: Option<String> = sqlx::query("SELECT offer FROM offers WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        let version = offer.as_deref().and_then(version_of);
        sqlx::query(
            "INSERT INTO submissions (id, identifier, publisher, source, state, version, offer, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(identifier)
        .bind(publisher)
        .bind(source)
        .bind(State::Queued.as_str())
        .bind(version.as_deref())
        .bind(offer.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, &id, now, "state", State::Queued.as_str()).await?;
        crate::jobs::enqueue_in(&mut tx, &id, Step::Ingest, now).await?;
        tx.commit().await?;
        Ok(Submission {
            id,
            identifier: identifier.to_owned(),
            publisher: publisher.to_owned(),
            source: source.to_owned(),
            state: State::Queued,
            reason: None,
            version,
            verdict: None,
            digest: None,
            offer,
            created_at: now,
            updated_at: now,
        })
    }

    pub async fn submission(&self, id: &str) -> Result<Option<Submission>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM submissions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(self::row))
    }

    /// Moves submission `id` to `to` if its current state allows it (see the module docs);
    /// returns the state it left. `reason` is recorded (and required for `rejected`).
    pub async fn transition(
        &self,
        id: &str,
        to: State,
        reason: Option<&str>,
    ) -> Result<State, TransitionError> {
        self.transition_then(id, to, reason, None).await
    }

    /// [`Market::transition`], enqueueing the job `then` in the same transaction: the
    /// approval that queues the preview step, the sign-off that queues go-live.
    pub async fn transition_then(
        &self,
        id: &str,
        to: State,
        reason: Option<&str>,
        then: Option<Step>,
    ) -> Result<State, TransitionError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if to == State::Rejected && reason.is_none() {
            return Err(TransitionError::ReasonRequired);
        }
        let sources = to.sources();
        let conflict = |current: &str| TransitionError::Conflict {
            current: current.to_owned(),
            wanted: to.as_str().to_owned(),
        };
        if sources.is_empty() {
            let current = self
                .submission(id)
                .await?
                .ok_or_else(|| TransitionError::NotFound(id.to_owned()))?;
            return Err(conflict(current.state.as_str()));
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Where it is now, read inside the transaction; the UPDATE below re-checks it, so a
        // concurrent transition between the two makes this one a conflict, not a lost write.
        let current: Option<String> = sqlx::query("SELECT state FROM submissions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        let Some(current) = current else {
            return Err(TransitionError::NotFound(id.to_owned()));
        };
        let from = State::parse(&current).filter(|s| sources.contains(s));
        let Some(from) = from else {
            return Err(conflict(&current));
        };
        let done = sqlx::query(
            "UPDATE submissions SET state = $1, reason = COALESCE($2, reason), updated_at = $3 \
             WHERE id = $4 AND state = $5",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            drop(tx);
            let now_state = self
                .submission(id)
                .await?
                .map_or_else(|| "gone".to_owned(), |s| s.state.as_str().to_owned());
            return Err(conflict(&now_state));
        }
        append_event(&mut tx, id, now, "state", to.as_str()).await?;
        if let Some(step) = then {
            crate::jobs::enqueue_in(&mut tx, id, step, now).await?;
        }
        tx.commit().await?;
        Ok(from)
    }

    /// Adds a non-state event to the submission's timeline (`ingested <digest>`, progress).
    pub async fn record(&self, id: &str, kind: &str, data: &str) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Holding the submission's row numbers the events one at a time.
        sqlx::query("UPDATE submissions SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(&mut tx, id, now, kind, data).await?;
        tx.commit().await
    }

    /// The submission's timeline, oldest first, after `after` (a `seq`; 0 for all).
    pub async fn events(&self, id: &str, after: i64) -> Result<Vec<Event>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, data FROM submission_events \
             WHERE submission = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Event {
                seq: r.get(0),
                at: r.get(1),
                kind: r.get(2),
                data: r.get(3),
            })
            .collect())
    }
}

/// The columns [`row`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, identifier, publisher, source, state, reason, created_at, \
     updated_at, version, verdict, digest, offer";

/// A row of `SELECT {COLUMNS}`.
pub(crate) fn row(r: &sqlx::any::AnyRow) -> Option<Submission> {
    Some(Submission {
        id: r.get(0),
        identifier: r.get(1),
        publisher: r.get(2),
        source: r.get(3),
        state: State::parse(r.get::<&str, _>(4))?,
        reason: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
        version: r.get(8),
        verdict: r.get(9),
        digest: r.get(10),
        offer: r.get(11),
    })
}

/// The exact version a submission of `offer` publishes: its first `X.Y.Z` tag, else its
/// default tag, else its first tag.
pub fn version_of(offer: &str) -> Option<String> {
    let offer = edgecert_engine::offer::Offer::parse(offer, "offer.json").ok()?;
    let exact = |t: &&String| edgecert_registry::meta::is_exact_version(t);
    offer
        .tags()
        .iter()
        .find(exact)
        .or_else(|| offer.tags().first())
        .cloned()
        .or_else(|| offer.default_tag().map(str::to_owned))
}

/// Appends an event to a submission's timeline inside `tx`. Callers hold the submission's row
/// (they changed it in `tx`), so numbers never collide.
pub(crate) async fn append_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    submission: &str,
    at: i64,
    kind: &str,
    data: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO submission_events (submission, seq, at, kind, data) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM submission_events \
         WHERE submission = $1",
    )
    .bind(submission)
    .bind(at)
    .bind(kind)
    .bind(data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_graph_is_the_specs() {
        use State::*;
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        let finals: Vec<State> = State::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [Failed, Incomplete, Rejected, Live, Withdrawn]);
        assert!(
            !Withdrawn.sources().contains(&Live),
            "live is withdrawn by takedown"
        );
        // Every state but queued is reachable from queued.
        let mut seen = vec![Queued];
        while let Some(next) = State::ALL
            .into_iter()
            .find(|s| !seen.contains(s) && s.sources().iter().any(|f| seen.contains(f)))
        {
            seen.push(next);
        }
        assert_eq!(seen.len(), State::ALL.len(), "{seen:?}");
    }
}
