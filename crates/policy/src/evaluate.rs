//! [`RulePack::evaluate`]: host checks, then every module in pack order on
//! the whole proposal, each in a fresh store. Infallible by design: a module
//! that fails becomes a `policy_error` rejection of every change, recorded
//! with its reason, and evaluation goes on (fail closed). A module in audit
//! mode has its rejections recorded as advisory, unless they are core
//! guards.
//!
//! The record is bounded whatever the proposal: a proposal over the change
//! ceiling gets one refusal and no module runs; names and messages are cut
//! so that all the messages of one record share a fixed budget (issue 9).

use std::time::Instant;

use sha2::{Digest, Sha256};

use super::TenantIndex;
use super::decision::{
    ChangeDecision, DecisionRecord, HOST_MODULE, ModuleRun, PackRef, Refusal, RejectionRecord, codes, is_core_guard,
};
use super::engine::{LoadedModule, describe_failure};
use super::host_checks;
use super::model::{Context, Proposal};
use super::pack::{PackModule, RulePack};
use super::wit::{self, wit as types};

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

        let mut memory: Vec<ChangeDecision> = proposal
            .memory_changes
            .iter()
            .map(|change| ChangeDecision {
                name: truncate(change.name.clone(), MAX_NAME_BYTES),
                op: Some(change.op),
                accepted: true,
                rejections: Vec::new(),
            })
            .collect();
        let mut piece = proposal.piece_edit.as_ref().map(|edit| ChangeDecision {
            name: truncate(edit.piece.clone(), MAX_NAME_BYTES),
            op: None,
            accepted: true,
            rejections: Vec::new(),
        });
        let cap = message_cap(memory.len() + usize::from(piece.is_some()), self.modules.len());
        let reject = |decision: &mut ChangeDecision, module: &str, code: &str, message: String, advisory: bool| {
            reject(decision, module, code, truncate(message, cap), advisory)
        };

        // 2. Host-level checks of each change, which no pack can switch off.
        // INVARIANT: host rejections are never advisory, whatever the mode.
        let host = host_checks::check(proposal, context, &self.rules);
        for (decision, rejection) in memory.iter_mut().zip(host.memory) {
            if let Some((code, message)) = rejection {
                reject(decision, HOST_MODULE, code, message, false);
            }
        }
        if let (Some(decision), Some((code, message))) = (piece.as_mut(), host.piece) {
            reject(decision, HOST_MODULE, code, message, false);
        }

        // 3. Every module, in pack order, on the whole proposal.
        let wit_proposal = wit::proposal(proposal, index);
        let wit_context = wit::context(context);
        let mut modules = Vec::with_capacity(self.modules.len());
        for pack_module in &self.modules {
            let (run, answer) = self.run_module(pack_module, &wit_proposal, &wit_context, index);
            match answer {
                Ok(answer) => {
                    for (decision, verdict) in
                        memory.iter_mut().zip(answer.memory).chain(piece.as_mut().zip(answer.piece))
                    {
                        if let types::Verdict::Reject(rejection) = verdict {
                            let advisory = pack_module.audit && !is_core_guard(&run.name, &rejection.code);
                            reject(decision, &run.name, &rejection.code, rejection.message, advisory);
                        }
                    }
                }
                Err(failure) => {
                    tracing::warn!(tenant = %context.tenant, job_id = %context.job_id, module = %run.name, %failure, "policy module failed; rejecting every change");
                    let advisory = pack_module.audit && !is_core_guard(&run.name, codes::POLICY_ERROR);
                    for decision in memory.iter_mut().chain(piece.as_mut()) {
                        let message = format!("module `{}` failed: {failure}", run.name);
                        reject(decision, &run.name, codes::POLICY_ERROR, message, advisory);
                    }
                }
            }
            modules.push(run);
        }

        // 4. The record.
        let id = decision_id(&self.revision, proposal, context, index);
        self.record(id, context, None, memory, piece, modules, started)
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
            pack: PackRef { name: self.name.clone(), revision: self.revision.clone() },
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
        proposal: &types::Proposal,
        context: &types::Context,
        index: &TenantIndex,
    ) -> (ModuleRun, Result<types::Decision, String>) {
        let started = Instant::now();
        let module = &pack_module.module;
        let mut store = self.engine.store(index.clone());
        let answer = module
            .pre
            .instantiate(&mut store)
            .and_then(|instance| {
                instance.memwarden_policy_policy().call_evaluate(
                    &mut store,
                    proposal,
                    context,
                    &pack_module.config_json,
                )
            })
            .map_err(|err| describe_failure(&err))
            .and_then(|answer| check_shape(answer, proposal, module));
        let fuel_used = self.engine.limits().fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let run = ModuleRun {
            name: module.name().to_string(),
            id: pack_module.id.clone(),
            version: module.version().to_string(),
            sha256: module.sha256_hex(),
            elapsed_us: started.elapsed().as_micros() as u64,
            fuel_used,
            audit: pack_module.audit,
            failure: answer.as_ref().err().map(|failure| truncate(failure.clone(), MAX_MESSAGE_BYTES)),
        };
        (run, answer)
    }
}

/// Refuses an answer with the wrong number of verdicts, or with a code the
/// module did not declare in its `info` (operators read the declared list in
/// `policy inspect`; an undeclared code would be a verdict nobody can look up).
fn check_shape(
    answer: types::Decision,
    proposal: &types::Proposal,
    module: &LoadedModule,
) -> Result<types::Decision, String> {
    let expected = proposal.memory_changes.len();
    if answer.memory.len() != expected {
        return Err(format!("returned {} memory verdicts for {expected} changes", answer.memory.len()));
    }
    match (&answer.piece, &proposal.piece_edit) {
        (Some(_), None) => return Err("returned a piece verdict but there is no piece edit".to_string()),
        (None, Some(_)) => return Err("returned no verdict for the piece edit".to_string()),
        _ => {}
    }
    let codes = answer.memory.iter().chain(&answer.piece).filter_map(|verdict| match verdict {
        types::Verdict::Reject(rejection) => Some(rejection.code.as_str()),
        types::Verdict::Accept => None,
    });
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

/// Records a rejection; only one that is not advisory refuses the change.
fn reject(decision: &mut ChangeDecision, module: &str, code: &str, message: String, advisory: bool) {
    decision.accepted &= advisory;
    let rejection = RejectionRecord { module: module.to_string(), code: code.to_string(), message, advisory };
    decision.rejections.push(rejection);
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

/// The id of a decision, derived from everything that decides it — the
/// pack revision, the proposal, the context (job id and clock included) and
/// the index — so a replay of the same inputs has the same id, and a retried
/// job that sees the same store records the same decision. Fields are fed
/// to the hash length-prefixed, as they are: serialising them first cost a
/// quarter of a one-module evaluation.
fn decision_id(revision: &str, proposal: &Proposal, context: &Context, index: &TenantIndex) -> String {
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
    fn truncate_counts_bytes_as_json_stores_them() {
        assert_eq!(truncate("short".to_string(), 80), "short");
        assert_eq!(truncate("abcdef".to_string(), 3), "abc…");
        // Six bytes a control character: two fit in twelve, not three.
        assert_eq!(truncate("\u{1}\u{1}\u{1}".to_string(), 12), "\u{1}\u{1}…");
        // Never inside a character.
        assert_eq!(truncate("ééé".to_string(), 3), "é…");
    }

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

    #[test]
    fn every_message_gets_a_share_of_the_budget() {
        assert_eq!(message_cap(1, 6), MAX_MESSAGE_BYTES);
        assert_eq!(message_cap(0, 0), MAX_MESSAGE_BYTES);
        assert_eq!(message_cap(256, 6), MIN_MESSAGE_BYTES);
        let cap = message_cap(32, 6);
        assert!(cap * 32 * 7 <= MESSAGE_BUDGET_BYTES && cap > MIN_MESSAGE_BYTES, "{cap}");
    }
}
