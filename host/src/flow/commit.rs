//! The last steps of both flows: write the plan and the snapshot that
//! records it, as one commit under the tenant lock.
//!
//! The commit is idempotent (see [`TenantDir::commit`]): a resumed job
//! writes what is missing, and a file changed by someone else since the plan
//! was made stops the job before anything is written (`apply_conflict`).

use super::{FlowError, Recorded};
use crate::store::{SnapshotMeta, TenantDir, TenantLock, VerdictCounts, snapshot_id};

/// Who made a change set, as its snapshot records it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// `reflection`, `consolidation`, `review`, `forget` or `unmerge`.
    pub kind: &'a str,
    /// The job, or the operator action's own id.
    pub job_id: &'a str,
    /// The agent run the change came from, if the platform named it.
    pub source_run: Option<&'a str>,
    /// Who approved it, for an approved review.
    pub reviewer: Option<&'a str>,
}

/// Commits `recorded`'s plan, made by `origin`; returns the snapshot id.
pub fn commit(
    tenant: &TenantDir,
    lock: &TenantLock,
    origin: &Origin<'_>,
    recorded: &Recorded,
) -> Result<String, FlowError> {
    let id = snapshot_id(recorded.created_at_ms, origin.job_id);
    let meta = SnapshotMeta {
        id: id.clone(),
        tenant: tenant.name().to_string(),
        job_id: origin.job_id.to_string(),
        kind: origin.kind.to_string(),
        created_at_ms: recorded.created_at_ms,
        reasoning: recorded.proposal.reasoning.clone(),
        model: Some(recorded.model.clone()).filter(|model| !model.is_empty()),
        tokens_in: recorded.tokens_in,
        tokens_out: recorded.tokens_out,
        decision: serde_json::to_value(&recorded.decision).ok(),
        files: recorded.plan.changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: recorded.raw_output.clone(),
        restores: None,
        source_run: origin.source_run.map(str::to_string),
        reviewer: origin.reviewer.map(str::to_string),
    };
    let accepted = recorded.decision.accepted_count();
    let proposed = recorded.decision.proposed_count();
    let held = recorded.decision.held_count();
    let verdicts = VerdictCounts { accepted, rejected: proposed.saturating_sub(accepted + held), held };
    tenant.commit(lock, &meta, &recorded.plan.changes, verdicts)?;
    Ok(id)
}
