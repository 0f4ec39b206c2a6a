//! The pipeline's worker: claims a job, runs its step, records the outcome. Steps are
//! idempotent — a job whose worker died is run again from the start by whoever claims it
//! next — and every write of the outcome is fenced by the job's lease.
//!
//! Steps so far: **ingest** from the publisher's staging repository of this registry
//! (`staging/<publisher>/<name>:<tag>` or `@<digest>`): the image, every platform, is copied
//! into `content/<submission>:submitted` with every digest preserved (blobs linked, manifests
//! byte for byte), and from then on the pipeline works from that copy. Certify, preview and
//! go-live are the next steps to write; until then a certify job waits.

use std::time::Duration;

use edgecert_registry::api::Registry;

use crate::Market;
use crate::jobs::Step;
use crate::submissions::{State, Submission, TransitionError};

/// The tag of a submission's own copy in `content/<submission>`.
pub const CONTENT_TAG: &str = "submitted";

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("marketplace database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Transition(#[from] TransitionError),
}

/// A worker: who it is (the lease owner) and what it works with.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub market: Market,
    pub registry: Registry,
    pub owner: String,
    pub lease: Duration,
}

/// Why a step did not succeed: worth retrying, or the submission's own problem.
enum StepError {
    /// Ours (a database or storage failure): the job is retried later.
    Retry(String),
    /// The submission's (an unreadable source): it ends `incomplete` with this reason.
    Submission(String),
}

impl Pipeline {
    /// The repository of `submission`'s own copy.
    pub fn content_repository(submission: &str) -> String {
        format!("content/{submission}")
    }

    /// Claims one job and runs it; `false` when no job was ready.
    pub async fn run_once(&self) -> Result<bool, PipelineError> {
        let Some(job) = self.market.claim(&self.owner, self.lease).await? else {
            return Ok(false);
        };
        let Some(submission) = self.market.submission(&job.submission).await? else {
            self.market
                .fail(&job, &self.owner, "the submission is gone", None)
                .await?;
            return Ok(true);
        };
        if submission.state == State::Withdrawn {
            // Withdrawn while queued: nothing more to do.
            self.market.complete(&job, &self.owner, None).await?;
            return Ok(true);
        }
        let outcome = match job.step {
            Step::Ingest => self.ingest(&submission).await,
            // Not written yet: put back, untouched, for a worker that has it.
            Step::Certify | Step::Preview | Step::GoLive => {
                self.market
                    .fail(
                        &job,
                        &self.owner,
                        "this worker cannot run this step yet",
                        Some(Duration::from_secs(60)),
                    )
                    .await?;
                return Ok(true);
            }
        };
        match outcome {
            Ok(next) => {
                self.market.complete(&job, &self.owner, next).await?;
            }
            Err(StepError::Retry(why)) => {
                self.market
                    .fail(&job, &self.owner, &why, Some(Duration::from_secs(30)))
                    .await?;
            }
            Err(StepError::Submission(why)) => {
                if self.market.fail(&job, &self.owner, &why, None).await? {
                    match self
                        .market
                        .transition(&submission.id, State::Incomplete, Some(&why))
                        .await
                    {
                        Ok(_) | Err(TransitionError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(true)
    }

    /// Ingest: `queued → ingesting`, the image copied into `content/<submission>`.
    async fn ingest(&self, s: &Submission) -> Result<Option<Step>, StepError> {
        match self.market.transition(&s.id, State::Ingesting, None).await {
            // A re-run after a lost lease finds it ingesting already.
            Ok(_) | Err(TransitionError::Conflict { .. }) => {}
            Err(e) => return Err(StepError::Retry(e.to_string())),
        }
        let (repository, reference) =
            staging_source(&s.source, &s.publisher).map_err(StepError::Submission)?;
        let content = Pipeline::content_repository(&s.id);
        let digest = self
            .registry
            .promote(&repository, &reference, &content, CONTENT_TAG)
            .await
            .map_err(|e| match e.code.as_str() {
                "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "NAME_UNKNOWN" => {
                    StepError::Submission(format!("{}: {}", s.source, e.message))
                }
                _ => StepError::Retry(e.message),
            })?;
        self.market
            .record(&s.id, "ingested", &digest.to_string())
            .await
            .map_err(|e| StepError::Retry(e.to_string()))?;
        Ok(Some(Step::Certify))
    }
}

/// `staging/<publisher>/<name>:<tag>` or `…@<digest>` of the submission's own publisher, as
/// (repository, reference).
fn staging_source(source: &str, publisher: &str) -> Result<(String, String), String> {
    let (repository, reference) = match source.split_once('@') {
        Some((r, d)) => (r, d),
        None => match source.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, t),
            _ => (source, "latest"),
        },
    };
    let own = format!("staging/{publisher}/");
    if !repository.starts_with(&own) || repository.len() == own.len() {
        return Err(format!(
            "{source}: the pipeline ingests from {own}<name> of this registry (other sources \
             are not supported yet)"
        ));
    }
    Ok((repository.to_owned(), reference.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let ok = |s| staging_source(s, "contoso").unwrap();
        assert_eq!(
            ok("staging/contoso/filter:1.0.3"),
            ("staging/contoso/filter".into(), "1.0.3".into())
        );
        assert_eq!(
            ok("staging/contoso/filter@sha256:ab"),
            ("staging/contoso/filter".into(), "sha256:ab".into())
        );
        assert_eq!(
            ok("staging/contoso/a/b"),
            ("staging/contoso/a/b".into(), "latest".into())
        );
        for bad in [
            "staging/fabrikam/filter:1",
            "staging/contoso/",
            "docker://x/y:1",
            "contoso.filter.standard:1",
        ] {
            assert!(staging_source(bad, "contoso").is_err(), "{bad}");
        }
    }
}
