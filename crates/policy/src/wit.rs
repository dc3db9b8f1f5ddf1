//! Host bindings for the policy worlds and the conversions from memwarden's
//! own types into them. Nothing outside the policy runtime sees these types.
//!
//! Two worlds load: `memwarden:policy@0.2` (`wit/policy.wit`, the current
//! one) and `@0.1` (`wit/v0.1/policy.wit`). Their types are alike but for
//! the verdict; bindgen makes them distinct Rust types, so the conversions
//! into them are written once, as a macro, for both.

use super::index::TenantIndex;
use super::model::{Context, MemoryChange, Op, Proposal, RunOutcome};

wasmtime::component::bindgen!({
    path: "../../wit/policy.wit",
    world: "policy-module",
});

pub(crate) use memwarden::policy::types as wit;

/// `proposal(&Proposal, &TenantIndex)` and `context(&Context)` into the
/// types of the world whose `types` module is `$types`.
macro_rules! conversions {
    ($types:path) => {
        use $types as t;

        /// The proposal as the guests see it, with each piece edit's
        /// `before` filled in from the tenant's current pieces.
        pub(crate) fn proposal(proposal: &Proposal, index: &TenantIndex) -> t::Proposal {
            t::Proposal {
                reasoning: proposal.reasoning.clone(),
                memory_changes: proposal.memory_changes.iter().map(memory_change).collect(),
                piece_edit: proposal.piece_edit.as_ref().map(|edit| t::PieceEdit {
                    piece: edit.piece.clone(),
                    before: index.piece(&edit.piece).map(str::to_string),
                    after: edit.yaml.clone(),
                }),
            }
        }

        fn memory_change(change: &MemoryChange) -> t::MemoryChange {
            t::MemoryChange {
                op: match change.op {
                    Op::Add => t::Op::Add,
                    Op::Update => t::Op::Update,
                    Op::Remove => t::Op::Remove,
                },
                name: change.name.clone(),
                description: change.description.clone(),
                entry_type: change.entry_type.clone(),
                body: change.body.clone(),
                merge_target: change.merge_target.clone(),
            }
        }

        pub(crate) fn context(context: &Context) -> t::Context {
            t::Context {
                tenant: context.tenant.clone(),
                job_id: context.job_id.clone(),
                piece: context.piece.clone(),
                run_outcome: match context.run_outcome {
                    RunOutcome::Succeeded => t::RunOutcome::Succeeded,
                    RunOutcome::Failed => t::RunOutcome::Failed,
                    RunOutcome::Aborted => t::RunOutcome::Aborted,
                    RunOutcome::Consolidation => t::RunOutcome::Consolidation,
                },
                now_ms: context.now_ms,
                piece_edits: context
                    .piece_edits
                    .iter()
                    .map(|edit| t::PieceEditRecord { piece: edit.piece.clone(), at_ms: edit.at_ms })
                    .collect(),
                recent_writes: context.recent_writes.clone(),
            }
        }
    };
}

conversions!(memwarden::policy::types);

/// The 0.1 world: accept or reject only.
pub(crate) mod v1 {
    use super::{Context, MemoryChange, Op, Proposal, RunOutcome, TenantIndex, wit};

    wasmtime::component::bindgen!({
        path: "../../wit/v0.1/policy.wit",
        world: "policy-module",
    });

    conversions!(memwarden::policy::types);

    /// A 0.1 answer in 0.2 terms: its two verdicts exist there unchanged.
    pub(crate) fn decision(decision: t::Decision) -> wit::Decision {
        let verdict = |verdict: t::Verdict| match verdict {
            t::Verdict::Accept => wit::Verdict::Accept,
            t::Verdict::Reject(r) => wit::Verdict::Reject(wit::Rejection { code: r.code, message: r.message }),
        };
        wit::Decision { memory: decision.memory.into_iter().map(verdict).collect(), piece: decision.piece.map(verdict) }
    }

    pub(crate) fn module_info(info: t::ModuleInfo) -> wit::ModuleInfo {
        let codes = info.codes.into_iter().map(|c| wit::CodeInfo { code: c.code, summary: c.summary }).collect();
        wit::ModuleInfo { name: info.name, version: info.version, codes }
    }

    pub(crate) fn entry_summary(summary: wit::EntrySummary) -> t::EntrySummary {
        let wit::EntrySummary { name, entry_type, description, body_bytes, body_hash, fingerprint, updated_at_ms } =
            summary;
        t::EntrySummary { name, entry_type, description, body_bytes, body_hash, fingerprint, updated_at_ms }
    }

    pub(crate) fn index_stats(stats: wit::IndexStats) -> t::IndexStats {
        t::IndexStats { entries: stats.entries, body_bytes: stats.body_bytes }
    }
}

/// A memory change a module returned (an amendment), in memwarden's terms.
pub(crate) fn memory_change_from(change: wit::MemoryChange) -> MemoryChange {
    MemoryChange {
        op: match change.op {
            wit::Op::Add => Op::Add,
            wit::Op::Update => Op::Update,
            wit::Op::Remove => Op::Remove,
        },
        name: change.name,
        description: change.description,
        entry_type: change.entry_type,
        body: change.body,
        merge_target: change.merge_target,
    }
}

/// The inputs of one evaluation in the types of each world, each built the
/// first time a module of that world runs.
pub(crate) struct Inputs<'a> {
    proposal: &'a Proposal,
    context: &'a Context,
    index: &'a TenantIndex,
    v2: std::cell::OnceCell<(wit::Proposal, wit::Context)>,
    v1: std::cell::OnceCell<(v1::memwarden::policy::types::Proposal, v1::memwarden::policy::types::Context)>,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(proposal: &'a Proposal, context: &'a Context, index: &'a TenantIndex) -> Inputs<'a> {
        Inputs { proposal, context, index, v2: Default::default(), v1: Default::default() }
    }

    /// The proposal the modules decide on, in memwarden's own types.
    pub(crate) fn model(&self) -> &Proposal {
        self.proposal
    }

    pub(crate) fn index(&self) -> &TenantIndex {
        self.index
    }

    pub(crate) fn context(&self) -> &Context {
        self.context
    }

    pub(crate) fn v2(&self) -> &(wit::Proposal, wit::Context) {
        self.v2.get_or_init(|| (proposal(self.proposal, self.index), context(self.context)))
    }

    pub(crate) fn v1(&self) -> &(v1::memwarden::policy::types::Proposal, v1::memwarden::policy::types::Context) {
        self.v1.get_or_init(|| (v1::proposal(self.proposal, self.index), v1::context(self.context)))
    }
}
