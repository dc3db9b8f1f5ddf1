//! The memwarden job store: a durable queue of reflection jobs with leases,
//! and each tenant's consolidation state (see [`consolidation`]).
//!
//! One trait, [`JobStore`], and its backends — [`SqliteJobStore`] for one
//! machine, [`PgJobStore`] for many — which pass the same conformance suite,
//! `tests/all/job_store/`. Callers pass the time in; no backend reads a
//! clock, so lease expiry and retry backoff are testable without sleeping.
//!
//! Ownership: a claim hands out a fresh token; every later update matches on
//! it, so a worker that lost its lease can neither extend nor overwrite the
//! new owner's work. Read [`JobStore::claim`] first.
//!
//! What it does not do: it knows nothing of LLMs, policies or tenant files.
//! Its tree holds sqlx and tokio, and no wasm runtime or HTTP stack (a test
//! checks).

#![deny(missing_docs)]

mod any;
pub mod consolidation;
pub mod decisions;
pub mod idempotency;
mod postgres;
pub mod reviews;
mod rows;
mod shard;
mod sql;
mod sqlite;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use any::AnyJobStore;
pub use consolidation::{ConsolidationClaim, ConsolidationLease, ConsolidationState};
pub use decisions::{DecidedJob, DecisionFilter, DecisionLog};
pub use idempotency::{IdempotencyKey, IdempotencyKeyError};
pub use postgres::PgJobStore;
pub use reviews::{NewReview, Resolution, Review, ReviewId, ReviewQueue, ReviewStatus};
pub use shard::{Shard, ShardError};
pub use sqlite::SqliteJobStore;

use memwarden_model::RunOutcome;

/// Failure code of an attempt whose owner vanished without a word: its
/// lease expired unrenewed. Reflections and consolidations alike.
pub const OWNER_GONE: &str = "owner_gone";

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
    /// Compact one tenant's memory.
    Consolidation,
    /// A proposal an agent sent over MCP, decided and applied at once in
    /// the caller (issue 14): opened running by [`JobStore::start_direct`],
    /// never queued, so no worker claims it.
    Mcp,
}

impl JobKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reflection => "reflection",
            JobKind::Consolidation => "consolidation",
            JobKind::Mcp => "mcp",
        }
    }

    /// From its stored form.
    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "reflection" => Some(JobKind::Reflection),
            "consolidation" => Some(JobKind::Consolidation),
            "mcp" => Some(JobKind::Mcp),
            _ => None,
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
    /// The agent platform's id of the run, kept with every entry version
    /// the job writes (provenance; at most [`MAX_SOURCE_RUN_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run: Option<String>,
}

/// Longest `source_run` a job takes, in bytes.
pub const MAX_SOURCE_RUN_BYTES: usize = 200;

/// Why `run` cannot be a `source_run`, if it cannot: empty, too long, or
/// holding a control character (it is printed in logs and listings).
pub fn source_run_problem(run: &str) -> Option<String> {
    if run.trim().is_empty() {
        return Some("source_run is empty".to_string());
    }
    if run.len() > MAX_SOURCE_RUN_BYTES {
        return Some(format!("source_run is {} bytes, over {MAX_SOURCE_RUN_BYTES}", run.len()));
    }
    run.chars().any(char::is_control).then(|| "source_run holds a control character".to_string())
}

/// A reflection to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReflection {
    /// The tenant.
    pub tenant: String,
    /// What to reflect on.
    pub payload: ReflectionPayload,
    /// A retried request with the same key enqueues nothing new; the same
    /// key with a different request is refused.
    pub idempotency_key: Option<IdempotencyKey>,
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

/// A job opened to run at once in its caller ([`JobStore::start_direct`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The job.
    pub id: JobId,
    /// Proof of ownership for `record`, `succeed` and `fail`.
    pub token: LeaseToken,
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
    /// Some changes wait in the review queue (whatever else was accepted
    /// is applied).
    Held,
}

impl JobOutcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Succeeded => "succeeded",
            JobOutcome::Abstained => "abstained",
            JobOutcome::Held => "held",
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
    /// What the job decided (JSON of a `Recorded`), once it got that far.
    #[serde(skip)]
    pub recorded: Option<String>,
}

/// A metrics row: one per job that reached an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsRow {
    /// The job: a reflection's id, or a consolidation's run number.
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
    /// The idempotency key was used before, for a different request.
    #[error("idempotency key `{key}` was already used for a different request ({id})")]
    IdempotencyConflict {
        /// The key, as given.
        key: String,
        /// The job the key names.
        id: JobId,
    },
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
            JobStoreError::IdempotencyConflict { .. } => "idempotency_conflict",
            JobStoreError::Corrupt { .. } => "db_corrupt",
        }
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The agent platform's key: enqueue and read, never approve.
    Agent,
    /// A person's key: also approve and deny held changes.
    Reviewer,
}

impl KeyRole {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Agent => "agent",
            KeyRole::Reviewer => "reviewer",
        }
    }

    /// The role `text` names.
    pub fn parse(text: &str) -> Option<KeyRole> {
        [KeyRole::Agent, KeyRole::Reviewer].into_iter().find(|role| role.as_str() == text)
    }
}

/// A stored API key, found by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its tenant.
    pub tenant: String,
    /// What it may do.
    pub role: KeyRole,
    /// The note given when it was made.
    pub label: Option<String>,
}

/// The durable queue. Every method takes `now_ms`; none reads a clock.
pub trait JobStore: reviews::ReviewQueue + decisions::DecisionLog + Send + Sync {
    /// Adds a reflection job, or returns the one with the same key; a key
    /// reused for a different request is [`JobStoreError::IdempotencyConflict`].
    fn enqueue_reflection(
        &self,
        job: &NewReflection,
        now_ms: u64,
    ) -> impl Future<Output = Result<Enqueued, JobStoreError>> + Send;

    /// Opens a job of `kind` that its caller runs at once rather than a
    /// worker later (a proposal over MCP): inserted `running`, one attempt
    /// spent and none left to retry, owned by a fresh token under a lease
    /// of `lease_ms`; the caller ends it with `succeed` or `fail`. `payload`
    /// is the request as JSON, kept for the record.
    fn start_direct(
        &self,
        kind: JobKind,
        tenant: &str,
        payload: &str,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<Started, JobStoreError>> + Send;

    /// Claims the oldest due queued job of `kind`, handing out a fresh
    /// token. First, every job of `kind` whose lease expired (its owner is
    /// presumed dead) is failed as [`OWNER_GONE`], spending one attempt:
    /// requeued while attempts are left, dead once they are spent — so a
    /// job that kills its worker every time still ends (issue 9, item 1).
    /// The SQL stores look for expired leases at most once a second per
    /// kind, and whenever nothing else is claimable.
    fn claim(
        &self,
        kind: JobKind,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<Option<Claim>, JobStoreError>> + Send;

    /// Claims job `id` if it is claimable now (as [`JobStore::claim`] would
    /// judge it, an expired lease spending an attempt first): for running
    /// one given job in the foreground.
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

    /// Marks `tenant` dirty: raises its input watermark to `watermark`, or
    /// to the old one + 1 when `watermark` is not larger; resets retries
    /// (to `max_attempts`) and backoff; leaves a running consolidation
    /// running. Returns the new input watermark.
    fn enqueue_consolidation(
        &self,
        tenant: &str,
        watermark: u64,
        max_attempts: u32,
        now_ms: u64,
    ) -> impl Future<Output = Result<u64, JobStoreError>> + Send;

    /// Claims `tenant`'s consolidation if it is dirty, not in backoff, has
    /// retries left and no live lease. An expired lease is first failed as
    /// [`consolidation::OWNER_GONE`], then taken over.
    fn claim_consolidation(
        &self,
        tenant: &str,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<ConsolidationClaim, JobStoreError>> + Send;

    /// Extends the lease; false once `token` no longer owns it.
    fn heartbeat_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Ends a run: the success watermark becomes the larger of the old one
    /// and `watermark` (the claimed one), the notes cursor likewise;
    /// retries are reset. False, and nothing changed, once `token` no
    /// longer owns the lease.
    fn succeed_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        watermark: u64,
        notes_cursor: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, JobStoreError>> + Send;

    /// Reports a failed run: retried after `retry_delay_ms`, or dead (until
    /// new input) when no retries are left or the delay is `None`.
    fn fail_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        code: &str,
        message: &str,
        retry_delay_ms: Option<u64>,
        now_ms: u64,
    ) -> impl Future<Output = Result<FailOutcome, JobStoreError>> + Send;

    /// The fallback for stuck rows: every lease that expired is failed as
    /// [`consolidation::OWNER_GONE`] (one retry spent). Returns the tenants.
    fn fail_abandoned_consolidations(
        &self,
        now_ms: u64,
    ) -> impl Future<Output = Result<Vec<String>, JobStoreError>> + Send;

    /// Tenants whose consolidation could be claimed now and last started at
    /// least `min_interval_ms` ago, least recently started first.
    fn due_consolidations(
        &self,
        min_interval_ms: u64,
        limit: u32,
        now_ms: u64,
    ) -> impl Future<Output = Result<Vec<String>, JobStoreError>> + Send;

    /// `tenant`'s consolidation row, if it has one.
    fn consolidation(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Option<ConsolidationState>, JobStoreError>> + Send;

    /// Reflection jobs waiting to run (queued, or running with an expired
    /// lease and an attempt left after it).
    fn queue_depth(&self, now_ms: u64) -> impl Future<Output = Result<u64, JobStoreError>> + Send;

    /// Stores an API key of `tenant` by its SHA-256 (hex); returns its id.
    fn add_api_key(
        &self,
        tenant: &str,
        key_sha256: &str,
        role: KeyRole,
        label: Option<&str>,
        now_ms: u64,
    ) -> impl Future<Output = Result<i64, JobStoreError>> + Send;

    /// The key with this SHA-256, if any.
    fn api_key(&self, key_sha256: &str) -> impl Future<Output = Result<Option<ApiKey>, JobStoreError>> + Send;

    /// Waits for the database's lock on `tenant`, held until the guard is
    /// dropped: what keeps hosts that share a data directory from applying
    /// to one tenant at once. Taken before the tenant store's own lock. A
    /// single-host backend (SQLite) leaves this to the store's file lock.
    fn lock_tenant(&self, tenant: &str) -> impl Future<Output = Result<TenantDbLock, JobStoreError>> + Send;
}

/// A database lock on one tenant; released when dropped.
pub struct TenantDbLock {
    _guard: Option<Box<dyn Send + Sync>>,
}

impl TenantDbLock {
    /// No database lock: the backend serves one host.
    pub fn none() -> TenantDbLock {
        TenantDbLock { _guard: None }
    }

    /// A lock released when `guard` is dropped.
    pub(crate) fn held(guard: impl Send + Sync + 'static) -> TenantDbLock {
        TenantDbLock { _guard: Some(Box::new(guard)) }
    }
}

/// Counters every flow keeps, through the `metrics` facade.
pub mod metric_names {
    /// Finished job attempts. Tags: `kind` (`reflection`, `consolidation`, `mcp`),
    /// `outcome` (`succeeded`, `abstained`, `failed`, `lost_ownership`, …).
    pub const JOBS: &str = "memwarden_jobs_total";
    /// Attempts abandoned because another worker took the lease over. Tags:
    /// `kind`.
    pub const LEASE_LOSSES: &str = "memwarden_lease_losses_total";
    /// Review-queue events. Tags: `outcome` (`held`, `approved`, `denied`,
    /// `expired`).
    pub const REVIEWS: &str = "memwarden_reviews_total";
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
