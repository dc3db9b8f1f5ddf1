//! The decision id: a digest of everything that decides a decision.

use sha2::{Digest, Sha256};

use super::super::TenantIndex;
use super::super::model::{Context, Proposal};

/// The id of a decision, derived from everything that decides it — the
/// pack revision, the proposal, the context (job id and clock included) and
/// the index — so a replay of the same inputs has the same id, and a retried
/// job that sees the same store records the same decision. Fields are fed
/// to the hash length-prefixed, as they are: serialising them first cost a
/// quarter of a one-module evaluation.
pub(super) fn decision_id(revision: &str, proposal: &Proposal, context: &Context, index: &TenantIndex) -> String {
    let mut id = IdHasher(Sha256::new());
    id.text(revision);
    id.text(&proposal.reasoning);
    id.number(proposal.memory_changes.len() as u64);
    for change in &proposal.memory_changes {
        id.text(change.op.as_str());
        id.text(&change.name);
        for field in [&change.description, &change.entry_type, &change.body, &change.merge_target] {
            id.optional(field.as_deref());
        }
    }
    id.optional(proposal.piece_edit.as_ref().map(|edit| edit.piece.as_str()));
    id.optional(proposal.piece_edit.as_ref().map(|edit| edit.yaml.as_str()));
    for text in [&context.tenant, &context.job_id, &context.piece] {
        id.text(text);
    }
    id.text(context.run_outcome.as_str());
    id.number(context.now_ms);
    id.number(context.piece_edits.len() as u64);
    for edit in &context.piece_edits {
        id.text(&edit.piece);
        id.number(edit.at_ms);
    }
    id.number(context.recent_writes.len() as u64);
    for &at in &context.recent_writes {
        id.number(at);
    }
    id.number(index.digest());
    format!("dec-{}", hex::encode(&id.0.finalize()[..8]))
}

/// Feeds fields to a hash so that no two different sequences of fields
/// give the same bytes.
struct IdHasher(Sha256);

impl IdHasher {
    fn number(&mut self, value: u64) {
        self.0.update(value.to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.number(text.len() as u64);
        self.0.update(text.as_bytes());
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.0.update([1]);
                self.text(text);
            }
            None => self.0.update([0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_ids_follow_the_inputs() {
        let proposal = Proposal::from_json(r#"{"reasoning": "r"}"#).expect("valid");
        let context = Context { job_id: "job-1".to_string(), ..Context::default() };
        let index = TenantIndex::default();
        let id = decision_id("rev", &proposal, &context, &index);
        assert_eq!(id, decision_id("rev", &proposal, &context, &index), "same inputs, same id");
        assert!(id.starts_with("dec-") && id.len() == 20, "{id}");
        let other_job = Context { job_id: "job-2".to_string(), ..Context::default() };
        assert_ne!(id, decision_id("rev", &proposal, &other_job, &index));
        assert_ne!(id, decision_id("rev2", &proposal, &context, &index));
    }
}
