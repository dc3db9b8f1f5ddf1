//! The [`DecisionRecord`]: what a rule pack decided on one proposal, who
//! decided it, and what it cost. Emitted through `tracing`, returned to the
//! caller, and serialisable so that later layers can persist it.

use serde::{Deserialize, Serialize};

use super::model::{MemoryChange, Op, Proposal};
use super::pack::Mode;

/// Rejection codes the host itself emits. Module codes are listed by each
/// module's `info()` (see `memwarden policy inspect`) and in the README.
pub mod codes {
    /// A module trapped, ran out of fuel or memory, answered malformed, or
    /// could not run at all. The change is refused (fail closed).
    pub const POLICY_ERROR: &str = "policy_error";
    /// A name or merge target is not safe as a file name.
    pub const UNSAFE_NAME: &str = "unsafe_name";
    /// An entry type outside `user`, `feedback`, `project`, `reference`.
    pub const UNKNOWN_ENTRY_TYPE: &str = "unknown_entry_type";
    /// An add without the description, type or body that apply needs.
    pub const INCOMPLETE_CHANGE: &str = "incomplete_change";
    /// Over a host ceiling no rule pack can raise.
    pub const OVER_HARD_LIMIT: &str = "over_hard_limit";
    /// A description holds a newline or another control character.
    pub const CONTROL_CHARACTER: &str = "control_character";
    /// A piece edit of a piece other than the one the run used.
    pub const PIECE_NOT_OWN: &str = "piece_not_own";
    /// A change that stands or falls with another (a merge's removal and
    /// the change to its target) whose partner was rejected.
    pub const GROUP_MEMBER_REJECTED: &str = "group_member_rejected";
    /// A change held because a change it stands or falls with is held.
    pub const GROUP_MEMBER_HELD: &str = "group_member_held";
    /// An amendment that changes what it may not (op, name, type, merge
    /// target), or amends a memory change with a piece or the reverse.
    pub const AMEND_REFUSED: &str = "amend_refused";
    /// An amended change that the re-check amended once more: amendments
    /// must settle in one step.
    pub const AMEND_UNSETTLED: &str = "amend_unsettled";
    /// Every host code with a one-line summary, for docs and tests.
    pub const ALL: &[(&str, &str)] = &[
        (POLICY_ERROR, "a module failed (trap, fuel, memory, malformed answer); the change is refused"),
        (UNSAFE_NAME, "a name or merge target is not safe as a file name (`../x`, `/etc/passwd`, NUL, `CON`, …)"),
        (UNKNOWN_ENTRY_TYPE, "the entry type is not `user`, `feedback`, `project` or `reference`"),
        (INCOMPLETE_CHANGE, "an add lacks its description, type or body"),
        (
            OVER_HARD_LIMIT,
            "over a host ceiling no pack can raise (256 KiB body, 4 KiB description, 64 KiB piece; over 256 changes refuses the whole proposal)",
        ),
        (
            CONTROL_CHARACTER,
            "a description holds a newline or another control character; the host writes it into MEMORY.md as one line",
        ),
        (
            PIECE_NOT_OWN,
            "a piece edit names a piece other than the one the run used (the operator may allow it: `policy.edit_any_piece`)",
        ),
        (
            GROUP_MEMBER_REJECTED,
            "a merge is one decision: the removal and the change to its target stand or fall together, and the other was rejected",
        ),
        (GROUP_MEMBER_HELD, "a merge is one decision: the other change of the merge is held for review"),
        (
            AMEND_REFUSED,
            "an amendment may change a memory change's description and body, or a piece's YAML, nothing else",
        ),
        (AMEND_UNSETTLED, "the amended change was amended again when checked once more"),
    ];
}

/// Rejections no audit setting waives, as (module, code), `*` for every code
/// of the module: secrets, single-line descriptions, size limits and piece
/// widening (issue 9). Host rejections are never advisory either.
pub const CORE_GUARDS: &[(&str, &str)] = &[
    ("content-guard", "secret_detected"),
    ("content-guard", "secret_redacted"),
    ("schema", "description_multiline"),
    ("size-limits", "*"),
    ("piece-guard", "*"),
];

/// Whether `code` of `module` is a core guard, which audit never waives. A
/// module holding a core guard that fails is one too: a proposal must not
/// slip a secret past by exhausting content-guard's fuel.
pub(crate) fn is_core_guard(module: &str, code: &str) -> bool {
    CORE_GUARDS.iter().any(|&(m, c)| m == module && (c == "*" || c == code || code == codes::POLICY_ERROR))
}

/// The module name host-level rejections carry.
pub const HOST_MODULE: &str = "host";

/// What a rule pack decided on one proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Derived from the pack revision and every input, so a replay of the
    /// same inputs has the same id.
    pub decision_id: String,
    /// The tenant of the job.
    pub tenant: String,
    /// The job that produced the proposal.
    pub job_id: String,
    /// The pack that decided.
    pub pack: PackRef,
    /// `enforce`, or `audit` when the whole pack is advisory (an operator
    /// switch); modules in audit mode are listed in [`ModuleRun::audit`].
    pub mode: Mode,
    /// Set when the host refused the proposal as a whole, before any module
    /// ran (over the change ceiling): then `memory`, `piece` and `modules`
    /// are empty, nothing is applied, and this one rejection stands for
    /// every change, so the record stays small (issue 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
    /// One verdict per memory change, in proposal order (none when
    /// `refused`).
    pub memory: Vec<ChangeDecision>,
    /// The verdict on the piece edit, if the proposal has one.
    pub piece: Option<ChangeDecision>,
    /// What each module did, in pack order.
    pub modules: Vec<ModuleRun>,
    /// Wall time of the whole evaluation, in µs.
    pub elapsed_us: u64,
}

/// Name and revision of a rule pack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PackRef {
    /// The pack's name.
    pub name: String,
    /// Digest of its resolved modules, configs and mode.
    pub revision: String,
    /// The signed revision number in force, when the tenant's trusted keys
    /// checked the pack's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_revision: Option<u64>,
}

/// The verdict on one change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeDecision {
    /// The entry (or piece) the change names.
    pub name: String,
    /// `add`, `update` or `remove`; `None` for the piece edit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// True when the change is applied now: nobody rejected or held it
    /// (modules in audit mode aside), amended or not.
    pub accepted: bool,
    /// True when a module held the change for a person to decide, and
    /// nobody rejected it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// Every rejection, advisory ones included, in the order the host and
    /// modules ran.
    pub rejections: Vec<RejectionRecord>,
    /// Every hold, advisory ones included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<RejectionRecord>,
    /// Why each amendment was made, advisory ones included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<RejectionRecord>,
    /// The change as applied, when amendments replaced the proposed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amended: Option<AmendedChange>,
}

/// A change as amendments left it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AmendedChange {
    /// The whole memory change.
    Memory(MemoryChange),
    /// The whole YAML of the piece edit.
    Piece(String),
}

impl ChangeDecision {
    /// Neither applied nor held.
    pub fn rejected(&self) -> bool {
        !self.accepted && !self.held
    }
}

/// One module's refusal of one change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RejectionRecord {
    /// The rejecting module's name, or `host`.
    pub module: String,
    /// Stable snake_case code.
    pub code: String,
    /// Human explanation.
    pub message: String,
    /// True when the module runs in audit mode and the code is not a core
    /// guard: recorded, but the change is applied as if accepted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

/// The host's refusal of a whole proposal: one rejection for all its changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Refusal {
    /// Always from [`HOST_MODULE`], never advisory.
    #[serde(flatten)]
    pub rejection: RejectionRecord,
    /// Changes the proposal held, memory changes and piece edit together;
    /// none is listed and none is applied.
    pub changes: usize,
}

/// What one module did during an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleRun {
    /// The module's name, from its `info()`.
    pub name: String,
    /// The pack's `id:` for this entry, when the pack runs the module twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The module's version, from its `info()`.
    pub version: String,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    /// Wall time of the call, including instantiation, in µs.
    pub elapsed_us: u64,
    /// Fuel (≈ wasm instructions) the call consumed.
    pub fuel_used: u64,
    /// The policy world the module speaks, `0.1` or `0.2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub world: String,
    /// True for the run that checked amended changes once more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recheck: bool,
    /// Whether the module ran in audit mode: its rejections are advisory,
    /// except the core guards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit: bool,
    /// Why the module failed, when it did; its changes got `policy_error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl DecisionRecord {
    /// Whether memory change `index` should be applied: accepted, advisory
    /// rejections aside.
    pub fn applies_memory(&self, index: usize) -> bool {
        self.memory.get(index).is_some_and(|d| d.accepted)
    }

    /// Whether the piece edit should be applied.
    pub fn applies_piece(&self) -> bool {
        self.piece.as_ref().is_some_and(|d| d.accepted)
    }

    /// Number of changes (memory and piece) the proposal held, including
    /// those of a proposal refused as a whole.
    pub fn proposed_count(&self) -> usize {
        match &self.refused {
            Some(refusal) => refusal.changes,
            None => self.memory.len() + usize::from(self.piece.is_some()),
        }
    }

    /// Number of changes (memory and piece) that will be applied.
    pub fn accepted_count(&self) -> usize {
        self.memory.iter().chain(&self.piece).filter(|d| d.accepted).count()
    }

    /// Number of changes held for a person to decide.
    pub fn held_count(&self) -> usize {
        self.memory.iter().chain(&self.piece).filter(|d| d.held).count()
    }

    /// Number of changes applied in an amended form.
    pub fn amended_count(&self) -> usize {
        self.memory.iter().chain(&self.piece).filter(|d| d.accepted && d.amended.is_some()).count()
    }

    /// Memory change `index` as it is to be applied: the amended change
    /// when amendments replaced it, else `proposed`. `None` when it is
    /// not applied.
    pub fn memory_to_apply<'a>(&'a self, index: usize, proposed: &'a MemoryChange) -> Option<&'a MemoryChange> {
        let decision = self.memory.get(index).filter(|d| d.accepted)?;
        match &decision.amended {
            Some(AmendedChange::Memory(change)) => Some(change),
            _ => Some(proposed),
        }
    }

    /// `proposal` with every amended change in its amended form: what the
    /// host keeps of a proposal, so that text an amendment took out (a
    /// redacted secret) never reaches disk.
    pub fn amend(&self, proposal: &Proposal) -> Proposal {
        let mut amended = proposal.clone();
        for (change, decision) in amended.memory_changes.iter_mut().zip(&self.memory) {
            if let Some(AmendedChange::Memory(applied)) = &decision.amended {
                *change = applied.clone();
            }
        }
        if let (Some(edit), Some(AmendedChange::Piece(yaml))) =
            (amended.piece_edit.as_mut(), self.piece.as_ref().and_then(|d| d.amended.as_ref()))
        {
            edit.yaml = yaml.clone();
        }
        amended
    }

    /// The piece edit's YAML as it is to be applied; `None` when it is not.
    pub fn piece_to_apply<'a>(&'a self, proposed: &'a str) -> Option<&'a str> {
        let decision = self.piece.as_ref().filter(|d| d.accepted)?;
        match &decision.amended {
            Some(AmendedChange::Piece(yaml)) => Some(yaml),
            _ => Some(proposed),
        }
    }

    /// Every rejection with the change it refers to; a refusal of the
    /// whole proposal is in [`DecisionRecord::refused`] instead.
    pub fn rejections(&self) -> impl Iterator<Item = (&ChangeDecision, &RejectionRecord)> {
        self.memory.iter().chain(&self.piece).flat_map(|d| d.rejections.iter().map(move |r| (d, r)))
    }

    /// Every rejection: the refusal of the whole proposal, if any, then
    /// those of each change. What counters and metrics rows count.
    pub fn all_rejections(&self) -> impl Iterator<Item = &RejectionRecord> {
        self.refused.iter().map(|refusal| &refusal.rejection).chain(self.rejections().map(|(_, r)| r))
    }
}
