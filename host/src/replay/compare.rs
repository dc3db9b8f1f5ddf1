//! Verdicts side by side: what a recorded decision said of each change and
//! what a new evaluation says.

use serde::Serialize;

use crate::policy::{ChangeDecision, DecisionRecord, Proposal, RejectionRecord};

/// What became of one change, and who decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `accepted`, `held` or `rejected`.
    pub outcome: Outcome,
    /// Whether an amendment replaced the change (it is accepted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub amended: bool,
    /// The module that rejected or held it first (`host` for the host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Its code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Where a change ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied (amended or not; advisory rejections aside).
    Accepted,
    /// Waits for a person.
    Held,
    /// Not applied.
    Rejected,
}

impl Outcome {
    /// As shown and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Held => "held",
            Outcome::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.outcome.as_str())?;
        if self.amended {
            f.write_str(" (amended)")?;
        }
        match (&self.module, &self.code) {
            (Some(module), Some(code)) => write!(f, " by {module}: {code}"),
            _ => Ok(()),
        }
    }
}

/// One change of a proposal, named for people: `add deploy-order`,
/// `piece research`.
pub fn change_labels(proposal: &Proposal) -> Vec<String> {
    let memory = proposal.memory_changes.iter().map(|c| format!("{} {}", c.op.as_str(), c.name));
    memory.chain(proposal.piece_edit.iter().map(|edit| format!("piece {}", edit.piece))).collect()
}

/// The verdict on every change of `proposal` in `decision`, in the order
/// of [`change_labels`].
pub fn verdicts(proposal: &Proposal, decision: &DecisionRecord) -> Vec<Verdict> {
    if let Some(refusal) = &decision.refused {
        let verdict = decided(Outcome::Rejected, Some(&refusal.rejection));
        return vec![verdict; change_labels(proposal).len()];
    }
    decision.memory.iter().chain(decision.piece.iter()).map(verdict).collect()
}

fn verdict(change: &ChangeDecision) -> Verdict {
    let first = |records: &[RejectionRecord]| records.iter().find(|r| !r.advisory).cloned();
    if change.rejected() {
        return decided(Outcome::Rejected, first(&change.rejections).as_ref());
    }
    if change.held {
        return decided(Outcome::Held, first(&change.holds).as_ref());
    }
    let mut verdict = decided(Outcome::Accepted, None);
    verdict.amended = change.amended.is_some();
    verdict
}

fn decided(outcome: Outcome, by: Option<&RejectionRecord>) -> Verdict {
    Verdict { outcome, amended: false, module: by.map(|r| r.module.clone()), code: by.map(|r| r.code.clone()) }
}

/// Whether a recorded verdict and a new one agree. A change recorded as
/// amended is kept in its amended form only (the original may hold the
/// secret the amendment took out), so it agrees with any acceptance.
pub fn agree(recorded: &Verdict, now: &Verdict) -> bool {
    match recorded.amended {
        true => now.outcome == Outcome::Accepted,
        false => recorded == now,
    }
}
