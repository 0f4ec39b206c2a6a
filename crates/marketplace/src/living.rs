//! Living modules (`spec/marketplace.md`): policy versions, the re-certification of every live
//! version against a new one, and notifying the publishers whose modules would fail — portal
//! inbox, an HMAC-signed webhook with retries, e-mail through SMTP when configured. After a
//! policy version's effective date a version that fails it leaves the catalog; its tags stay,
//! so pulls keep working and deployed devices do not break.
//!
//! Everything runs as the pipeline's durable jobs: publishing a policy version enqueues one
//! `recertify` job per live version (in the same transaction), so concurrency is bounded by the
//! workers; a failing result records a notification and enqueues one `deliver` job per
//! channel, retried with exponential backoff.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edgecert_engine::certify::{CertifyOptions, certify};
use edgecert_engine::image::layer::NoProgress;
use edgecert_engine::ingest::RunMode;
use edgecert_engine::offer::Offer;
use edgecert_engine::policy::Policy;
use edgecert_engine::report::{Severity, Status, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use crate::api::{Action, Api, Error, internal, not_found};
use crate::db::{Market, now_ms};
use crate::jobs::{Job, Step, enqueue_with};
use crate::model::{Page, PublisherSettings};
use crate::pipeline::{Pipeline, StepError};

/// Deliveries are tried this many times, `BACKOFF × 2^(attempt-1)` apart.
pub const DELIVERY_ATTEMPTS: i64 = 6;
pub const BACKOFF: Duration = Duration::from_secs(1);

/// A policy version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVersion {
    pub version: String,
    /// Milliseconds since the epoch from which versions failing it leave the catalog.
    pub effective_at: i64,
    /// The policy (as `--policy` takes it, JSON).
    pub policy: Value,
    pub created_at: i64,
}

/// `POST /policies`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPolicy {
    pub version: String,
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`, or milliseconds since the epoch.
    pub effective_at: Value,
    /// Severities, required platforms, device budget, limits: the policy file's keys.
    pub policy: Value,
}

/// One live version judged against a policy version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recertification {
    pub policy_version: String,
    pub identifier: String,
    pub version: String,
    pub submission: String,
    /// `pass` (no blocking check fails) or `fail`.
    pub verdict: String,
    /// The blocking checks that fail: `[{"id", "summary"}]`.
    pub failing: Value,
    pub created_at: i64,
}

/// A message in a publisher's portal inbox.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub publisher: String,
    pub kind: String,
    pub subject: String,
    /// The message as JSON (also the webhook's body).
    pub body: Value,
    pub created_at: i64,
    /// Per channel: `{"channel", "state", "attempts", "error"}`.
    pub deliveries: Value,
}

/// Milliseconds since the epoch of `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` or a number.
/// Why the policy in effect could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Db(sqlx::Error),
    /// A stored version that no longer parses.
    #[error("{0}")]
    Invalid(String),
}

/// A policy version as an admin gives it (a policy file's keys as a JSON object), checked with
/// the CLI's parser so that an unknown check id or platform is refused now, not at
/// re-certification: the version (trimmed) and the text to keep, or `at $.…: why`.
pub fn checked_policy(version: &str, policy: &Value) -> Result<(String, String), String> {
    let version = version.trim();
    if version.is_empty()
        || version.len() > 64
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
    {
        return Err(format!(
            "at $.version: {version:?}: 1-64 letters, digits, '.', '-', '_'"
        ));
    }
    if !policy.is_object() {
        return Err("at $.policy: expected an object (a policy file's keys)".into());
    }
    let mut policy = policy.clone();
    policy["version"] = json!(version);
    let text = policy.to_string();
    Policy::parse(&text, "policy").map_err(|e| format!("at $.policy: {}", e.message))?;
    Ok((version.to_owned(), text))
}

pub fn parse_instant(v: &Value) -> Result<i64, String> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    let s = v
        .as_str()
        .ok_or_else(|| "expected a date (YYYY-MM-DD), a UTC time or milliseconds".to_owned())?;
    let bad = || format!("{s:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').ok_or_else(bad)?)),
        None => (s, None),
    };
    let num = |p: &str| p.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return Err(bad());
    }
    let (y, m, day) = (num(d[0])?, num(d[1])?, num(d[2])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let secs = match time {
        None => 0,
        Some(t) => {
            let p: Vec<&str> = t.split(':').collect();
            if p.len() != 3 {
                return Err(bad());
            }
            let (h, mi, se) = (num(p[0])?, num(p[1])?, num(p[2])?);
            if h > 23 || mi > 59 || se > 60 {
                return Err(bad());
            }
            h * 3600 + mi * 60 + se
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + secs) * 1000)
}

impl Market {
    pub async fn put_settings(
        &self,
        publisher: &str,
        s: &PublisherSettings,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO publisher_settings (publisher, webhook_url, webhook_secret, email, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (publisher) DO UPDATE SET \
             webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret, \
             email = excluded.email, updated_at = excluded.updated_at",
        )
        .bind(publisher)
        .bind(s.webhook_url.as_deref())
        .bind(s.webhook_secret.as_deref())
        .bind(s.email.as_deref())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn settings(&self, publisher: &str) -> Result<PublisherSettings, sqlx::Error> {
        let row = sqlx::query(
            "SELECT webhook_url, webhook_secret, email FROM publisher_settings WHERE publisher = $1",
        )
        .bind(publisher)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| PublisherSettings {
                webhook_url: r.get(0),
                webhook_secret: r.get(1),
                email: r.get(2),
            })
            .unwrap_or_default())
    }

    /// Stores a policy version and enqueues the re-certification of every live version
    /// against it, in one transaction; returns how many. `Ok(None)` when the version exists.
    pub async fn publish_policy(
        &self,
        version: &str,
        policy: &str,
        effective_at: i64,
    ) -> Result<Option<usize>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO policies (version, policy, effective_at, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(policy)
        .bind(effective_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        let live: Vec<String> =
            sqlx::query("SELECT submission FROM releases ORDER BY identifier, version")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        for submission in &live {
            enqueue_with(&mut tx, submission, Step::Recertify, Some(version), now).await?;
        }
        tx.commit().await?;
        Ok(Some(live.len()))
    }

    pub async fn policies(&self) -> Result<Vec<PolicyVersion>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT version, policy, effective_at, created_at FROM policies ORDER BY effective_at, created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PolicyVersion {
                version: r.get(0),
                policy: serde_json::from_str(r.get::<&str, _>(1)).unwrap_or(Value::Null),
                effective_at: r.get(2),
                created_at: r.get(3),
            })
            .collect())
    }

    /// The policy text of `version`, and its effective date.
    pub async fn policy(&self, version: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query("SELECT policy, effective_at FROM policies WHERE version = $1")
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// The newest policy version in effect at `at` (its text).
    pub async fn effective_policy(&self, at: i64) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT version, policy FROM policies WHERE effective_at <= $1 \
             ORDER BY effective_at DESC, created_at DESC LIMIT 1",
        )
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// The policy submissions are certified against now: the newest published version in
    /// effect (with `base`'s observation window: that is operational, not a criterion), else
    /// `base` (the operator's `--policy`, or the built-in one).
    pub async fn policy_in_effect(&self, base: &Policy) -> Result<Policy, PolicyError> {
        let Some((version, text)) = self
            .effective_policy(now_ms())
            .await
            .map_err(PolicyError::Db)?
        else {
            return Ok(base.clone());
        };
        let mut policy = Policy::parse(&text, &format!("policy version {version}"))
            .map_err(|e| PolicyError::Invalid(e.to_string()))?;
        policy.run_window_secs = base.run_window_secs;
        Ok(policy)
    }

    pub async fn recertifications(
        &self,
        version: &str,
    ) -> Result<Vec<Recertification>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT policy_version, identifier, version, submission, verdict, failing, created_at \
             FROM recertifications WHERE policy_version = $1 ORDER BY identifier, version",
        )
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Recertification {
                policy_version: r.get(0),
                identifier: r.get(1),
                version: r.get(2),
                submission: r.get(3),
                verdict: r.get(4),
                failing: serde_json::from_str(r.get::<&str, _>(5)).unwrap_or(Value::Null),
                created_at: r.get(6),
            })
            .collect())
    }

    /// Records a re-certification and, when it fails and this is the first time, the
    /// publisher's notification with one delivery job per channel it has set up — in one
    /// transaction, so a re-run records and notifies nothing twice.
    pub(crate) async fn recertified(
        &self,
        r: &Recertification,
        report: &str,
        publisher: &str,
        notification: Option<(&str, &Value, &[&str])>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let new = sqlx::query(
            "INSERT INTO recertifications (policy_version, identifier, version, submission, verdict, \
             failing, report, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (policy_version, identifier, version) DO NOTHING",
        )
        .bind(&r.policy_version)
        .bind(&r.identifier)
        .bind(&r.version)
        .bind(&r.submission)
        .bind(&r.verdict)
        .bind(r.failing.to_string())
        .bind(report)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if let (true, Some((subject, body, channels))) = (new, notification) {
            let id = uuid::Uuid::new_v4().simple().to_string();
            sqlx::query(
                "INSERT INTO notifications (id, publisher, kind, subject, body, created_at) \
                 VALUES ($1, $2, 'policy', $3, $4, $5)",
            )
            .bind(&id)
            .bind(publisher)
            .bind(subject)
            .bind(body.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for channel in channels {
                sqlx::query(
                    "INSERT INTO deliveries (notification, channel, state, attempts, updated_at) \
                     VALUES ($1, $2, 'pending', 0, $3)",
                )
                .bind(&id)
                .bind(*channel)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                enqueue_with(&mut tx, &id, Step::Deliver, Some(channel), now).await?;
            }
        }
        tx.commit().await
    }

    /// A publisher's inbox, newest first.
    pub async fn inbox(&self, publisher: &str) -> Result<Vec<Notification>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, publisher, kind, subject, body, created_at FROM notifications \
             WHERE publisher = $1 ORDER BY created_at DESC, id",
        )
        .bind(publisher)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id: String = r.get(0);
            let deliveries = sqlx::query(
                "SELECT channel, state, attempts, error FROM deliveries WHERE notification = $1 ORDER BY channel",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|d| {
                json!({"channel": d.get::<String, _>(0), "state": d.get::<String, _>(1),
                       "attempts": d.get::<i64, _>(2), "error": d.get::<Option<String>, _>(3)})
            })
            .collect::<Vec<_>>();
            out.push(Notification {
                id,
                publisher: r.get(1),
                kind: r.get(2),
                subject: r.get(3),
                body: serde_json::from_str(r.get::<&str, _>(4)).unwrap_or(Value::Null),
                created_at: r.get(5),
                deliveries: Value::Array(deliveries),
            });
        }
        Ok(out)
    }

    async fn notification(
        &self,
        id: &str,
    ) -> Result<Option<(String, String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT publisher, subject, body FROM notifications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    async fn delivery(
        &self,
        id: &str,
        channel: &str,
        state: &str,
        attempts: i64,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = $2, error = $3, updated_at = $4 \
             WHERE notification = $5 AND channel = $6",
        )
        .bind(state)
        .bind(attempts)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(channel)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// How notifications leave: the HTTP client for webhooks, SMTP for mail when configured.
#[derive(Debug, Clone)]
pub struct Notifier {
    http: reqwest::Client,
    /// `smtp://HOST:PORT` (`?tls=required` for STARTTLS) or `smtps://…`, and the sender.
    pub mail: Option<(String, String)>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new(None)
    }
}

impl Notifier {
    pub fn new(mail: Option<(String, String)>) -> Notifier {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("edgecert/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Notifier { http, mail }
    }
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

impl Pipeline {
    /// Re-certify a live version (the job's subject: its submission) statically against the
    /// policy version in the payload, by digest from the content store.
    pub(crate) async fn recertify(&self, job: &Job) -> Result<(), StepError> {
        let retry = |e: sqlx::Error| StepError::Retry(e.to_string());
        let version = job.payload.clone().unwrap_or_default();
        let (text, effective_at) = self
            .market
            .policy(&version)
            .await
            .map_err(retry)?
            .ok_or_else(|| StepError::Submission(format!("policy version {version} is gone")))?;
        let policy = Policy::parse(&text, &format!("policy version {version}"))
            .map_err(|e| StepError::Submission(e.to_string()))?;
        let s = self
            .market
            .submission(&job.submission)
            .await
            .map_err(retry)?
            .ok_or_else(|| StepError::Submission("the live version's submission is gone".into()))?;
        let offer = Offer::parse(s.offer.as_deref().unwrap_or("{}"), "offer.json")
            .map_err(|e| StepError::Submission(e.to_string()))?;
        let (_tmp, image) = self.export(&s, &offer).await?;
        let options = CertifyOptions {
            image,
            remote: edgecert_engine::image::remote::RemoteOptions::new(true),
            policy,
            published: None,
            threads: self.certification.threads,
            malware: self.certification.malware.clone(),
            cancel: Default::default(),
        };
        let report = tokio::task::spawn_blocking(move || {
            certify(&offer, &options, RunMode::NoRun, &NoProgress)
        })
        .await
        .map_err(|e| StepError::Retry(format!("the certification task: {e}")))?
        .map_err(|e| StepError::Retry(e.to_string()))?
        .report;
        // Statically: a blocking check that fails is a failure; the ingestion test did not
        // run (it ran when the version went live), so `incomplete` is a pass here.
        let failing: Vec<Value> = report
            .checks
            .iter()
            .filter(|c| c.severity == Severity::Blocking && c.status == Status::Fail)
            .map(|c| json!({"id": c.id, "name": c.name, "summary": c.summary}))
            .collect();
        let verdict = if report.verdict == Verdict::Fail {
            "fail"
        } else {
            "pass"
        };
        let r = Recertification {
            policy_version: version.clone(),
            identifier: s.identifier.clone(),
            version: s.version.clone().unwrap_or_default(),
            submission: s.id.clone(),
            verdict: verdict.to_owned(),
            failing: Value::Array(failing.clone()),
            created_at: now_ms(),
        };
        let settings = self.market.settings(&s.publisher).await.map_err(retry)?;
        let mut channels = Vec::new();
        if settings.webhook_url.is_some() {
            channels.push("webhook");
        }
        if settings.email.is_some() {
            channels.push("email");
        }
        let subject = format!(
            "{} {} fails policy {version} (effective {})",
            s.identifier,
            r.version,
            date(effective_at)
        );
        let body = json!({
            "event": "policy.recertification",
            "publisher": s.publisher,
            "policyVersion": version,
            "effectiveAt": effective_at,
            "effectiveDate": date(effective_at),
            "identifier": s.identifier,
            "version": r.version,
            "failing": failing,
            "consequence": "from the effective date this version leaves the catalog; its tags stay and pulls keep working",
        });
        let text = edgecert_engine::report::json::render(&report);
        let notify = (verdict == "fail").then_some((subject.as_str(), &body, channels.as_slice()));
        self.market
            .recertified(&r, &text, &s.publisher, notify)
            .await
            .map_err(retry)
    }

    /// Deliver a notification (subject) through the channel in the payload. `Ok(false)`: not
    /// delivered this time, retry later.
    pub(crate) async fn deliver(&self, job: &Job) -> Result<bool, StepError> {
        let retry = |e: sqlx::Error| StepError::Retry(e.to_string());
        let channel = job.payload.clone().unwrap_or_default();
        let (publisher, subject, body) = self
            .market
            .notification(&job.submission)
            .await
            .map_err(retry)?
            .ok_or_else(|| StepError::Submission("the notification is gone".into()))?;
        let settings = self.market.settings(&publisher).await.map_err(retry)?;
        let outcome: Result<(), String> = match channel.as_str() {
            "webhook" => match (&settings.webhook_url, &settings.webhook_secret) {
                (Some(url), Some(secret)) => {
                    let sent = self
                        .notifier
                        .http
                        .post(url)
                        .header("Content-Type", "application/json")
                        .header("X-Edgecert-Event", "policy.recertification")
                        .header("X-Edgecert-Delivery", &job.submission)
                        .header("X-Edgecert-Signature", signature(secret, body.as_bytes()))
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("{url} answered {}", r.status())),
                        Err(e) => Err(format!("{url}: {e}")),
                    }
                }
                _ => Err("no webhook is set up any more".into()),
            },
            "email" => match (&settings.email, &self.notifier.mail) {
                (Some(to), Some((url, from))) => send_mail(url, from, to, &subject, &body).await,
                (None, _) => Err("no e-mail address is set up any more".into()),
                (_, None) => Err("this marketplace has no SMTP server configured (--smtp)".into()),
            },
            other => Err(format!("unknown channel {other:?}")),
        };
        let attempts = job.attempts;
        match outcome {
            Ok(()) => {
                self.market
                    .delivery(&job.submission, &channel, "sent", attempts, None)
                    .await
                    .map_err(retry)?;
                Ok(true)
            }
            Err(why) if attempts < DELIVERY_ATTEMPTS => {
                self.market
                    .delivery(&job.submission, &channel, "pending", attempts, Some(&why))
                    .await
                    .map_err(retry)?;
                Err(StepError::Backoff(
                    why,
                    BACKOFF * 2u32.pow((attempts - 1).clamp(0, 16) as u32),
                ))
            }
            Err(why) => {
                self.market
                    .delivery(&job.submission, &channel, "failed", attempts, Some(&why))
                    .await
                    .map_err(retry)?;
                Err(StepError::GiveUp(why))
            }
        }
    }
}

/// `YYYY-MM-DD` of milliseconds since the epoch.
pub fn date(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn send_mail(
    url: &str,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut text = format!(
        "{subject}\n\nPolicy version {} takes effect on {}. Re-certified against it, {} {} fails these blocking checks:\n\n",
        v["policyVersion"].as_str().unwrap_or(""),
        v["effectiveDate"].as_str().unwrap_or(""),
        v["identifier"].as_str().unwrap_or(""),
        v["version"].as_str().unwrap_or(""),
    );
    for f in v["failing"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "  {} {}: {}\n",
            f["id"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or(""),
            f["summary"].as_str().unwrap_or("")
        ));
    }
    text.push_str("\nFrom that date this version leaves the catalog; its tags stay and pulls keep working. Submit a version that passes to stay listed.\n");
    let message = Message::builder()
        .from(from.parse().map_err(|e| format!("sender {from:?}: {e}"))?)
        .to(to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?)
        .subject(subject)
        .body(text)
        .map_err(|e| format!("building the message: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("SMTP URL {url:?}: {e}"))?
        .timeout(Some(Duration::from_secs(10)))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP {url}: {e}"))
}

// The API.

pub(crate) async fn post_policy(
    Extract(api): Extract<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManageAccounts).await?;
    let bad = |m: String| Error(StatusCode::BAD_REQUEST, "REQUEST_INVALID", m);
    let new: NewPolicy =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| bad(format!("at $.{}: {}", e.path(), e.inner())))?;
    let effective_at =
        parse_instant(&new.effective_at).map_err(|e| bad(format!("at $.effectiveAt: {e}")))?;
    let (version, text) = checked_policy(&new.version, &new.policy).map_err(bad)?;
    let version = version.as_str();
    match api
        .market
        .publish_policy(version, &text, effective_at)
        .await
        .map_err(internal)?
    {
        Some(n) => Ok((
            StatusCode::CREATED,
            axum::Json(json!({"version": version, "effectiveAt": effective_at, "recertifying": n})),
        )
            .into_response()),
        None => Err(Error(
            StatusCode::CONFLICT,
            "EXISTS",
            format!("policy version {version} exists; versions are immutable"),
        )),
    }
}

pub(crate) async fn list_policies(Extract(api): Extract<Api>) -> Result<Response, Error> {
    let items = api.market.policies().await.map_err(internal)?;
    Ok(axum::Json(Page { items, next: None }).into_response())
}

pub(crate) async fn recertifications(
    Extract(api): Extract<Api>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::Review).await?;
    if api
        .market
        .policy(&version)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!("no policy version {version}")));
    }
    let items = api
        .market
        .recertifications(&version)
        .await
        .map_err(internal)?;
    Ok(axum::Json(Page { items, next: None }).into_response())
}

pub(crate) async fn inbox(
    Extract(api): Extract<Api>,
    Path(publisher): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    api.authorize(&headers, Action::ManagePublisher(&publisher))
        .await?;
    let items = api.market.inbox(&publisher).await.map_err(internal)?;
    Ok(axum::Json(Page { items, next: None }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_instant(&json!("1970-01-01")), Ok(0));
        assert_eq!(parse_instant(&json!("2027-01-01")), Ok(1_798_761_600_000));
        assert_eq!(
            parse_instant(&json!("2000-02-29T12:00:00Z")),
            Ok(951_825_600_000)
        );
        assert_eq!(parse_instant(&json!(5)), Ok(5));
        for bad in ["2027-13-01", "27-01-01", "2027-01-01T10:00", "soon"] {
            assert!(parse_instant(&json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(date(1_798_761_600_000), "2027-01-01");
        assert_eq!(date(951_825_600_000), "2000-02-29");
    }
}
