//! Helpers on the generated verdict, decision and change types.

use crate::{Decision, MemoryChange, Op, Proposal, Rejection, Verdict};

impl Verdict {
    /// A rejection with a stable snake_case `code` and a human message.
    pub fn reject(code: &str, message: impl Into<String>) -> Self {
        Verdict::Reject(Rejection { code: code.to_string(), message: message.into() })
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
