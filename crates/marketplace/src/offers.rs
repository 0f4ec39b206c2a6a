//! Offers as publishers store them (`PUT /api/v1/offers/{identifier}`): the `offer.json` text,
//! kept as sent, by identifier.

use edgecert_engine::evaluate;
use edgecert_engine::facts::ImageFacts;
use edgecert_engine::offer::{Offer, OfferError};
use edgecert_engine::policy::Policy;
use edgecert_engine::report::Status;
use sqlx::Row;

use crate::db::{Market, now_ms};
use crate::model::OfferFinding;
use crate::submissions::{State, Submission};

/// A stored offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOffer {
    pub identifier: String,
    pub publisher: String,
    /// `offer.json` as the publisher sent it.
    pub offer: String,
    pub updated_at: i64,
}

impl Market {
    /// Creates or replaces the offer `identifier`.
    pub async fn put_offer(
        &self,
        identifier: &str,
        publisher: &str,
        offer: &str,
    ) -> Result<StoredOffer, sqlx::Error> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO offers (identifier, publisher, offer, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (identifier) DO UPDATE SET offer = excluded.offer, updated_at = excluded.updated_at",
        )
        .bind(identifier)
        .bind(publisher)
        .bind(offer)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(StoredOffer {
            identifier: identifier.to_owned(),
            publisher: publisher.to_owned(),
            offer: offer.to_owned(),
            updated_at: now,
        })
    }

    pub async fn offer(&self, identifier: &str) -> Result<Option<StoredOffer>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT identifier, publisher, offer, updated_at FROM offers WHERE identifier = $1",
        )
        .bind(identifier)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| StoredOffer {
            identifier: r.get(0),
            publisher: r.get(1),
            offer: r.get(2),
            updated_at: r.get(3),
        }))
    }

    /// A publisher's offers, by identifier.
    pub async fn offers_of_publisher(
        &self,
        publisher: &str,
    ) -> Result<Vec<StoredOffer>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT identifier, publisher, offer, updated_at FROM offers WHERE publisher = $1 ORDER BY identifier",
        )
        .bind(publisher)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| StoredOffer {
                identifier: r.get(0),
                publisher: r.get(1),
                offer: r.get(2),
                updated_at: r.get(3),
            })
            .collect())
    }

    /// Submissions of an offer, newest first.
    pub async fn submissions_of(&self, identifier: &str) -> Result<Vec<Submission>, sqlx::Error> {
        self.submissions_where("identifier = $1 ORDER BY created_at DESC, id", identifier)
            .await
    }

    /// A publisher's submissions, newest first.
    pub async fn submissions_of_publisher(
        &self,
        publisher: &str,
    ) -> Result<Vec<Submission>, sqlx::Error> {
        self.submissions_where("publisher = $1 ORDER BY created_at DESC, id", publisher)
            .await
    }

    /// The review queue: submissions in review, oldest first.
    pub async fn review_queue(&self) -> Result<Vec<Submission>, sqlx::Error> {
        self.submissions_where(
            "state = $1 ORDER BY created_at, id",
            State::InReview.as_str(),
        )
        .await
    }

    async fn submissions_where(
        &self,
        condition: &'static str,
        value: &str,
    ) -> Result<Vec<Submission>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM submissions WHERE {condition}",
            crate::submissions::COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().filter_map(crate::submissions::row).collect())
    }
}

/// What the checks say about `offer` alone: every failing check's findings that point into
/// `offer.json` (`offer.json: legal.privacyPolicyUrl` → `legal.privacyPolicyUrl`). The same
/// `evaluate` the pipeline runs, with no image read yet: checks that need one skip.
pub fn offer_findings(offer: &Offer, policy: &Policy) -> Vec<OfferFinding> {
    let (report, _) = evaluate(offer, &ImageFacts::default(), policy, None, None);
    let mut out = Vec::new();
    for c in &report.checks {
        if c.status != Status::Fail {
            continue;
        }
        for f in &c.findings {
            let Some(path) = f.location.as_ref().and_then(|l| l.offer_path()) else {
                continue;
            };
            out.push(OfferFinding {
                check: c.id.clone(),
                severity: serde_json::to_value(c.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                path: if path.is_empty() {
                    "$".into()
                } else {
                    path.to_owned()
                },
                message: f.message.clone(),
                help: f.help.clone(),
            });
        }
    }
    out
}

/// Why an offer text was not accepted for `identifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferRejected {
    /// Not `offer.json` as the CLI's parser reads it: where (JSON path) and what.
    Invalid { path: String, message: String },
    /// Valid, but its `publisher.offer.plan` is not `identifier` (or incomplete).
    Mismatch { found: Option<String> },
}

impl std::fmt::Display for OfferRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OfferRejected::Invalid { path, message } => write!(f, "at {path}: {message}"),
            OfferRejected::Mismatch { found } => write!(
                f,
                "the offer's publisher.offer.plan is {}",
                found.as_deref().unwrap_or("incomplete")
            ),
        }
    }
}

/// Parses `text` with the CLI's parser (the same offers are valid in both places) and holds
/// it to `identifier`.
pub fn parse_offer_for(identifier: &str, text: &str) -> Result<Offer, OfferRejected> {
    let offer = Offer::parse(text, "offer.json").map_err(|e| match &e {
        OfferError::Shape {
            json_path, message, ..
        } => OfferRejected::Invalid {
            path: json_path.clone(),
            message: message.clone(),
        },
        other => OfferRejected::Invalid {
            path: "$".into(),
            message: other.to_string(),
        },
    })?;
    match offer.identifier() {
        Some(id) if id == identifier => Ok(offer),
        found => Err(OfferRejected::Mismatch { found }),
    }
}
