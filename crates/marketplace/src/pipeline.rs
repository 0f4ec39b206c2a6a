//! The pipeline's worker: claims a job, runs its step, records the outcome. Steps are
//! idempotent — a job whose worker died is run again from the start by whoever claims it
//! next — and every write of the outcome is fenced by the job's lease.
//!
//! - **ingest** from the publisher's staging repository of this registry
//!   (`staging/<publisher>/<name>:<tag>` or `@<digest>`) or another registry
//!   (`docker://HOST/REPO:TAG`, [`crate::import`]): the image, every platform, is copied into
//!   `content/<submission>:submitted` with every digest preserved (blobs linked or verified,
//!   manifests byte for byte); from then on the pipeline works from that copy, by digest.
//! - **certify**: the copy is written out as an OCI layout and handed to the very
//!   `certify()` `edgecert check` calls, with every tag the offer lists naming that one image (static pass, malware engines, and the ingestion test on
//!   this worker's Moby engine unless turned off); the report JSON (rendered as `check
//!   --format json` renders it) and the SBOM are kept; the submission ends `failed`,
//!   `incomplete` or `in-review` by the report's verdict. The lease is renewed while it runs.
//! - **preview** (queued by a reviewer's approval): `preview/<identifier>:<version>`.
//! - **go-live** (queued by the publisher's sign-off): into `<identifier>`, the exact tag
//!   first, then each rolling tag — only forward in version order —, `latest` last; then the
//!   release and the catalog entry, then `live`.

use std::time::Duration;

use edgecert_engine::analyze::malware::MalwareOptions;
use edgecert_engine::certify::{CertifyError, CertifyOptions, certify};
use edgecert_engine::image::layer::Progress;
use edgecert_engine::image::source::ImageSource;
use edgecert_engine::ingest::RunMode;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Verdict, json};
use edgecert_registry::api::Registry;
use edgecert_registry::meta::is_exact_version;

use crate::Market;
use crate::jobs::{Job, Step};
use crate::releases::{Release, version_order};
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
    pub certification: Certification,
    /// How notifications leave (webhooks, SMTP).
    pub notifier: crate::living::Notifier,
}

/// How the certify step certifies: what `edgecert check` takes as flags.
#[derive(Debug, Clone, Default)]
pub struct Certification {
    pub policy: Policy,
    pub malware: MalwareOptions,
    /// Run the ingestion test on the Moby engine at `DOCKER_HOST` (`false`: `--no-run`).
    pub run: bool,
    /// Layer-reading threads; 0 = one per core.
    pub threads: usize,
    /// `docker://` submissions over plain http (loopback registries), not TLS.
    pub plain_http_sources: bool,
}

/// Why a step did not succeed: worth retrying, or the submission's own problem.
pub(crate) enum StepError {
    /// Ours (a database or storage failure): the job is retried later.
    Retry(String),
    /// The submission's (an unreadable source): it ends `incomplete` with this reason.
    Submission(String),
    /// The lease ran out while the step ran: another worker has the job now.
    Lost,
    /// Not done this time (a webhook that did not answer): retried after the delay.
    Backoff(String, Duration),
    /// Not done, and not retried again (recorded where the step keeps its state).
    GiveUp(String),
}

fn retry(e: impl std::fmt::Display) -> StepError {
    StepError::Retry(e.to_string())
}

impl Pipeline {
    /// The repository of `submission`'s own copy.
    pub fn content_repository(submission: &str) -> String {
        format!("content/{submission}")
    }

    /// Runs jobs until `stop` fires, polling every `idle` when there is none. A failure of
    /// the database is logged and retried.
    pub async fn run(&self, idle: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            // Each job on a task of its own: a step that panics is logged (its job's lease
            // runs out and it is retried) instead of taking this worker down.
            let me = self.clone();
            let worked = match tokio::spawn(async move { me.run_once().await }).await {
                Ok(Ok(worked)) => worked,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "pipeline: job not run");
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, "pipeline: a step panicked; its job is retried when its lease runs out");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Claims one job and runs it; `false` when no job was ready.
    pub async fn run_once(&self) -> Result<bool, PipelineError> {
        let Some(job) = self.market.claim(&self.owner, self.lease).await? else {
            return Ok(false);
        };
        // Steps whose subject is not a submission in the pipeline.
        if matches!(job.step, Step::Recertify | Step::Deliver) {
            let started = std::time::Instant::now();
            let outcome = self
                .leased(&job, async {
                    match job.step {
                        Step::Recertify => self.recertify(&job).await,
                        _ => self.deliver(&job).await.map(|_| ()),
                    }
                })
                .await;
            let took = started.elapsed().as_millis() as u64;
            let step = job.step.as_str();
            match outcome {
                Ok(()) => {
                    tracing::info!(step, subject = %job.submission, payload = ?job.payload, ms = took, "job done");
                    self.market.complete(&job, &self.owner, None).await?;
                }
                Err(StepError::Backoff(why, after)) => {
                    tracing::warn!(step, subject = %job.submission, error = %why, retry_in_ms = after.as_millis() as u64, "job not done; retried later");
                    self.market
                        .fail(&job, &self.owner, &why, Some(after))
                        .await?;
                }
                Err(StepError::Retry(why)) => {
                    tracing::warn!(step, subject = %job.submission, error = %why, "job failed; retried later");
                    self.market
                        .fail(&job, &self.owner, &why, Some(Duration::from_secs(30)))
                        .await?;
                }
                Err(StepError::Submission(why)) | Err(StepError::GiveUp(why)) => {
                    tracing::warn!(step, subject = %job.submission, error = %why, "job given up");
                    self.market.fail(&job, &self.owner, &why, None).await?;
                }
                Err(StepError::Lost) => {}
            }
            return Ok(true);
        }
        let Some(submission) = self.market.submission(&job.submission).await? else {
            self.market
                .fail(&job, &self.owner, "the submission is gone", None)
                .await?;
            return Ok(true);
        };
        if !acts_in(job.step, submission.state) {
            // Withdrawn while queued, or a step whose outcome was recorded by a worker that
            // died before completing the job: the submission is past it, nothing to redo
            // (a certification is never repeated once its verdict moved the submission on).
            tracing::info!(step = job.step.as_str(), submission = %job.submission, state = submission.state.as_str(), "job's submission is past this step; done");
            self.market.complete(&job, &self.owner, None).await?;
            return Ok(true);
        }
        let started = std::time::Instant::now();
        let outcome = match job.step {
            Step::Ingest => self.leased(&job, self.ingest(&submission)).await,
            // Certify keeps its own lease: on losing it, it also stops the certification
            // running on its blocking thread.
            Step::Certify => self.certify(&submission, &job).await,
            Step::Preview => self.leased(&job, self.preview(&submission)).await,
            Step::GoLive => self.leased(&job, self.go_live(&submission)).await,
            Step::Recertify | Step::Deliver => unreachable!("handled above"),
        };
        let took = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(_) => {
                tracing::info!(step = job.step.as_str(), submission = %job.submission, attempt = job.attempts, ms = took, "job done")
            }
            Err(StepError::Retry(why)) => {
                tracing::warn!(step = job.step.as_str(), submission = %job.submission, error = %why, ms = took, "job failed; retried later")
            }
            Err(StepError::Submission(why)) => {
                tracing::info!(step = job.step.as_str(), submission = %job.submission, reason = %why, ms = took, "job ended the submission")
            }
            Err(StepError::Lost) => {
                tracing::warn!(step = job.step.as_str(), submission = %job.submission, ms = took, "lease lost; another worker has the job")
            }
            Err(StepError::Backoff(why, _) | StepError::GiveUp(why)) => {
                tracing::warn!(step = job.step.as_str(), submission = %job.submission, error = %why, ms = took, "job not done")
            }
        }
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
                // The submission's state first, then the job: a worker killed in between
                // leaves a job whose re-run finds the submission past its step (`acts_in`),
                // never a submission stuck in a state no job will move it from.
                if self.market.renew(&job, &self.owner, self.lease).await? {
                    self.market.record(&submission.id, "error", &why).await?;
                    // Before certification ends the submission is incomplete; later (a
                    // go-live refused) it stays where it is, the reason on its timeline.
                    match self
                        .market
                        .transition(&submission.id, State::Incomplete, Some(&why))
                        .await
                    {
                        Ok(_) | Err(TransitionError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                    self.market.fail(&job, &self.owner, &why, None).await?;
                }
            }
            Err(StepError::Lost) => {}
            Err(StepError::Backoff(why, after)) => {
                self.market
                    .fail(&job, &self.owner, &why, Some(after))
                    .await?;
            }
            Err(StepError::GiveUp(why)) => {
                self.market.fail(&job, &self.owner, &why, None).await?;
            }
        }
        Ok(true)
    }

    /// Runs `step` while keeping `job`'s lease (renewed every third of it): a step that takes
    /// longer than one lease (a large image copied, a slow registry at go-live) is not taken
    /// over by another worker while this one is alive. If the lease is lost anyway (this
    /// worker stalled), the step is dropped where it is (every step is idempotent) and the
    /// new owner runs it.
    async fn leased<T>(
        &self,
        job: &Job,
        step: impl std::future::Future<Output = Result<T, StepError>>,
    ) -> Result<T, StepError> {
        let mut step = std::pin::pin!(step);
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                done = &mut step => return done,
                _ = renew.tick() => {
                    if !self.market.renew(job, &self.owner, self.lease).await.unwrap_or(false) {
                        return Err(StepError::Lost);
                    }
                }
            }
        }
    }

    /// Fault-injection point for the crash tests: with `EDGECERT_FAULT_PAUSE=<point>:<seconds>`
    /// in the environment, the step records a `fault-pause` event naming `point` and waits
    /// there, so a test can `kill -9` the process at exactly that place in the step. Without
    /// the variable (always, outside tests) it does nothing.
    async fn fault_pause(&self, s: &Submission, point: &str) {
        let Ok(spec) = std::env::var("EDGECERT_FAULT_PAUSE") else {
            return;
        };
        let Some((at, secs)) = spec.split_once(':') else {
            return;
        };
        if at != point {
            return;
        }
        let secs = secs.parse::<u64>().unwrap_or(0);
        tracing::warn!(point, secs, submission = %s.id, "EDGECERT_FAULT_PAUSE: waiting");
        let _ = self.market.record(&s.id, "fault-pause", point).await;
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    /// Ingest: `queued → ingesting`, the image copied into `content/<submission>`.
    async fn ingest(&self, s: &Submission) -> Result<Option<Step>, StepError> {
        match self.market.transition(&s.id, State::Ingesting, None).await {
            // A re-run after a lost lease finds it ingesting already.
            Ok(_) | Err(TransitionError::Conflict { .. }) => {}
            Err(e) => return Err(StepError::Retry(e.to_string())),
        }
        let content = Pipeline::content_repository(&s.id);
        let digest = if crate::import::is_remote(&s.source) {
            let remote = edgecert_engine::image::remote::RemoteOptions::new(
                !self.certification.plain_http_sources,
            );
            crate::import::import(&self.registry, &s.source, remote, &content, CONTENT_TAG)
                .await
                .map_err(|e| match e {
                    crate::import::ImportError::Source(why) => StepError::Submission(why),
                    crate::import::ImportError::Ours(why) => StepError::Retry(why),
                })?
        } else {
            let (repository, reference) =
                staging_source(&s.source, &s.publisher).map_err(StepError::Submission)?;
            self.registry
                .promote(&repository, &reference, &content, CONTENT_TAG)
                .await
                .map_err(|e| match e.code.as_str() {
                    "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "NAME_UNKNOWN" => {
                        StepError::Submission(format!("{}: {}", s.source, e.message))
                    }
                    _ => StepError::Retry(e.message),
                })?
                .to_string()
        };
        self.fault_pause(s, "ingest-copied").await;
        self.market
            .set_digest(&s.id, &digest)
            .await
            .map_err(retry)?;
        self.market
            .record(&s.id, "ingested", &digest)
            .await
            .map_err(retry)?;
        Ok(Some(Step::Certify))
    }

    /// Certify: `ingesting → certifying → failed | incomplete | in-review`.
    async fn certify(&self, s: &Submission, job: &Job) -> Result<Option<Step>, StepError> {
        match self.market.transition(&s.id, State::Certifying, None).await {
            Ok(_) | Err(TransitionError::Conflict { .. }) => {}
            Err(e) => return Err(retry(e)),
        }
        let offer = submitted_offer(s)?;
        let (_tmp, image) = self.export(s, &offer).await?;
        self.market
            .record(&s.id, "progress", "certify: reading every layer")
            .await
            .map_err(retry)?;
        let (trigger, cancel) = edgecert_engine::cancel::new();
        let options = CertifyOptions {
            image,
            remote: edgecert_engine::image::remote::RemoteOptions::new(true),
            policy: self.policy_now().await?,
            published: None,
            threads: self.certification.threads,
            malware: self.certification.malware.clone(),
            cancel: cancel.clone(),
        };
        let run = self.certification.run;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = LayerProgress(tx);
        let mut work = tokio::task::spawn_blocking(move || {
            let ingest = edgecert_runtime::MobyIngest::new().with_cancel(cancel);
            let mode = if run {
                RunMode::Run(&ingest)
            } else {
                RunMode::NoRun
            };
            let report = certify(&offer, &options, mode, &progress);
            (report, offer)
        });
        // While it runs: keep the lease, and put progress on the timeline (a line per layer
        // read, at most one a second).
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        let (mut layers, mut last) = (0u64, std::time::Instant::now());
        let joined = loop {
            tokio::select! {
                done = &mut work => break done,
                Some(()) = rx.recv() => {
                    layers += 1;
                    if last.elapsed() >= Duration::from_secs(1) {
                        last = std::time::Instant::now();
                        let _ = self.market.record(&s.id, "progress", &format!("certify: {layers} layer(s) read")).await;
                    }
                }
                _ = renew.tick() => {
                    if !self.market.renew(job, &self.owner, self.lease).await.unwrap_or(false) {
                        trigger.fire("lease lost");
                        let _ = work.await;
                        return Err(StepError::Lost);
                    }
                }
            }
        };
        let (certified, _offer) =
            joined.map_err(|e| StepError::Retry(format!("the certification task: {e}")))?;
        let certification = match certified {
            Ok(c) => c,
            // The image could not be read at all: the submission's problem.
            Err(e @ CertifyError::Source { .. }) => {
                return Err(StepError::Submission(e.to_string()));
            }
            // Engines (clamd down), temp space, a signal: ours, try again.
            Err(e) => return Err(StepError::Retry(e.to_string())),
        };
        let mut report = certification.report;
        // The report names the image as the publisher submitted it, not our temporary copy.
        if let Some(image) = report.image.as_mut() {
            image.source = s.source.clone();
        }
        let text = json::render(&report);
        let sbom = certification
            .inventory
            .as_ref()
            .map(edgecert_engine::sbom::cyclonedx::render);
        let (verdict, to) = match report.verdict {
            Verdict::Pass => ("pass", State::InReview),
            Verdict::Fail => ("fail", State::Failed),
            Verdict::Incomplete => ("incomplete", State::Incomplete),
        };
        self.market
            .store_report(&s.id, &text, sbom.as_deref(), verdict, None)
            .await
            .map_err(retry)?;
        let reason = (to != State::InReview).then(|| failing_checks(&report));
        match self.market.transition(&s.id, to, reason.as_deref()).await {
            Ok(_) | Err(TransitionError::Conflict { .. }) => Ok(None),
            Err(e) => Err(retry(e)),
        }
    }

    /// The submission's content copy as an OCI layout in a temporary directory (kept while
    /// the returned guard lives), as the certification engine reads it. Every tag the offer
    /// lists names this one image: go-live writes them all from this digest, so they are one
    /// build by construction (EC602 sees them in the source).
    pub(crate) async fn export(
        &self,
        s: &Submission,
        offer: &Offer,
    ) -> Result<(edgecert_engine::scratch::Scratch, ImageSource), StepError> {
        // A scratch directory like `check`'s: one a killed worker leaves behind is removed by
        // the next certification on this host.
        let tmp = edgecert_engine::scratch::Scratch::new()
            .map_err(|e| StepError::Retry(format!("a temporary directory: {e}")))?;
        let layout = tmp.path().join("image");
        let reference = s.version.clone().unwrap_or_else(|| CONTENT_TAG.to_owned());
        let mut names = vec![reference.clone()];
        names.extend(offer.tags().iter().filter(|t| **t != reference).cloned());
        self.registry
            .export_layout(
                &Pipeline::content_repository(&s.id),
                CONTENT_TAG,
                &layout,
                &names,
            )
            .await
            .map_err(|e| StepError::Retry(e.message))?;
        let image = ImageSource::Oci {
            dir: layout,
            reference: Some(reference),
        };
        Ok((tmp, image))
    }

    /// The policy a submission is certified against now: the newest published policy version
    /// in effect (with this worker's observation window: that is operational, not a
    /// criterion), else the worker's own (`--policy`, or the built-in one).
    async fn policy_now(&self) -> Result<Policy, StepError> {
        self.market
            .policy_in_effect(&self.certification.policy)
            .await
            .map_err(|e| match e {
                crate::living::PolicyError::Db(e) => retry(e),
                crate::living::PolicyError::Invalid(e) => StepError::Retry(e),
            })
    }

    /// Preview: `approved → preview`, the image at `preview/<identifier>:<version>`.
    async fn preview(&self, s: &Submission) -> Result<Option<Step>, StepError> {
        let version = version(s)?;
        self.registry
            .promote(
                &Pipeline::content_repository(&s.id),
                CONTENT_TAG,
                &format!("preview/{}", s.identifier),
                version,
            )
            .await
            .map_err(|e| match e.code.as_str() {
                "DENIED" => StepError::Submission(e.message),
                _ => StepError::Retry(e.message),
            })?;
        match self.market.transition(&s.id, State::Preview, None).await {
            Ok(_) | Err(TransitionError::Conflict { .. }) => Ok(None),
            Err(e) => Err(retry(e)),
        }
    }

    /// Go-live: tags into `<identifier>` (blobs and manifests are in place before any tag),
    /// the release and catalog entry, then `preview → live`.
    async fn go_live(&self, s: &Submission) -> Result<Option<Step>, StepError> {
        let version = version(s)?.to_owned();
        let offer_text = s.offer.clone().unwrap_or_default();
        let offer = submitted_offer(s)?;
        let public = s.identifier.as_str();
        let preview = format!("preview/{public}");
        let refused = |e: edgecert_registry::api::error::ApiError| match e.code.as_str() {
            "DENIED" => StepError::Submission(format!("go-live refused: {}", e.message)),
            _ => StepError::Retry(e.message),
        };
        // The exact tag: written once, never moved (a different digest is refused).
        let digest = self
            .registry
            .promote(&preview, &version, public, &version)
            .await
            .map_err(refused)?;
        let mut written = vec![version.clone()];
        self.fault_pause(s, "go-live-exact-tag").await;
        let mut rolling: Vec<&String> = offer
            .tags()
            .iter()
            .filter(|t| **t != version && !is_exact_version(t))
            .collect();
        // `latest` last, after the rolling tags it summarizes.
        rolling.sort_by_key(|t| *t == "latest");
        for tag in rolling {
            if !covers(tag, &version) {
                let note = format!("tag {tag}: not a rolling tag of {version}; left alone");
                self.market
                    .record(&s.id, "go-live", &note)
                    .await
                    .map_err(retry)?;
                continue;
            }
            // Compare-and-set: a concurrent go-live of another version of this module that
            // moved the tag between our read and our write makes the write fail; decide again
            // on what the tag points at now (forward only, never back).
            loop {
                let current = self.registry.meta.tag(public, tag).await.map_err(retry)?;
                if current.as_ref() == Some(&digest) {
                    written.push(tag.clone());
                    break;
                }
                // The version the tag is at now: its exact tag, written first by every
                // go-live (also by one still under way, whose release is not recorded).
                let behind = match &current {
                    None => true,
                    Some(d) => {
                        let at = self.registry.meta.tags_at(public, d).await.map_err(retry)?;
                        at.iter()
                            .filter(|t| is_exact_version(t))
                            .all(|t| version_order(&version, t).is_ge())
                    }
                };
                if !behind {
                    let note = format!("tag {tag}: points at a newer version; left alone");
                    self.market
                        .record(&s.id, "go-live", &note)
                        .await
                        .map_err(retry)?;
                    break;
                }
                if self
                    .registry
                    .move_tag(public, tag, &digest, current.as_ref())
                    .await
                    .map_err(refused)?
                {
                    written.push(tag.clone());
                    break;
                }
            }
        }
        let report = self
            .market
            .report(&s.id)
            .await
            .map_err(retry)?
            .map(|(r, _)| r)
            .unwrap_or_default();
        let release = Release {
            identifier: public.to_owned(),
            version: version.clone(),
            submission: s.id.clone(),
            digest: digest.to_string(),
            tags: written.clone(),
            live_at: crate::db::now_ms(),
        };
        self.market
            .release(&release, &offer_text, &report, &s.publisher)
            .await
            .map_err(retry)?;
        self.market
            .record(
                &s.id,
                "go-live",
                &format!("tags written: {}", written.join(", ")),
            )
            .await
            .map_err(retry)?;
        match self.market.transition(&s.id, State::Live, None).await {
            Ok(_) | Err(TransitionError::Conflict { .. }) => Ok(None),
            Err(e) => Err(retry(e)),
        }
    }
}

/// Counts layers read, for the timeline.
struct LayerProgress(tokio::sync::mpsc::UnboundedSender<()>);

impl Progress for LayerProgress {
    fn layer_finished(&self, _digest: &edgecert_engine::digest::Digest) {
        let _ = self.0.send(());
    }
}

/// Whether `step` still has work to do for a submission in `state`. Each step ends by moving
/// the submission on (ingest leaves it ingesting for certify), so a job reclaimed after its
/// worker died between that move and completing the job is recognised and not run twice.
fn acts_in(step: Step, state: State) -> bool {
    match step {
        Step::Ingest => matches!(state, State::Queued | State::Ingesting),
        Step::Certify => matches!(state, State::Ingesting | State::Certifying),
        Step::Preview => state == State::Approved,
        Step::GoLive => state == State::Preview,
        Step::Recertify | Step::Deliver => true,
    }
}

/// The offer as submitted, parsed.
fn submitted_offer(s: &Submission) -> Result<Offer, StepError> {
    let text = s.offer.as_deref().ok_or_else(|| {
        StepError::Submission(format!(
            "no offer was stored for {} when this was submitted",
            s.identifier
        ))
    })?;
    Offer::parse(text, "offer.json").map_err(|e| StepError::Submission(e.to_string()))
}

fn version(s: &Submission) -> Result<&str, StepError> {
    s.version.as_deref().ok_or_else(|| {
        StepError::Submission("the offer names no tag to publish ($.image.tags)".to_owned())
    })
}

/// Whether rolling tag `tag` may point at `version`: `1.0` and `1` cover `1.0.3`; `latest`
/// and names that are not versions (`stable`) cover every version.
fn covers(tag: &str, version: &str) -> bool {
    let numeric = tag
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    !numeric || version.starts_with(&format!("{tag}."))
}

/// Why a report is not a pass, as the submission's reason: the blocking checks that failed,
/// else what kept it incomplete.
fn failing_checks(report: &edgecert_engine::report::Report) -> String {
    use edgecert_engine::report::{Severity, Status};
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.severity == Severity::Blocking && c.status == Status::Fail)
        .map(|c| c.id.as_str())
        .collect();
    if failed.is_empty() {
        // Incomplete: which checks could not run or complete, as `check` says it.
        return report.incomplete_because().join("; ");
    }
    format!("blocking checks failed: {}", failed.join(", "))
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
            "{source}: the pipeline ingests from {own}<name> of this registry or from \
             docker://HOST/REPO:TAG"
        ));
    }
    Ok((repository.to_owned(), reference.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step that outlasts its lease keeps its job: nobody else can claim it meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_step_longer_than_its_lease_keeps_its_job() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
        let meta = edgecert_registry::meta::Meta::connect(&url).await.unwrap();
        let market = Market::open(&meta).await.unwrap();
        let store = edgecert_registry::store::FsStore::open(dir.path().join("blobs"))
            .await
            .unwrap();
        let p = Pipeline {
            market: market.clone(),
            registry: Registry::new(store, meta),
            owner: "worker-1".into(),
            lease: Duration::from_millis(900),
            certification: Certification::default(),
            notifier: Default::default(),
        };
        market.enqueue("subject", Step::Deliver).await.unwrap();
        let job = market.claim(&p.owner, p.lease).await.unwrap().unwrap();
        let thief = async {
            let mut stolen = 0;
            for _ in 0..12 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if market.claim("worker-2", p.lease).await.unwrap().is_some() {
                    stolen += 1;
                }
            }
            stolen
        };
        let step = p.leased(&job, async {
            tokio::time::sleep(Duration::from_millis(2600)).await;
            Ok::<_, StepError>(())
        });
        let (done, stolen) = tokio::join!(step, thief);
        assert!(done.is_ok());
        assert_eq!(stolen, 0, "the job was claimed while its step ran");
        assert!(market.complete(&job, &p.owner, None).await.unwrap());
    }

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
