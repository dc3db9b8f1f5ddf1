//! [`RulePack::evaluate`]: host checks, then every module in pack order on
//! the whole proposal, each in a fresh store. Infallible by design: a module
//! that fails becomes a `policy_error` rejection of every change, recorded
//! with its reason, and evaluation goes on (fail closed). A module in audit
//! mode has its rejections recorded as advisory, unless they are core
//! guards.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::TenantIndex;
use super::decision::{
    ChangeDecision, DecisionRecord, HOST_MODULE, ModuleRun, PackRef, RejectionRecord, codes, is_core_guard,
};
use super::engine::describe_failure;
use super::host_checks;
use super::model::{Context, Proposal};
use super::pack::{PackModule, RulePack};
use super::wit::{self, wit as types};

/// Longest rejection message kept from a module, in bytes.
const MAX_MESSAGE_BYTES: usize = 1024;

impl RulePack {
    /// Decides on every change of `proposal`. Same inputs, same verdicts.
    pub fn evaluate(&self, proposal: &Proposal, context: &Context, index: &TenantIndex) -> DecisionRecord {
        let started = Instant::now();
        let mut memory: Vec<ChangeDecision> = proposal
            .memory_changes
            .iter()
            .map(|change| ChangeDecision {
                name: change.name.clone(),
                op: Some(change.op),
                accepted: true,
                rejections: Vec::new(),
            })
            .collect();
        let mut piece = proposal.piece_edit.as_ref().map(|edit| ChangeDecision {
            name: edit.piece.clone(),
            op: None,
            accepted: true,
            rejections: Vec::new(),
        });

        // 1. Host-level checks, which no pack can switch off.
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

        // 2. Every module, in pack order, on the whole proposal.
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
                            reject(decision, &run.name, &rejection.code, truncate(rejection.message), advisory);
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

        // 3. The record.
        let record = DecisionRecord {
            decision_id: next_decision_id(),
            tenant: context.tenant.clone(),
            job_id: context.job_id.clone(),
            pack: PackRef { name: self.name.clone(), revision: self.revision.clone() },
            mode: self.mode,
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
            rejections = record.rejections().count(),
            elapsed_us = record.elapsed_us,
            "policy decision"
        );
        super::metrics::record(&record);
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
            .and_then(|answer| check_shape(answer, proposal));
        let fuel_used = self.engine.limits().fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let run = ModuleRun {
            name: module.name().to_string(),
            version: module.version().to_string(),
            sha256: module.sha256_hex(),
            elapsed_us: started.elapsed().as_micros() as u64,
            fuel_used,
            audit: pack_module.audit,
            failure: answer.as_ref().err().cloned(),
        };
        (run, answer)
    }
}

/// Refuses an answer with the wrong number of verdicts or malformed codes.
fn check_shape(answer: types::Decision, proposal: &types::Proposal) -> Result<types::Decision, String> {
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
    }
    Ok(answer)
}

/// Records a rejection; only one that is not advisory refuses the change.
fn reject(decision: &mut ChangeDecision, module: &str, code: &str, message: String, advisory: bool) {
    decision.accepted &= advisory;
    let rejection = RejectionRecord { module: module.to_string(), code: code.to_string(), message, advisory };
    decision.rejections.push(rejection);
}

fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// A process-unique id: a random per-process seed mixed with a counter.
fn next_decision_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    let mut hasher = SEED.get_or_init(RandomState::new).build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("dec-{:016x}", hasher.finish())
}
