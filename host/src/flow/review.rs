//! The last step of a reflection with held changes: queue each for a person
//! to decide (issue 12), with the decision that held it and the store
//! version it was decided against (the job's own snapshot).

use std::time::Duration;

use super::Recorded;
use crate::jobs::{JobId, NewReview};

/// The held changes of `recorded`, as reviews of job `job` that expire
/// `expire_after` from `now_ms`.
pub fn held(
    tenant: &str,
    job: JobId,
    snapshot_id: &str,
    recorded: &Recorded,
    now_ms: u64,
    expire_after: Duration,
) -> Vec<NewReview> {
    let decision = &recorded.decision;
    let memory = decision
        .memory
        .iter()
        .zip(&recorded.proposal.memory_changes)
        .map(|(d, change)| (d, serde_json::to_string(change)));
    let piece =
        decision.piece.iter().zip(&recorded.proposal.piece_edit).map(|(d, edit)| (d, serde_json::to_string(edit)));
    memory
        .chain(piece)
        .filter(|(verdict, _)| verdict.held)
        .map(|(verdict, change)| NewReview {
            tenant: tenant.to_string(),
            job_id: job,
            decision_id: decision.decision_id.clone(),
            // INVARIANT: proposals and decisions are plain data; serialising
            // them cannot fail.
            change: change.unwrap_or_default(),
            decision: serde_json::to_string(verdict).unwrap_or_default(),
            store_version: snapshot_id.to_string(),
            created_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(expire_after.as_millis() as u64),
        })
        .collect()
}
