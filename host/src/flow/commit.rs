//! The last steps of both flows: write the plan and the snapshot that
//! records it, as one commit under the tenant lock.
//!
//! The commit is idempotent (see [`TenantDir::commit`]): a resumed job
//! writes what is missing, and a file changed by someone else since the plan
//! was made stops the job before anything is written (`apply_conflict`).

use super::{FlowError, Recorded};
use crate::jobs::JobKind;
use crate::store::{SnapshotMeta, TenantDir, TenantLock, VerdictCounts, snapshot_id};

/// Commits `recorded`'s plan for job `job_id`, which reflected on the
/// agent run `source_run` if the platform named it; returns the snapshot id.
pub fn commit(
    tenant: &TenantDir,
    lock: &TenantLock,
    kind: JobKind,
    job_id: &str,
    source_run: Option<&str>,
    recorded: &Recorded,
) -> Result<String, FlowError> {
    let id = snapshot_id(recorded.created_at_ms, job_id);
    let meta = SnapshotMeta {
        id: id.clone(),
        tenant: tenant.name().to_string(),
        job_id: job_id.to_string(),
        kind: kind.as_str().to_string(),
        created_at_ms: recorded.created_at_ms,
        reasoning: recorded.proposal.reasoning.clone(),
        model: Some(recorded.model.clone()),
        tokens_in: recorded.tokens_in,
        tokens_out: recorded.tokens_out,
        decision: serde_json::to_value(&recorded.decision).ok(),
        files: recorded.plan.changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: recorded.raw_output.clone(),
        restores: None,
        source_run: source_run.map(str::to_string),
        reviewer: None,
    };
    let accepted = recorded.decision.accepted_count();
    let proposed = recorded.decision.proposed_count();
    let verdicts = VerdictCounts { accepted, rejected: proposed - accepted };
    tenant.commit(lock, &meta, &recorded.plan.changes, verdicts)?;
    Ok(id)
}
