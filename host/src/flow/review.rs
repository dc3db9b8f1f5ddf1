//! The last step of a reflection with held changes: queue each for a person
//! to decide (issue 12), with the decision that held it and the store
//! version it was decided against (the job's own snapshot). A held merge is
//! one review: its changes stand or fall together, so a reviewer approves
//! or denies them together (`change` and `decision` are then JSON arrays).

use std::time::Duration;

use super::Recorded;
use crate::jobs::{JobId, JobKind, NewReview};

/// What one review decides: held memory changes (one, or a merge's,
/// which stand or fall together), or the held piece edit.
enum Unit {
    Memory(Vec<usize>),
    Piece,
}

/// The reviews `recorded` needs, in proposal order.
fn units(recorded: &Recorded) -> Vec<Unit> {
    let decision = &recorded.decision;
    let groups = recorded.proposal.change_groups();
    let mut units = Vec::new();
    for (i, verdict) in decision.memory.iter().enumerate() {
        match groups.iter().find(|group| group.contains(&i)) {
            _ if !verdict.held => {}
            // Queued once, with its first member.
            Some(group) if group[0] != i => {}
            Some(group) => units.push(Unit::Memory(group.clone())),
            None => units.push(Unit::Memory(vec![i])),
        }
    }
    if decision.piece.as_ref().is_some_and(|verdict| verdict.held) {
        units.push(Unit::Piece);
    }
    units
}

/// How many reviews the held changes of `recorded` make.
pub fn count(recorded: &Recorded) -> usize {
    units(recorded).len()
}

/// The held changes of `recorded`, as reviews of job `job` (of `kind`; a
/// consolidation's `job` is its run) that expire `expire_after` from
/// `now_ms`.
pub fn held(
    tenant: &str,
    (kind, job): (JobKind, JobId),
    snapshot_id: &str,
    recorded: &Recorded,
    now_ms: u64,
    expire_after: Duration,
) -> Vec<NewReview> {
    let decision = &recorded.decision;
    let proposal = &recorded.proposal;
    let review = |change: String, verdict: String| NewReview {
        tenant: tenant.to_string(),
        job_id: job,
        job_kind: kind,
        decision_id: decision.decision_id.clone(),
        change,
        decision: verdict,
        store_version: snapshot_id.to_string(),
        created_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(expire_after.as_millis() as u64),
    };
    let memory = |i: usize| (&proposal.memory_changes[i], &decision.memory[i]);
    units(recorded)
        .into_iter()
        .filter_map(|unit| match unit {
            Unit::Memory(members) if members.len() == 1 => {
                let (change, verdict) = memory(members[0]);
                Some(review(json(change), json(verdict)))
            }
            Unit::Memory(members) => {
                let (changes, verdicts): (Vec<_>, Vec<_>) = members.into_iter().map(memory).unzip();
                Some(review(json(&changes), json(&verdicts)))
            }
            Unit::Piece => Some(review(json(proposal.piece_edit.as_ref()?), json(decision.piece.as_ref()?))),
        })
        .collect()
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // INVARIANT: proposals and decisions are plain data; serialising them
    // cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}
