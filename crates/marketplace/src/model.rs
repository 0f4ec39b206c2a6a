//! What the API takes and answers, as types: the handlers build these, and the OpenAPI
//! document (`/api/v1/openapi.json`, [`crate::openapi`]) is generated from the same types, so
//! the document cannot drift from what is served.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::submissions::Submission;

/// A submission: one version of an offer on its way through the pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionView {
    pub id: String,
    /// `publisher.offer.plan`.
    pub identifier: String,
    /// The image as submitted (`staging/<publisher>/<name>:<tag>`).
    pub source: String,
    /// The exact version tag it publishes.
    pub version: Option<String>,
    /// queued, ingesting, certifying, failed, incomplete, in-review, rejected, approved,
    /// preview, live, withdrawn.
    pub state: String,
    /// pass, fail or incomplete, once certified.
    pub verdict: Option<String>,
    /// The image's digest, once ingested.
    pub digest: Option<String>,
    /// Why it failed, is incomplete or was rejected.
    pub reason: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Submission> for SubmissionView {
    fn from(s: &Submission) -> Self {
        SubmissionView {
            id: s.id.clone(),
            identifier: s.identifier.clone(),
            source: s.source.clone(),
            version: s.version.clone(),
            state: s.state.as_str().to_owned(),
            verdict: s.verdict.clone(),
            digest: s.digest.clone(),
            reason: s.reason.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A list, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The next page's cursor (`page=` for the catalog), or null on the last page.
    pub next: Option<String>,
}

/// One entry of a submission's timeline (also the server-sent events' `id`, `event`, `data`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EventView {
    pub seq: i64,
    pub at: i64,
    /// `state`, `ingested`, `progress`, `go-live`, `error`.
    pub kind: String,
    pub data: String,
}

/// `PUT /offers/{identifier}`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferStored {
    pub identifier: String,
    pub updated_at: i64,
    /// The checks' offer-level findings (the policy in effect), at once: the image is
    /// certified later, by the pipeline.
    #[serde(default)]
    pub findings: Vec<OfferFinding>,
}

/// A check's finding about `offer.json` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferFinding {
    /// The check's id (`EC903`).
    pub check: String,
    /// `blocking`, `warning` or `info`, as the policy says.
    pub severity: String,
    /// The offer field, as a dotted path (`legal.privacyPolicyUrl`, `support[0].value`).
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// An offer as stored, with its submissions (newest first).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    pub identifier: String,
    /// `offer.json` as stored.
    pub offer: Value,
    pub updated_at: i64,
    pub submissions: Vec<SubmissionView>,
}

/// `POST /offers/{identifier}/submissions`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SubmitRequest {
    /// The image: `staging/<publisher>/<name>:<tag>` (or `@<digest>`) of this registry.
    pub image: String,
}

/// `POST /submissions/{id}/reject`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RejectRequest {
    /// What the publisher will read.
    pub reason: String,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable: UNAUTHORIZED, FORBIDDEN, NOT_FOUND, STATE_CONFLICT, OFFER_INVALID, …
    pub code: String,
    /// For people; names the JSON path of a bad field (`at $.image.tags[0]: …`).
    pub message: String,
}

/// A live module as the catalog lists it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub identifier: String,
    pub publisher: String,
    pub name: String,
    pub summary: String,
    pub sub_category: String,
    /// The newest live version.
    pub version: String,
    /// Every tag of its public repository.
    pub tags: Vec<String>,
    pub platforms: Vec<String>,
    /// `docker pull HOST/<identifier>:<default tag>`.
    pub pull: String,
    pub updated_at: i64,
}

/// `GET /catalog`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CatalogPage {
    pub items: Vec<CatalogItem>,
    pub next: Option<String>,
    /// Matching modules on every page.
    pub total: usize,
}

/// A tag of a live module: exact (never moves) or rolling (moves forward with new versions).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TagView {
    pub tag: String,
    /// `exact` or `rolling`.
    pub kind: String,
    /// The version it resolves to now.
    pub version: Option<String>,
    pub digest: Option<String>,
    pub pull: String,
}

/// A version that went live.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    pub version: String,
    pub digest: String,
    /// The tags written when it went live.
    pub tags: Vec<String>,
    pub live_at: i64,
}

/// The listed version's certification.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificationSummary {
    pub verdict: Value,
    /// The policy it was certified against (`id`, `version`).
    pub policy: Value,
    /// Malware engines and their rule / database versions.
    pub engines: Value,
    /// The edgecert that certified it.
    pub tool: Value,
    pub passed: usize,
    pub failed: usize,
    /// Non-blocking checks that failed.
    pub warnings: usize,
    /// What a human reviewer judged.
    pub review: Value,
    pub certified_at: i64,
}

/// Pulls counted by the registry.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Downloads {
    pub total: u64,
    pub by_tag: std::collections::BTreeMap<String, u64>,
    /// `YYYY-MM-DD` → pulls.
    pub by_day: std::collections::BTreeMap<String, u64>,
}

/// `GET /catalog/{identifier}`: everything a module page shows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogDetail {
    pub identifier: String,
    pub publisher: String,
    pub name: String,
    pub summary: String,
    pub sub_category: String,
    pub version: String,
    pub tags: Vec<TagView>,
    pub platforms: Vec<String>,
    pub pull: String,
    pub updated_at: i64,
    /// The offer's description (HTML, as the publisher wrote it; EC502 limits it to basic
    /// markup, and pages sanitize it again when they render it).
    pub description: Value,
    pub use_case: Value,
    /// Configuration docs: env, twin, routes, createOptions.
    pub documentation: Value,
    /// The default settings: createOptions, env, twin, routes.
    pub defaults: Value,
    pub device: Value,
    pub legal: Value,
    pub support: Value,
    pub certification: CertificationSummary,
    /// Newest first.
    pub versions: Vec<VersionView>,
    pub downloads: Downloads,
}

/// A new account (or a new token of one): the token is shown here once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NewAccount {
    pub name: String,
    /// admin, publisher or reviewer.
    pub role: String,
    pub publisher: Option<String>,
    /// The API token: `Authorization: Bearer <token>`, and the registry password.
    pub token: String,
}

/// Where a publisher's notifications go (policy changes that affect its live modules).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublisherSettings {
    /// Deliveries are POSTed here, signed: `X-Edgecert-Signature: sha256=<hex HMAC-SHA256 of
    /// the body with the secret>`.
    pub webhook_url: Option<String>,
    /// Write-only: answers show `"***"`.
    pub webhook_secret: Option<String>,
    /// Mail goes here when the marketplace has SMTP configured.
    pub email: Option<String>,
}

impl PublisherSettings {
    /// The settings without the secret, for answers.
    pub fn redacted(&self) -> PublisherSettings {
        PublisherSettings {
            webhook_secret: self.webhook_secret.as_ref().map(|_| "***".to_owned()),
            ..self.clone()
        }
    }
}
