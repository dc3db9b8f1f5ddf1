//! The review queue (issue 12): changes a policy held for a person to
//! decide. One row per held change, kept with the job and decision that
//! held it and the store version it was decided against, until someone
//! approves or denies it, or it expires (as denied).
//!
//! The queue only records; deciding what an approval may apply is the
//! host's job, which re-runs the checks on the store as it is then.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{JobId, JobKind, JobStoreError};

/// A review's id.
pub type ReviewId = i64;

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a person.
    Pending,
    /// Approved and applied.
    Approved,
    /// Denied: nothing applied.
    Denied,
    /// Nobody decided in time: denied by the host.
    Expired,
}

impl ReviewStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Denied => "denied",
            ReviewStatus::Expired => "expired",
        }
    }

    /// The status `text` names.
    pub fn parse(text: &str) -> Option<ReviewStatus> {
        [ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Denied, ReviewStatus::Expired]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A held change to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The tenant whose store the change is for.
    pub tenant: String,
    /// The job that proposed it.
    pub job_id: JobId,
    /// Its kind: a reflection, or a consolidation (whose `job_id` is the
    /// run number).
    pub job_kind: JobKind,
    /// The decision that held it.
    pub decision_id: String,
    /// The change, as JSON (a memory change, or a piece edit).
    pub change: String,
    /// Its verdicts, as JSON (the change's part of the decision record).
    pub decision: String,
    /// The store it was decided against (the last snapshot's id).
    pub store_version: String,
    /// When it was held, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// When it expires as denied.
    pub expires_at_ms: u64,
}

/// A review as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The review's id.
    pub id: ReviewId,
    /// Where it stands.
    pub status: ReviewStatus,
    /// The tenant.
    pub tenant: String,
    /// The job that proposed the change.
    pub job_id: i64,
    /// Its kind (`reflection`, `consolidation`, …).
    pub job_kind: String,
    /// The decision that held it.
    pub decision_id: String,
    /// The change, as JSON.
    pub change: String,
    /// Its verdicts, as JSON.
    pub decision: String,
    /// The store it was decided against.
    pub store_version: String,
    /// When it was held.
    pub created_at_ms: u64,
    /// When it expires.
    pub expires_at_ms: u64,
    /// Who approved or denied it (`expiry` when it expired).
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at_ms: Option<u64>,
    /// Why, as the reviewer wrote it.
    pub reason: Option<String>,
    /// The snapshot an approval was applied as.
    pub snapshot_id: Option<String>,
}

/// How a review ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution<'a> {
    /// `Approved` or `Denied`.
    pub status: ReviewStatus,
    /// Who decided.
    pub by: &'a str,
    /// Why, if they said.
    pub reason: Option<&'a str>,
    /// The snapshot an approval was applied as.
    pub snapshot_id: Option<&'a str>,
    /// When.
    pub now_ms: u64,
}

/// The review queue, in the job database.
pub trait ReviewQueue: Send + Sync {
    /// Queues held changes; returns their ids, in order.
    fn add_reviews(&self, reviews: &[NewReview]) -> impl Future<Output = Result<Vec<ReviewId>, JobStoreError>> + Send;

    /// The tenant's reviews, oldest first; only those in `status` if given.
    fn reviews(
        &self,
        tenant: &str,
        status: Option<ReviewStatus>,
    ) -> impl Future<Output = Result<Vec<Review>, JobStoreError>> + Send;

    /// One review.
    fn review(&self, id: ReviewId) -> impl Future<Output = Result<Option<Review>, JobStoreError>> + Send;

    /// Ends a pending review; false when it was not pending (someone else
    /// decided first, or it expired).
    fn resolve_review(
        &self,
        id: ReviewId,
        resolution: &Resolution<'_>,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Expires (as denied) every pending review whose time is up; returns
    /// the tenants of those expired, one per review.
    fn expire_reviews(&self, now_ms: u64) -> impl Future<Output = Result<Vec<String>, JobStoreError>> + Send;

    /// Pending reviews per tenant, of the tenants that have any.
    fn pending_reviews(&self) -> impl Future<Output = Result<Vec<(String, u64)>, JobStoreError>> + Send;
}

/// The columns every review query returns, in [`Review`]'s order (a macro:
/// sqlx takes only static SQL).
macro_rules! review_columns {
    () => {
        "id, status, tenant, job_id, decision_id, change, decision, store_version, created_at_ms, expires_at_ms,
         resolved_by, resolved_at_ms, reason, snapshot_id, job_kind"
    };
}
pub(crate) use review_columns;

/// Implements [`ReviewQueue`] for `$store`: the same SQL on both backends.
macro_rules! review_queue_impl {
    ($store:ty, $row:ty) => {
        use crate::JobStoreError;
        use crate::reviews::{NewReview, Resolution, Review, ReviewId, ReviewQueue, ReviewStatus};

        fn review_row(row: &$row) -> Result<Review, sqlx::Error> {
            use sqlx::Row as _;
            let status: String = row.try_get(1)?;
            let status = ReviewStatus::parse(&status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown review status `{status}`").into())
            })?;
            Ok(Review {
                id: row.try_get(0)?,
                status,
                tenant: row.try_get(2)?,
                job_id: row.try_get(3)?,
                decision_id: row.try_get(4)?,
                change: row.try_get(5)?,
                decision: row.try_get(6)?,
                store_version: row.try_get(7)?,
                created_at_ms: row.try_get::<i64, _>(8)? as u64,
                expires_at_ms: row.try_get::<i64, _>(9)? as u64,
                resolved_by: row.try_get(10)?,
                resolved_at_ms: row.try_get::<Option<i64>, _>(11)?.map(|at| at as u64),
                reason: row.try_get(12)?,
                snapshot_id: row.try_get(13)?,
                job_kind: row.try_get(14)?,
            })
        }

        impl ReviewQueue for $store {
            /// Query behavior: one insert per review, in one transaction;
            /// a job whose reviews are queued already (a resumed job queues
            /// again) gets its existing ids back.
            async fn add_reviews(&self, reviews: &[NewReview]) -> Result<Vec<ReviewId>, JobStoreError> {
                let mut tx = self.pool.begin().await.map_err(database)?;
                let mut ids = Vec::with_capacity(reviews.len());
                if let Some(first) = reviews.first() {
                    let queued = sqlx::query("SELECT id FROM reviews WHERE job_id = $1 AND decision_id = $2 ORDER BY id")
                        .bind(first.job_id.0)
                        .bind(&first.decision_id)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(database)?;
                    if !queued.is_empty() {
                        return Ok(queued.iter().map(|row| sqlx::Row::get(row, 0)).collect());
                    }
                }
                for review in reviews {
                    let row = sqlx::query(
                        "INSERT INTO reviews (tenant, job_id, decision_id, change, decision, store_version,
                             created_at_ms, expires_at_ms, job_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         RETURNING id",
                    )
                    .bind(&review.tenant)
                    .bind(review.job_id.0)
                    .bind(&review.decision_id)
                    .bind(&review.change)
                    .bind(&review.decision)
                    .bind(&review.store_version)
                    .bind(crate::sql::ms(review.created_at_ms))
                    .bind(crate::sql::ms(review.expires_at_ms))
                    .bind(review.job_kind.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(database)?;
                    ids.push(sqlx::Row::get(&row, 0));
                }
                tx.commit().await.map_err(database)?;
                Ok(ids)
            }

            /// Query behavior: one indexed read.
            async fn reviews(&self, tenant: &str, status: Option<ReviewStatus>) -> Result<Vec<Review>, JobStoreError> {
                const SQL: &str = concat!(
                    "SELECT ",
                    crate::reviews::review_columns!(),
                    " FROM reviews WHERE tenant = $1 AND (CAST($2 AS TEXT) IS NULL OR status = $2) ORDER BY id"
                );
                let rows = sqlx::query(SQL)
                    .bind(tenant)
                    .bind(status.map(ReviewStatus::as_str))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                rows.iter().map(review_row).collect::<Result<_, _>>().map_err(database)
            }

            /// Query behavior: one read by primary key.
            async fn review(&self, id: ReviewId) -> Result<Option<Review>, JobStoreError> {
                const SQL: &str = concat!("SELECT ", crate::reviews::review_columns!(), " FROM reviews WHERE id = $1");
                let row = sqlx::query(SQL).bind(id).fetch_optional(&self.pool).await.map_err(database)?;
                row.as_ref().map(review_row).transpose().map_err(database)
            }

            /// Query behavior: one conditional update, so two reviewers
            /// cannot both decide.
            async fn resolve_review(&self, id: ReviewId, resolution: &Resolution<'_>) -> Result<bool, JobStoreError> {
                let done = sqlx::query(
                    "UPDATE reviews SET status = $2, resolved_by = $3, reason = $4, snapshot_id = $5, resolved_at_ms = $6
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(resolution.status.as_str())
                .bind(resolution.by)
                .bind(resolution.reason)
                .bind(resolution.snapshot_id)
                .bind(crate::sql::ms(resolution.now_ms))
                .execute(&self.pool)
                .await
                .map_err(database)?;
                Ok(done.rows_affected() == 1)
            }

            /// Query behavior: one update of the pending rows due.
            async fn expire_reviews(&self, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
                let rows = sqlx::query(
                    "UPDATE reviews SET status = 'expired', resolved_by = 'expiry', resolved_at_ms = $1
                     WHERE status = 'pending' AND expires_at_ms <= $1 RETURNING tenant",
                )
                .bind(crate::sql::ms(now_ms))
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
                Ok(rows.iter().map(|row| sqlx::Row::get(row, 0)).collect())
            }

            /// Query behavior: one grouped count over the pending rows.
            async fn pending_reviews(&self) -> Result<Vec<(String, u64)>, JobStoreError> {
                let rows = sqlx::query(
                    "SELECT tenant, COUNT(*) FROM reviews WHERE status = 'pending' GROUP BY tenant ORDER BY tenant",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
                Ok(rows.iter().map(|row| (sqlx::Row::get(row, 0), sqlx::Row::get::<i64, _>(row, 1) as u64)).collect())
            }
        }
    };
}
pub(crate) use review_queue_impl;
