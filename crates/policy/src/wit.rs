//! Host bindings for `wit/policy.wit` and the conversions from memwarden's
//! own types into them. Nothing outside the policy runtime sees these types.

use super::index::TenantIndex;
use super::model::{Context, MemoryChange, Op, Proposal, RunOutcome};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "policy-module",
});

pub(crate) use memwarden::policy::types as wit;

/// The proposal as the guests see it, with each piece edit's `before` filled
/// in from the tenant's current pieces.
pub(crate) fn proposal(proposal: &Proposal, index: &TenantIndex) -> wit::Proposal {
    wit::Proposal {
        reasoning: proposal.reasoning.clone(),
        memory_changes: proposal.memory_changes.iter().map(memory_change).collect(),
        piece_edit: proposal.piece_edit.as_ref().map(|edit| wit::PieceEdit {
            piece: edit.piece.clone(),
            before: index.piece(&edit.piece).map(str::to_string),
            after: edit.yaml.clone(),
        }),
    }
}

fn memory_change(change: &MemoryChange) -> wit::MemoryChange {
    wit::MemoryChange {
        op: match change.op {
            Op::Add => wit::Op::Add,
            Op::Update => wit::Op::Update,
            Op::Remove => wit::Op::Remove,
        },
        name: change.name.clone(),
        description: change.description.clone(),
        entry_type: change.entry_type.clone(),
        body: change.body.clone(),
        merge_target: change.merge_target.clone(),
    }
}

pub(crate) fn context(context: &Context) -> wit::Context {
    wit::Context {
        tenant: context.tenant.clone(),
        job_id: context.job_id.clone(),
        piece: context.piece.clone(),
        run_outcome: match context.run_outcome {
            RunOutcome::Succeeded => wit::RunOutcome::Succeeded,
            RunOutcome::Failed => wit::RunOutcome::Failed,
            RunOutcome::Aborted => wit::RunOutcome::Aborted,
            RunOutcome::Consolidation => wit::RunOutcome::Consolidation,
        },
        now_ms: context.now_ms,
        piece_edits: context
            .piece_edits
            .iter()
            .map(|edit| wit::PieceEditRecord { piece: edit.piece.clone(), at_ms: edit.at_ms })
            .collect(),
        recent_writes: context.recent_writes.clone(),
    }
}
