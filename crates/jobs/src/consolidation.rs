//! Consolidation in the job store: one row per tenant with an input
//! watermark (raised by every reflection that changed something) and a
//! success watermark (raised by a consolidation that finished). The tenant
//! is dirty while input > success.
//!
//! A claim copies the input watermark; success raises the success watermark
//! only to that copy, so input that arrives during a run keeps the tenant
//! dirty for the next one. At most one live lease per tenant: a second
//! claimer is told `skipped_running`; an expired lease is failed
//! (`owner_gone`, one retry spent) and taken over.

use serde::Serialize;

use super::LeaseToken;
pub use super::OWNER_GONE;

/// What [`super::JobStore::claim_consolidation`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsolidationClaim {
    /// Nothing new since the last success, retries exhausted, or in retry
    /// backoff.
    SkippedNotDirty,
    /// Another worker holds a live lease.
    SkippedRunning,
    /// This worker owns the tenant's consolidation now.
    Claimed(ConsolidationLease),
}

impl ConsolidationClaim {
    /// As a status label: `skipped_not_dirty`, `skipped_running`, `claimed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConsolidationClaim::SkippedNotDirty => "skipped_not_dirty",
            ConsolidationClaim::SkippedRunning => "skipped_running",
            ConsolidationClaim::Claimed(_) => "claimed",
        }
    }
}

/// A claimed consolidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsolidationLease {
    /// The tenant.
    pub tenant: String,
    /// Proof of ownership for every later update.
    pub token: LeaseToken,
    /// The input watermark at the claim; pass it to `succeed_consolidation`.
    pub input_watermark: u64,
    /// Snapshot index lines consolidated by earlier successes: the raw notes
    /// of this run start after them.
    pub notes_cursor: u64,
    /// This tenant's consolidation run number, from 1 (names the snapshot).
    pub run: u64,
}

impl ConsolidationLease {
    /// The job id this run writes into snapshots and metrics.
    pub fn job_id(&self) -> String {
        format!("consolidation-{}", self.run)
    }
}

/// A tenant's consolidation row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsolidationState {
    /// The tenant.
    pub tenant: String,
    /// Raised by every input.
    pub input_watermark: u64,
    /// Raised by every success, to the watermark it claimed.
    pub success_watermark: u64,
    /// `idle`, `running`, `failed` or `dead`.
    pub status: String,
    /// Attempts left before new input is needed.
    pub retries_left: u32,
    /// No claim before this time (retry backoff).
    pub next_attempt_ms: u64,
    /// Runs claimed so far.
    pub runs: u64,
    /// The lease holder, while one holds it.
    pub lease_owner: Option<String>,
    /// Code of the last failure.
    pub last_error_code: Option<String>,
    /// Message of the last failure.
    pub last_error: Option<String>,
    /// When the last success finished.
    pub last_succeeded_ms: Option<u64>,
}

impl ConsolidationState {
    /// Whether there is input no consolidation has covered yet.
    pub fn is_dirty(&self) -> bool {
        self.input_watermark > self.success_watermark
    }
}
