//! The verdicts on one change as the host and the modules give them, and
//! how they combine: any reject rejects; else any hold holds; else the
//! amendments apply in pack order (each replacing the fields it changed);
//! else the change is accepted. Advisory verdicts (a module in audit mode,
//! core guards aside) are recorded and change nothing.

use super::super::decision::{AmendedChange, ChangeDecision, HOST_MODULE, RejectionRecord, codes};
use super::super::model::{MemoryChange, Op};
use super::super::wit::wit as types;
use super::truncate;

/// What a change was, as proposed: what amendments are compared with.
pub(super) enum Proposed<'a> {
    Memory(&'a MemoryChange),
    Piece,
}

/// One change's verdicts so far.
pub(super) struct Tally<'a> {
    pub(super) decision: ChangeDecision,
    proposed: Proposed<'a>,
    /// The change as the amendments so far leave it.
    candidate: Option<AmendedChange>,
    /// Cap on each message's bytes, the record's budget shared out.
    cap: usize,
}

/// Who gave a verdict, and whether it binds.
#[derive(Clone, Copy)]
pub(super) struct Source<'m> {
    pub(super) module: &'m str,
    pub(super) advisory: bool,
}

impl<'a> Tally<'a> {
    pub(super) fn memory(change: &'a MemoryChange, name: String, cap: usize) -> Tally<'a> {
        Tally::new(name, Some(change.op), Proposed::Memory(change), cap)
    }

    pub(super) fn piece(name: String, cap: usize) -> Tally<'a> {
        Tally::new(name, None, Proposed::Piece, cap)
    }

    fn new(name: String, op: Option<Op>, proposed: Proposed<'a>, cap: usize) -> Tally<'a> {
        let decision = ChangeDecision {
            name,
            op,
            accepted: true,
            held: false,
            rejections: Vec::new(),
            holds: Vec::new(),
            amendments: Vec::new(),
            amended: None,
        };
        Tally { decision, proposed, candidate: None, cap }
    }

    /// Takes one module's verdict on this change.
    pub(super) fn verdict(&mut self, source: Source<'_>, verdict: types::Verdict) {
        match verdict {
            types::Verdict::Accept => {}
            types::Verdict::Reject(r) => self.reject(source, &r.code, r.message),
            types::Verdict::Hold(r) => self.hold(source, &r.code, r.message),
            types::Verdict::Amend(amendment) => self.amend(source, amendment),
        }
    }

    /// Records a rejection; only one that is not advisory refuses the change.
    pub(super) fn reject(&mut self, source: Source<'_>, code: &str, message: String) {
        let record = self.record(source, code, message);
        self.decision.rejections.push(record);
    }

    pub(super) fn hold(&mut self, source: Source<'_>, code: &str, message: String) {
        let record = self.record(source, code, message);
        self.decision.holds.push(record);
    }

    fn amend(&mut self, source: Source<'_>, amendment: types::Amendment) {
        let record = self.record(source, &amendment.code, amendment.message);
        let module = record.module.clone();
        self.decision.amendments.push(record);
        if source.advisory {
            return;
        }
        match self.merged(amendment.change) {
            Ok(candidate) => self.candidate = Some(candidate),
            Err(problem) => {
                let message = format!("module `{module}` amended {problem}");
                self.reject(Source { module: HOST_MODULE, advisory: false }, codes::AMEND_REFUSED, message);
            }
        }
    }

    /// The candidate with `change` applied over it: each field the
    /// amendment changed from the proposal replaces the candidate's.
    fn merged(&self, change: types::AmendedChange) -> Result<AmendedChange, &'static str> {
        match (&self.proposed, change) {
            (Proposed::Memory(proposed), types::AmendedChange::Memory(amended)) => {
                let amended = super::super::wit::memory_change_from(amended);
                if amended.op != proposed.op
                    || amended.name != proposed.name
                    || amended.entry_type != proposed.entry_type
                    || amended.merge_target != proposed.merge_target
                {
                    return Err("the op, name, type or merge target; it may change the description and body only");
                }
                let mut candidate = match &self.candidate {
                    Some(AmendedChange::Memory(change)) => change.clone(),
                    _ => (*proposed).clone(),
                };
                if amended.description != proposed.description {
                    candidate.description = amended.description;
                }
                if amended.body != proposed.body {
                    candidate.body = amended.body;
                }
                Ok(AmendedChange::Memory(candidate))
            }
            (Proposed::Piece, types::AmendedChange::Piece(yaml)) => Ok(AmendedChange::Piece(yaml)),
            (Proposed::Memory(_), types::AmendedChange::Piece(_)) => Err("a memory change into a piece edit"),
            (Proposed::Piece, types::AmendedChange::Memory(_)) => Err("a piece edit into a memory change"),
        }
    }

    fn record(&self, source: Source<'_>, code: &str, message: String) -> RejectionRecord {
        RejectionRecord {
            module: source.module.to_string(),
            code: code.to_string(),
            message: truncate(message, self.cap),
            advisory: source.advisory,
        }
    }

    /// The amended change to check once more, if amendments are all that
    /// stand between this change and being applied.
    pub(super) fn to_recheck(&self) -> Option<&AmendedChange> {
        let binding = |records: &[RejectionRecord]| records.iter().any(|r| !r.advisory);
        let stopped = binding(&self.decision.rejections) || binding(&self.decision.holds);
        self.candidate.as_ref().filter(|_| !stopped)
    }

    /// Takes one module's verdict on the amended change, in the re-check:
    /// it must accept it as it is (or amend it to itself).
    pub(super) fn recheck_verdict(&mut self, source: Source<'_>, verdict: types::Verdict) {
        let message = |text: String| format!("after amendment: {text}");
        match verdict {
            types::Verdict::Accept => {}
            types::Verdict::Reject(r) => self.reject(source, &r.code, message(r.message)),
            types::Verdict::Hold(r) => self.hold(source, &r.code, message(r.message)),
            types::Verdict::Amend(amendment) => {
                let settled = self.merged(amendment.change).is_ok_and(|again| Some(&again) == self.candidate.as_ref());
                if !settled && !source.advisory {
                    let text = format!("module `{}` amended the amended change again", source.module);
                    self.reject(Source { module: HOST_MODULE, advisory: false }, codes::AMEND_UNSETTLED, text);
                }
            }
        }
    }

    /// The decision, verdicts combined.
    pub(super) fn finish(mut self) -> ChangeDecision {
        let binding = |records: &[RejectionRecord]| records.iter().any(|r| !r.advisory);
        let decision = &mut self.decision;
        if binding(&decision.rejections) {
            decision.accepted = false;
        } else if binding(&decision.holds) {
            decision.accepted = false;
            decision.held = true;
        } else {
            decision.amended = self.candidate;
        }
        self.decision
    }
}
