//! [`RulePack::evaluate`]: host checks, then every module in pack order on
//! the whole proposal, each in a fresh store. Infallible by design: a module
//! that fails becomes a `policy_error` rejection of every change, recorded
//! with its reason, and evaluation goes on (fail closed). A module in audit
//! mode has its verdicts recorded as advisory, unless they are core guards.
//! How verdicts on one change combine is in [`tally`]; which changes stand
//! or fall together, in [`groups`].
//!
//! The record is bounded whatever the proposal: a proposal over the change
//! ceiling gets one refusal and no module runs; names and messages are cut
//! so that all the messages of one record share a fixed budget (issue 9).

mod groups;
mod id;
mod tally;

use std::time::Instant;

use super::TenantIndex;
use super::decision::{
    AmendedChange, ChangeDecision, DecisionRecord, HOST_MODULE, ModuleRun, PackRef, Refusal, RejectionRecord, codes,
    is_core_guard,
};
use super::engine::{LoadedModule, describe_failure};
use super::host_checks::{self, HostRejection, HostVerdicts};
use super::model::{Context, Proposal};
use super::pack::{PackModule, RulePack};
use super::wit::{Inputs, wit as types};
use id::decision_id;
use tally::{Source, Tally};

/// How much text one decision record keeps (issue 9).
mod record_limits {
    /// Longest rejection message kept, in bytes.
    pub const MAX_MESSAGE_BYTES: usize = 1024;
    /// Shortest share of the budget a message gets, in bytes.
    pub const MIN_MESSAGE_BYTES: usize = 80;
    /// Bytes of all rejection messages of one record together; each
    /// possible message (changes × (modules + host)) gets an equal share.
    pub const MESSAGE_BUDGET_BYTES: usize = 128 * 1024;
    /// Longest change name kept, in bytes: longer names are unsafe and
    /// refused anyway (`crate::names::MAX_NAME_BYTES`).
    pub const MAX_NAME_BYTES: usize = crate::names::MAX_NAME_BYTES;
}

use record_limits::*;

/// The host, whose verdicts always bind.
const HOST: Source<'static> = Source { module: HOST_MODULE, advisory: false };

impl RulePack {
    /// Decides on every change of `proposal`. Same inputs, same verdicts.
    pub fn evaluate(&self, proposal: &Proposal, context: &Context, index: &TenantIndex) -> DecisionRecord {
        let started = Instant::now();
        // 1. A proposal over a ceiling of the whole is refused whole, with
        //    one rejection, before any module runs.
        if let Some((code, message)) = host_checks::check_whole(proposal, &self.rules) {
            let rejection = RejectionRecord {
                module: HOST_MODULE.to_string(),
                code: code.to_string(),
                message: truncate(message, MAX_MESSAGE_BYTES),
                advisory: false,
            };
            let changes = proposal.memory_changes.len() + usize::from(proposal.piece_edit.is_some());
            let refused = Some(Refusal { rejection, changes });
            let id = decision_id(&self.revision, proposal, context, index);
            return self.record(id, context, refused, Vec::new(), None, Vec::new(), started);
        }

        let cap =
            message_cap(proposal.memory_changes.len() + usize::from(proposal.piece_edit.is_some()), self.modules.len());
        let mut memory: Vec<Tally> = proposal
            .memory_changes
            .iter()
            .map(|change| Tally::memory(change, truncate(change.name.clone(), MAX_NAME_BYTES), cap))
            .collect();
        let mut piece =
            proposal.piece_edit.as_ref().map(|edit| Tally::piece(truncate(edit.piece.clone(), MAX_NAME_BYTES), cap));

        // 2. Host-level checks of each change, which no pack can switch off.
        // INVARIANT: host verdicts are never advisory, whatever the mode.
        let mut every_change = targets(&mut memory, piece.as_mut(), |_| true);
        take_host(&mut every_change, host_checks::check(proposal, context, &self.rules));

        // 3. Every module, in pack order, on the whole proposal.
        let mut modules = Vec::with_capacity(self.modules.len());
        let inputs = Inputs::new(proposal, context, index);
        self.run_modules(&inputs, &mut every_change, false, &mut modules);

        // 4. Amended changes are checked once more, by the host and every
        //    module, on the proposal as amended: an amendment is a new change.
        if let Some(amended) = amended_proposal(proposal, &memory, piece.as_ref()) {
            let rechecked: Vec<bool> = memory.iter().map(|tally| tally.to_recheck().is_some()).collect();
            let piece = piece.as_mut().filter(|tally| tally.to_recheck().is_some());
            let mut rechecked = targets(&mut memory, piece, |i| rechecked[i]);
            take_host(&mut rechecked, host_checks::check(&amended, context, &self.rules));
            let inputs = Inputs::new(&amended, context, index);
            self.run_modules(&inputs, &mut rechecked, true, &mut modules);
        }

        // 5. Verdicts combine per change; then changes that stand or fall
        //    together (a merge) are bound into one decision.
        let mut memory: Vec<ChangeDecision> = memory.into_iter().map(Tally::finish).collect();
        let piece = piece.map(Tally::finish);
        groups::bind(proposal, &mut memory);

        // 6. The record.
        let id = decision_id(&self.revision, proposal, context, index);
        self.record(id, context, None, memory, piece, modules, started)
    }

    /// Runs every module, in pack order, on `inputs`, and hands each its
    /// verdict on every change of `targets`: as a first opinion, or on the
    /// `recheck` of an amended change.
    fn run_modules(
        &self,
        inputs: &Inputs<'_>,
        targets: &mut [(Slot, &mut Tally<'_>)],
        recheck: bool,
        modules: &mut Vec<ModuleRun>,
    ) {
        for pack_module in &self.modules {
            let (run, answer) = self.run_module(pack_module, inputs, recheck);
            let source = |code: &str| Source { module: &run.name, advisory: advisory(pack_module, &run.name, code) };
            match answer {
                Ok(answer) => {
                    let mut memory: Vec<Option<types::Verdict>> = answer.memory.into_iter().map(Some).collect();
                    let mut piece = answer.piece;
                    for (slot, tally) in targets.iter_mut() {
                        let verdict = match *slot {
                            Slot::Memory(i) => memory.get_mut(i).and_then(Option::take),
                            Slot::Piece => piece.take(),
                        };
                        let Some(verdict) = verdict else { continue };
                        let source = source(verdict_code(&verdict));
                        match recheck {
                            false => tally.verdict(source, verdict),
                            true => tally.recheck_verdict(source, verdict),
                        }
                    }
                }
                Err(failure) => {
                    let context = inputs.context();
                    tracing::warn!(tenant = %context.tenant, job_id = %context.job_id, module = %run.name, %failure, recheck, "policy module failed; rejecting every change");
                    for (_, tally) in targets.iter_mut() {
                        let message = format!("module `{}` failed: {failure}", run.name);
                        tally.reject(source(codes::POLICY_ERROR), codes::POLICY_ERROR, message);
                    }
                }
            }
            modules.push(run);
        }
    }

    /// The record of an evaluation, logged and counted.
    #[allow(clippy::too_many_arguments)] // the record's parts, each computed by one step
    fn record(
        &self,
        decision_id: String,
        context: &Context,
        refused: Option<Refusal>,
        memory: Vec<ChangeDecision>,
        piece: Option<ChangeDecision>,
        modules: Vec<ModuleRun>,
        started: Instant,
    ) -> DecisionRecord {
        let record = DecisionRecord {
            decision_id,
            tenant: context.tenant.clone(),
            job_id: context.job_id.clone(),
            pack: PackRef {
                name: self.name.clone(),
                revision: self.revision.clone(),
                signed_revision: self.signed_revision,
            },
            mode: self.mode,
            refused,
            memory,
            piece,
            modules,
            elapsed_us: started.elapsed().as_micros() as u64,
        };
        tracing::info!(
            decision_id = %record.decision_id,
            tenant = %record.tenant,
            job_id = %record.job_id,
            pack = %record.pack.name,
            revision = %record.pack.revision,
            accepted = record.accepted_count(),
            proposed = record.proposed_count(),
            rejections = record.all_rejections().count(),
            elapsed_us = record.elapsed_us,
            "policy decision"
        );
        super::metrics::record(&record);
        if let Some(refusal) = &record.refused {
            let rejection = &refusal.rejection;
            tracing::debug!(decision_id = %record.decision_id, tenant = %record.tenant, code = %rejection.code, changes = refusal.changes, "proposal refused whole");
        }
        for (change, rejection) in record.rejections() {
            tracing::debug!(decision_id = %record.decision_id, tenant = %record.tenant, change = %change.name, module = %rejection.module, code = %rejection.code, "change rejected");
        }
        record
    }

    /// Runs one module in a fresh store; the answer is checked for shape.
    fn run_module(
        &self,
        pack_module: &PackModule,
        inputs: &Inputs<'_>,
        recheck: bool,
    ) -> (ModuleRun, Result<types::Decision, String>) {
        let started = Instant::now();
        let module = &pack_module.module;
        let mut store = module.store(inputs.index().clone(), pack_module.limits);
        let answer = module
            .evaluate(&mut store, inputs, &pack_module.config_json)
            .map_err(|err| describe_failure(&err))
            .and_then(|answer| check_shape(answer, inputs.model(), module));
        let fuel_used = pack_module.limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let run = ModuleRun {
            name: module.name().to_string(),
            id: pack_module.id.clone(),
            version: module.version().to_string(),
            sha256: module.sha256_hex(),
            elapsed_us: started.elapsed().as_micros() as u64,
            fuel_used,
            world: module.world().to_string(),
            recheck,
            audit: pack_module.audit,
            failure: answer.as_ref().err().map(|failure| truncate(failure.clone(), MAX_MESSAGE_BYTES)),
        };
        (run, answer)
    }
}

/// Refuses an answer with the wrong number of verdicts, or with a code the
/// module did not declare in its `info` (operators read the declared list in
/// `policy inspect`; an undeclared code would be a verdict nobody can look up).
fn check_shape(answer: types::Decision, proposal: &Proposal, module: &LoadedModule) -> Result<types::Decision, String> {
    let expected = proposal.memory_changes.len();
    if answer.memory.len() != expected {
        return Err(format!("returned {} memory verdicts for {expected} changes", answer.memory.len()));
    }
    match (&answer.piece, &proposal.piece_edit) {
        (Some(_), None) => return Err("returned a piece verdict but there is no piece edit".to_string()),
        (None, Some(_)) => return Err("returned no verdict for the piece edit".to_string()),
        _ => {}
    }
    let codes = answer.memory.iter().chain(&answer.piece).map(verdict_code).filter(|code| !code.is_empty());
    for code in codes {
        let snake = !code.is_empty()
            && code.len() <= 64
            && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !snake {
            return Err(format!("returned the malformed code `{}`", code.escape_debug()));
        }
        if !module.codes().any(|(declared, _)| declared == code) {
            return Err(format!("returned the code `{code}`, which it does not declare"));
        }
    }
    Ok(answer)
}

/// The code of a verdict; empty for `accept`.
fn verdict_code(verdict: &types::Verdict) -> &str {
    match verdict {
        types::Verdict::Accept => "",
        types::Verdict::Reject(r) | types::Verdict::Hold(r) => &r.code,
        types::Verdict::Amend(amendment) => &amendment.code,
    }
}

/// Whether `code` from `module` is advisory: the module runs in audit mode
/// and the code is not a core guard.
fn advisory(pack_module: &PackModule, module: &str, code: &str) -> bool {
    pack_module.audit && !is_core_guard(module, code)
}

/// Which change a verdict is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Memory(usize),
    Piece,
}

/// Takes the host's verdicts on the changes of `targets`.
fn take_host(targets: &mut [(Slot, &mut Tally<'_>)], host: HostVerdicts) {
    let mut memory: Vec<Option<HostRejection>> = host.memory;
    let mut piece = host.piece;
    for (slot, tally) in targets.iter_mut() {
        let rejection = match *slot {
            Slot::Memory(i) => memory.get_mut(i).and_then(Option::take),
            Slot::Piece => piece.take(),
        };
        if let Some((code, message)) = rejection {
            tally.reject(HOST, code, message);
        }
    }
}

/// The tallies of the memory changes `include` selects (by index), and of
/// `piece` when given, each with its slot.
fn targets<'t, 'a>(
    memory: &'t mut [Tally<'a>],
    piece: Option<&'t mut Tally<'a>>,
    include: impl Fn(usize) -> bool,
) -> Vec<(Slot, &'t mut Tally<'a>)> {
    let memory = memory.iter_mut().enumerate().filter(|(i, _)| include(*i)).map(|(i, tally)| (Slot::Memory(i), tally));
    memory.chain(piece.map(|tally| (Slot::Piece, tally))).collect()
}

/// The proposal with every change that amendments alone stand between it
/// and being applied replaced by its amended form; `None` when there is
/// none.
fn amended_proposal(proposal: &Proposal, memory: &[Tally], piece: Option<&Tally>) -> Option<Proposal> {
    let piece_amended = piece.and_then(Tally::to_recheck);
    if memory.iter().all(|tally| tally.to_recheck().is_none()) && piece_amended.is_none() {
        return None;
    }
    let mut amended = proposal.clone();
    for (change, tally) in amended.memory_changes.iter_mut().zip(memory) {
        if let Some(AmendedChange::Memory(candidate)) = tally.to_recheck() {
            *change = candidate.clone();
        }
    }
    if let (Some(edit), Some(AmendedChange::Piece(yaml))) = (amended.piece_edit.as_mut(), piece_amended) {
        edit.yaml = yaml.clone();
    }
    Some(amended)
}

/// Each message's share of [`MESSAGE_BUDGET_BYTES`], for `changes`
/// changes each of which the host and every one of `modules` may reject.
fn message_cap(changes: usize, modules: usize) -> usize {
    let messages = changes.saturating_mul(modules.saturating_add(1)).max(1);
    (MESSAGE_BUDGET_BYTES / messages).clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES)
}

/// `text` cut to at most `max` bytes as the record stores it — JSON, in
/// which a control character takes six — on a character boundary, with `…`
/// when cut. Counting the escaped size keeps a name of control characters
/// from growing sixfold in the record (issue 9).
fn truncate(mut text: String, max: usize) -> String {
    let stored = |c: char| match c {
        '\u{0}'..='\u{1f}' => 6,
        '"' | '\\' => 2,
        c => c.len_utf8(),
    };
    let mut size = 0;
    let cut = text.char_indices().find_map(|(at, c)| {
        size += stored(c);
        (size > max).then_some(at)
    });
    if let Some(end) = cut {
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_bytes_as_json_stores_them() {
        assert_eq!(truncate("short".to_string(), 80), "short");
        assert_eq!(truncate("abcdef".to_string(), 3), "abc…");
        // Six bytes a control character: two fit in twelve, not three.
        assert_eq!(truncate("\u{1}\u{1}\u{1}".to_string(), 12), "\u{1}\u{1}…");
        // Never inside a character.
        assert_eq!(truncate("ééé".to_string(), 3), "é…");
    }

    #[test]
    fn every_message_gets_a_share_of_the_budget() {
        assert_eq!(message_cap(1, 6), MAX_MESSAGE_BYTES);
        assert_eq!(message_cap(0, 0), MAX_MESSAGE_BYTES);
        assert_eq!(message_cap(256, 6), MIN_MESSAGE_BYTES);
        let cap = message_cap(32, 6);
        assert!(cap * 32 * 7 <= MESSAGE_BUDGET_BYTES && cap > MIN_MESSAGE_BYTES, "{cap}");
    }
}
