//! The decision log: the jobs that decided and committed, with what they
//! recorded (the proposal, the context, the verdicts), for a replay of
//! past traffic under another pack and for the verification of past
//! decisions (issue 13). Reads only.

use std::future::Future;

use super::{JobId, JobStoreError};

/// Which decided jobs to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecisionFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only jobs created at or after this time (ms since the Unix epoch).
    pub since_ms: u64,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A reflection (or an MCP proposal) that decided and committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedJob {
    /// The job.
    pub id: JobId,
    /// Its tenant.
    pub tenant: String,
    /// When it was enqueued, in ms.
    pub created_at_ms: u64,
    /// The snapshot its commit wrote.
    pub snapshot_id: String,
    /// What it recorded before writing (JSON).
    pub recorded: String,
}

/// Reads the decision log.
pub trait DecisionLog: Send + Sync {
    /// The reflections and MCP proposals `filter` picks that recorded a
    /// decision and committed it, newest first.
    fn decided_jobs(
        &self,
        filter: &DecisionFilter,
    ) -> impl Future<Output = Result<Vec<DecidedJob>, JobStoreError>> + Send;
}

/// Implements [`DecisionLog`] for `$store`.
macro_rules! decision_log_impl {
    ($store:ty) => {
        use crate::decisions::{DecidedJob, DecisionFilter, DecisionLog};

        impl DecisionLog for $store {
            async fn decided_jobs(&self, filter: &DecisionFilter) -> Result<Vec<DecidedJob>, crate::JobStoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, tenant, created_at_ms, snapshot_id, recorded FROM jobs
                     WHERE kind IN ('reflection', 'mcp') AND status = 'succeeded'
                         AND recorded IS NOT NULL AND snapshot_id IS NOT NULL
                         AND (CAST($1 AS TEXT) IS NULL OR tenant = $1) AND created_at_ms >= $2
                     ORDER BY id DESC LIMIT $3",
                )
                .bind(filter.tenant.as_deref())
                .bind(crate::sql::ms(filter.since_ms))
                .bind(i64::from(filter.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
                let decided = rows.iter().map(|row| -> Result<DecidedJob, sqlx::Error> {
                    Ok(DecidedJob {
                        id: crate::JobId(row.try_get(0)?),
                        tenant: row.try_get(1)?,
                        created_at_ms: row.try_get::<i64, _>(2)? as u64,
                        snapshot_id: row.try_get(3)?,
                        recorded: row.try_get(4)?,
                    })
                });
                decided.collect::<Result<_, _>>().map_err(database)
            }
        }
    };
}
pub(crate) use decision_log_impl;
