//! Offers as publishers store them (`PUT /api/v1/offers/{identifier}`): the `offer.json` text,
//! kept as sent, by identifier.

use sqlx::Row;

use crate::db::{Market, now_ms};
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
