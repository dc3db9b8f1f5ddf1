//! memwarden's vocabulary: what a policy decides on — the [`Proposal`] an
//! LLM returned and the [`Context`] of the job — and the [`RunOutcome`] a
//! job records. Proposals are parsed strictly — unknown fields, wrong types
//! and oversized input are errors — because they are untrusted model output.
//!
//! Plain data and serde only, so that the policy runtime, the job store and
//! the flows share these types without sharing each other's dependencies.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// Largest proposal text the host will parse, in bytes.
pub const MAX_PROPOSAL_BYTES: usize = 1 << 20;
/// Longest `reasoning` the host will keep, in bytes.
pub const MAX_REASONING_BYTES: usize = 64 * 1024;

/// The structured answer of a reflection or consolidation LLM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Why the model proposes these changes; recorded, never applied.
    pub reasoning: String,
    /// Changes to the memory store, applied in order when accepted.
    #[serde(default)]
    pub memory_changes: Vec<MemoryChange>,
    /// A new version of one workflow piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piece_edit: Option<PieceEdit>,
}

/// One proposed change to a memory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryChange {
    /// What the change does.
    pub op: Op,
    /// The entry's name, which becomes `memory/<name>.md`.
    pub name: String,
    /// One-line summary shown in `MEMORY.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `user`, `feedback`, `project` or `reference`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub entry_type: Option<String>,
    /// The entry's markdown body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// For a remove: the entry this one was folded into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_target: Option<String>,
}

/// What a memory change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create an entry that does not exist.
    Add,
    /// Change an existing entry; absent fields keep their value.
    Update,
    /// Delete an existing entry.
    Remove,
}

impl Op {
    /// The op as proposals spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Update => "update",
            Op::Remove => "remove",
        }
    }
}

/// A proposed new version of a piece, as a whole YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PieceEdit {
    /// The piece's name.
    pub piece: String,
    /// The complete new YAML of the piece.
    pub yaml: String,
}

/// How the agent run being reflected upon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The run reached COMPLETE.
    #[default]
    Succeeded,
    /// The run failed.
    Failed,
    /// The run reached ABORT.
    Aborted,
    /// Not an agent run: a consolidation job.
    Consolidation,
}

impl RunOutcome {
    /// The outcome as configs, payloads and prompts spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Aborted => "aborted",
            RunOutcome::Consolidation => "consolidation",
        }
    }
}

/// The job a proposal belongs to, as policies see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Context {
    /// The tenant whose store would change.
    pub tenant: String,
    /// The job that produced the proposal.
    pub job_id: String,
    /// The piece the agent ran.
    pub piece: String,
    /// How that run ended.
    pub run_outcome: RunOutcome,
    /// The job's clock, in ms since the Unix epoch; the only clock a policy has.
    pub now_ms: u64,
    /// Past piece edits of the tenant, newest first.
    pub piece_edits: Vec<PieceEditRecord>,
    /// Times (ms) of the tenant's recent applied writes, newest first.
    pub recent_writes: Vec<u64>,
}

/// One past edit of a piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PieceEditRecord {
    /// The piece edited.
    pub piece: String,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
}

/// Why a proposal could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProposalError {
    /// The text is over [`MAX_PROPOSAL_BYTES`].
    #[error("proposal is {size} bytes, over the {MAX_PROPOSAL_BYTES}-byte limit")]
    TooLarge {
        /// Size of the text.
        size: usize,
    },
    /// The text is not a proposal.
    #[error("proposal is not valid: {0}")]
    Invalid(String),
}

impl ProposalError {
    /// The stable code of every proposal error.
    pub const CODE: &'static str = "invalid_proposal";
}

impl Proposal {
    /// Parses an LLM answer. Strict: unknown fields and wrong types are
    /// errors. The only leniency is a markdown code fence around the JSON,
    /// which models add often enough to be worth forgiving.
    pub fn from_json(text: &str) -> Result<Proposal, ProposalError> {
        if text.len() > MAX_PROPOSAL_BYTES {
            return Err(ProposalError::TooLarge { size: text.len() });
        }
        let json = strip_code_fence(text);
        let proposal: Proposal = serde_json::from_str(json).map_err(|err| ProposalError::Invalid(err.to_string()))?;
        if proposal.reasoning.len() > MAX_REASONING_BYTES {
            return Err(ProposalError::Invalid(format!(
                "reasoning is {} bytes, over the {MAX_REASONING_BYTES}-byte limit",
                proposal.reasoning.len()
            )));
        }
        Ok(proposal)
    }

    /// The memory changes that stand or fall together, as groups of
    /// indices into `memory_changes` (only groups of two or more). A merge
    /// is one decision: a `remove` with a `merge_target` belongs with every
    /// add or update of that target in the proposal, so a rename (the new
    /// entry and the old one removed into it) is a group too.
    pub fn change_groups(&self) -> Vec<Vec<usize>> {
        let changes = &self.memory_changes;
        // Union-find; proposals hold at most a few hundred changes, so the
        // pairing below is cheap.
        let mut parent: Vec<usize> = (0..changes.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (removal, change) in changes.iter().enumerate() {
            let Some(target) = change.merge_target.as_deref().filter(|_| change.op == Op::Remove) else {
                continue;
            };
            for (member, other) in changes.iter().enumerate() {
                if member != removal && other.name == target && other.op != Op::Remove {
                    let (a, b) = (root(&mut parent, removal), root(&mut parent, member));
                    parent[a] = b;
                }
            }
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in 0..changes.len() {
            let group = root(&mut parent, i);
            groups.entry(group).or_default().push(i);
        }
        groups.into_values().filter(|group| group.len() > 1).collect()
    }
}

fn strip_code_fence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix("```") else { return trimmed };
    let Some(body) = rest.strip_suffix("```") else { return trimmed };
    // Drop the info string (`json`) on the opening line.
    body.split_once('\n').map_or(body, |(_, json)| json).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(op: Op, name: &str, target: Option<&str>) -> MemoryChange {
        MemoryChange {
            op,
            name: name.to_string(),
            description: None,
            entry_type: None,
            body: None,
            merge_target: target.map(str::to_string),
        }
    }

    fn groups(memory_changes: Vec<MemoryChange>) -> Vec<Vec<usize>> {
        Proposal { reasoning: String::new(), memory_changes, piece_edit: None }.change_groups()
    }

    #[test]
    fn a_merge_groups_its_removals_with_the_target() {
        let changes = vec![
            change(Op::Update, "deploy-order", None),
            change(Op::Remove, "release-checklist", Some("deploy-order")),
            change(Op::Add, "unrelated", None),
            change(Op::Remove, "old-deploy", Some("deploy-order")),
            change(Op::Remove, "stray", Some("nowhere")),
        ];
        assert_eq!(groups(changes), vec![vec![0, 1, 3]]);
    }

    #[test]
    fn a_rename_is_the_new_entry_and_the_removal_merged_into_it() {
        let changes = vec![change(Op::Add, "new-name", None), change(Op::Remove, "old-name", Some("new-name"))];
        assert_eq!(groups(changes), vec![vec![0, 1]]);
    }

    #[test]
    fn parses_a_fenced_proposal() {
        let text = "```json\n{\"reasoning\": \"r\", \"memory_changes\": [{\"op\": \"remove\", \"name\": \"x\"}]}\n```";
        let proposal = Proposal::from_json(text).expect("parses");
        assert_eq!(proposal.memory_changes[0].op, Op::Remove);
    }

    #[test]
    fn refuses_unknown_fields_and_wrong_types() {
        for text in [
            r#"{"reasoning": "r", "memory_changes": [], "extra": 1}"#,
            r#"{"reasoning": "r", "memory_changes": [{"op": "add", "name": "x", "colour": "red"}]}"#,
            r#"{"reasoning": "r", "memory_changes": [{"op": "rename", "name": "x"}]}"#,
            r#"{"reasoning": 5}"#,
            r#"{"reasoning": "r", "memory_changes": "#,
            "not json",
        ] {
            assert!(matches!(Proposal::from_json(text), Err(ProposalError::Invalid(_))), "{text}");
        }
    }

    #[test]
    fn refuses_oversized_text() {
        let text = format!(r#"{{"reasoning": "{}"}}"#, "x".repeat(MAX_PROPOSAL_BYTES));
        assert!(matches!(Proposal::from_json(&text), Err(ProposalError::TooLarge { .. })));
    }
}
