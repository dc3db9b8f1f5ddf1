//! Changes that stand or fall together. A merge is one decision: a `remove`
//! with a `merge_target` and every change to that target in the same
//! proposal form a group (so does a rename, which proposals spell as the new
//! entry plus the removal of the old one merged into it). If any member is
//! rejected, every member is (`group_member_rejected`); else if any is held,
//! every member is held (`group_member_held`). Without this, a rejected
//! update of the target and an accepted removal lost the merged entry.

use super::super::decision::{ChangeDecision, HOST_MODULE, RejectionRecord, codes};
use super::super::model::{MemoryChange, Proposal};

/// Binds the verdicts of each group of `proposal` ([`Proposal::change_groups`])
/// in `decisions`, one per memory change.
pub(super) fn bind(proposal: &Proposal, decisions: &mut [ChangeDecision]) {
    let changes = &proposal.memory_changes;
    for group in proposal.change_groups() {
        let Some(rejected) = group.iter().copied().find(|&i| decisions[i].rejected()) else {
            if let Some(held) = group.iter().copied().find(|&i| decisions[i].held) {
                let message = format!("stands or falls with {}, which is held for review", describe(&changes[held]));
                for &member in &group {
                    let decision = &mut decisions[member];
                    if decision.accepted {
                        decision.accepted = false;
                        decision.held = true;
                        decision.amended = None;
                        decision.holds.push(host_record(codes::GROUP_MEMBER_HELD, &message));
                    }
                }
            }
            continue;
        };
        let reason = decisions[rejected]
            .rejections
            .iter()
            .find(|r| !r.advisory)
            .map_or_else(String::new, |r| format!(" (`{}`)", r.code));
        let message = format!("stands or falls with {}, which was rejected{reason}", describe(&changes[rejected]));
        for &member in &group {
            let decision = &mut decisions[member];
            if !decision.rejected() {
                decision.accepted = false;
                decision.held = false;
                decision.amended = None;
                decision.rejections.push(host_record(codes::GROUP_MEMBER_REJECTED, &message));
            }
        }
    }
}

fn describe(change: &MemoryChange) -> String {
    format!("the {} of `{}`", change.op.as_str(), change.name.escape_debug())
}

fn host_record(code: &str, message: &str) -> RejectionRecord {
    RejectionRecord {
        module: HOST_MODULE.to_string(),
        code: code.to_string(),
        message: message.to_string(),
        advisory: false,
    }
}
