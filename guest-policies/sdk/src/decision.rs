//! Helpers on the generated verdict, decision and change types.

use crate::{AmendedChange, Amendment, Decision, MemoryChange, Op, Proposal, Rejection, Verdict};

impl Verdict {
    /// A rejection with a stable snake_case `code` and a human message.
    pub fn reject(code: &str, message: impl Into<String>) -> Self {
        Verdict::Reject(Rejection { code: code.to_string(), message: message.into() })
    }

    /// Holds the change for a person to decide (the review queue): neither
    /// applied nor refused. Any rejection by another module still wins.
    pub fn hold(code: &str, message: impl Into<String>) -> Self {
        Verdict::Hold(Rejection { code: code.to_string(), message: message.into() })
    }

    /// Accepts `change` instead of the proposed memory change: the host
    /// applies it once the host checks and every module accept it as it is.
    /// Only the description and body may differ from the proposal.
    pub fn amend(code: &str, message: impl Into<String>, change: MemoryChange) -> Self {
        let change = AmendedChange::Memory(change);
        Verdict::Amend(Amendment { code: code.to_string(), message: message.into(), change })
    }

    /// Accepts `yaml` instead of the proposed piece edit, as [`Verdict::amend`].
    pub fn amend_piece(code: &str, message: impl Into<String>, yaml: impl Into<String>) -> Self {
        let change = AmendedChange::Piece(yaml.into());
        Verdict::Amend(Amendment { code: code.to_string(), message: message.into(), change })
    }

    /// The verdict's code; `None` for accept.
    pub fn code(&self) -> Option<&str> {
        match self {
            Verdict::Accept => None,
            Verdict::Reject(r) | Verdict::Hold(r) => Some(&r.code),
            Verdict::Amend(amendment) => Some(&amendment.code),
        }
    }

    /// Whether this verdict accepts.
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept)
    }
}

impl Decision {
    /// A decision accepting every change of `proposal`; refine it with
    /// [`Decision::reject_change`] and [`Decision::reject_piece`].
    pub fn accept_all(proposal: &Proposal) -> Self {
        Decision {
            memory: vec![Verdict::Accept; proposal.memory_changes.len()],
            piece: proposal.piece_edit.as_ref().map(|_| Verdict::Accept),
        }
    }

    /// Rejects memory change `index` unless this module already rejected it,
    /// so the first reason found is the one reported.
    pub fn reject_change(&mut self, index: usize, code: &str, message: impl Into<String>) {
        if let Some(verdict @ Verdict::Accept) = self.memory.get_mut(index) {
            *verdict = Verdict::reject(code, message);
        }
    }

    /// Rejects the piece edit unless it is absent or already rejected.
    pub fn reject_piece(&mut self, code: &str, message: impl Into<String>) {
        if let Some(verdict @ Verdict::Accept) = self.piece.as_mut() {
            *verdict = Verdict::reject(code, message);
        }
    }

    /// Holds memory change `index` unless this module already gave it
    /// another verdict than accept.
    pub fn hold_change(&mut self, index: usize, code: &str, message: impl Into<String>) {
        if let Some(verdict @ Verdict::Accept) = self.memory.get_mut(index) {
            *verdict = Verdict::hold(code, message);
        }
    }

    /// Whether memory change `index` is still accepted.
    pub fn is_accepted(&self, index: usize) -> bool {
        self.memory.get(index).is_some_and(Verdict::is_accept)
    }
}

impl MemoryChange {
    /// The proposed body, or `""` when the change carries none.
    pub fn body_text(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }

    /// The proposed description, or `""` when the change carries none.
    pub fn description_text(&self) -> &str {
        self.description.as_deref().unwrap_or_default()
    }

    /// `add`, `update` or `remove`, as written in proposals.
    pub fn op_name(&self) -> &'static str {
        match self.op {
            Op::Add => "add",
            Op::Update => "update",
            Op::Remove => "remove",
        }
    }
}
