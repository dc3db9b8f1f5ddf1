//! The job store: durable queue of reflection jobs with leases.
//!
//! One trait, [`JobStore`], and its backends (SQLite here; PostgreSQL
//! implements the same trait and passes the same conformance suite,
//! `tests/all/job_store.rs`). Callers pass the time in; no backend reads a
//! clock, so lease expiry and retry backoff are testable without sleeping.
//!
//! Ownership: a claim hands out a fresh token; every later update matches on
//! it, so a worker that lost its lease can neither extend nor overwrite the
//! new owner's work. Read [`JobStore::claim`] first.
//!
//! This module knows nothing of LLMs, policies or files.

mod sqlite;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use sqlite::SqliteJobStore;

use crate::policy::RunOutcome;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job-{}", self.0)
    }
}

/// The proof of ownership a claim hands out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseToken(pub String);

/// What kind of work a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Reflect on one agent run.
    Reflection,
}

impl JobKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reflection => "reflection",
        }
    }
}

/// What a reflection job works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReflectionPayload {
    /// The piece the agent ran.
    pub piece: String,
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The run's activity log (trimmed when the prompt is built).
    pub activity_log: String,
}

/// A reflection to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReflection {
    /// The tenant.
    pub tenant: String,
    /// What to reflect on.
    pub payload: ReflectionPayload,
    /// A retried request with the same key enqueues nothing new.
    pub idempotency_key: Option<String>,
    /// Attempts before the job is dead.
    pub max_attempts: u32,
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job.
    pub id: JobId,
    /// False when the idempotency key matched an existing job.
    pub created: bool,
}

/// A job this worker now owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The job.
    pub id: JobId,
    /// Proof of ownership for every later update.
    pub token: LeaseToken,
    /// The tenant.
    pub tenant: String,
    /// What to work on.
    pub payload: ReflectionPayload,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// What an earlier attempt recorded before writing, if it got that far.
    pub recorded: Option<String>,
}

/// How a finished job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// At least one change was applied.
    Succeeded,
    /// Nothing proposed, or everything rejected.
    Abstained,
}

impl JobOutcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Succeeded => "succeeded",
            JobOutcome::Abstained => "abstained",
        }
    }
}

/// What a failure report led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// The job will be retried at this time.
    Retrying {
        /// When, in ms since the Unix epoch.
        at_ms: u64,
    },
    /// No retries left; the job is kept as dead with its last error.
    Dead,
    /// The token no longer owns the job; nothing changed.
    LostOwnership,
}

/// A job as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// The tenant.
    pub tenant: String,
    /// `queued`, `running`, `succeeded` or `dead`.
    pub status: String,
    /// `succeeded`, `abstained` or `failed`, once known.
    pub outcome: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// Code of the last failure.
    pub last_error_code: Option<String>,
    /// Message of the last failure.
    pub last_error: Option<String>,
    /// The snapshot written, if any.
    pub snapshot_id: Option<String>,
    /// When the job may next be claimed.
    pub run_after_ms: u64,
}

/// A metrics row: one per job that reached an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsRow {
    /// The job.
    pub job_id: JobId,
    /// The tenant.
    pub tenant: String,
    /// The job kind.
    pub kind: JobKind,
    /// `succeeded`, `abstained` or `failed`.
    pub outcome: String,
    /// The failure's code, for a failed job.
    pub reason_code: Option<String>,
    /// Memory changes written.
    pub changes_applied: u32,
    /// Whether the piece was edited.
    pub piece_edited: bool,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// Wall time of the attempt, in ms.
    pub duration_ms: u64,
    /// Rejection counts by code.
    pub rejections: std::collections::BTreeMap<String, u32>,
    /// When, in ms since the Unix epoch.
    pub created_at_ms: u64,
}

/// Why the job store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobStoreError {
    /// The database is busy beyond the busy timeout.
    #[error("the job database is busy: {0}")]
    Busy(String),
    /// The database failed or is unreachable.
    #[error("job database error: {0}")]
    Database(String),
    /// A row does not hold what this version expects.
    #[error("job `{id}` is corrupt: {reason}")]
    Corrupt {
        /// The job.
        id: i64,
        /// What is wrong.
        reason: String,
    },
}

impl JobStoreError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            JobStoreError::Busy(_) => "db_busy",
            JobStoreError::Database(_) => "db_error",
            JobStoreError::Corrupt { .. } => "db_corrupt",
        }
    }
}

/// The durable queue. Every method takes `now_ms`; none reads a clock.
pub trait JobStore: Send + Sync {
    /// Adds a reflection job, or returns the one with the same key.
    fn enqueue_reflection(
        &self,
        job: &NewReflection,
        now_ms: u64,
    ) -> impl Future<Output = Result<Enqueued, JobStoreError>> + Send;

    /// Claims the oldest due job of `kind`: queued, or running with an
    /// expired lease (its owner is presumed dead). Hands out a fresh token.
    fn claim(
        &self,
        kind: JobKind,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<Option<Claim>, JobStoreError>> + Send;

    /// Claims job `id` if it is claimable now (as [`JobStore::claim`] would
    /// judge it): for running one given job in the foreground.
    fn claim_id(
        &self,
        id: JobId,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<Option<Claim>, JobStoreError>> + Send;

    /// Extends the lease; false once `token` no longer owns the job.
    fn heartbeat(
        &self,
        id: JobId,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Stores what the job decided, before it writes anything; false once
    /// `token` no longer owns the job.
    fn record(
        &self,
        id: JobId,
        token: &LeaseToken,
        recorded: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Marks the job finished; false (and nothing changed) once `token` no
    /// longer owns it.
    fn succeed(
        &self,
        id: JobId,
        token: &LeaseToken,
        outcome: JobOutcome,
        snapshot_id: Option<&str>,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Reports a failed attempt: retried after `retry_delay_ms`, or dead
    /// when no attempts are left or the delay is `None` (nothing to retry).
    fn fail(
        &self,
        id: JobId,
        token: &LeaseToken,
        code: &str,
        message: &str,
        retry_delay_ms: Option<u64>,
        now_ms: u64,
    ) -> impl Future<Output = Result<FailOutcome, JobStoreError>> + Send;

    /// Adds a metrics row.
    fn record_metrics(&self, row: &MetricsRow) -> impl Future<Output = Result<(), JobStoreError>> + Send;

    /// The job's current state.
    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<JobStatus>, JobStoreError>> + Send;

    /// Metrics rows of `tenant`, oldest first.
    fn metrics(&self, tenant: &str) -> impl Future<Output = Result<Vec<MetricsRow>, JobStoreError>> + Send;
}

/// A fresh, unguessable lease token.
pub(crate) fn new_token() -> LeaseToken {
    let mut bytes = [0u8; 16];
    // INVARIANT: getrandom only fails when the OS has no entropy source,
    // in which case nothing here can work; fall back to a counter-free
    // value that is at least unique per process and moment.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    LeaseToken(hex::encode(bytes))
}
