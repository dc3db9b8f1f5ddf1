//! Step 6 of a reflection: the plan — the before and after content of every
//! file the accepted changes touch, computed from the store as it is under
//! the lock. The plan is recorded before anything is written, which is what
//! makes a resumed job's apply idempotent.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::FlowError;
use crate::policy::{DecisionRecord, Op, Proposal};
use crate::store::{Entry, FileChange, StoredEntry, TenantDir, TenantFile, memory_index, pieces};

/// What the accepted changes do to the tenant's files.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Every file that changes, with its content before and after.
    pub changes: Vec<FileChange>,
    /// Memory changes that will be applied.
    pub memory_applied: usize,
    /// Whether the piece will be edited.
    pub piece_edited: bool,
    /// Accepted changes apply cannot carry out (possible only when the pack
    /// lacks the module that would have refused them), with why.
    pub skipped: Vec<Skipped>,
}

/// An accepted change that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The entry or piece.
    pub name: String,
    /// Stable code.
    pub code: String,
    /// Why.
    pub message: String,
}

/// Plans the changes `decision` lets through, on `entries` (the current
/// store, read under the lock).
pub fn build(
    tenant: &TenantDir,
    entries: &[StoredEntry],
    proposal: &Proposal,
    decision: &DecisionRecord,
) -> Result<Plan, FlowError> {
    // A merge is one decision at apply time too: when a member of a group
    // cannot be carried out, the whole group is skipped, so the removal of
    // a merged entry never goes through without its merge.
    let groups = proposal.change_groups();
    let mut held_back = BTreeMap::new();
    let applied = loop {
        let applied = apply(entries, proposal, decision, &held_back);
        let failed: BTreeSet<usize> = applied.skipped.iter().map(|(position, _)| *position).collect();
        let mut grown = false;
        for group in groups.iter().filter(|group| group.iter().any(|p| failed.contains(p))) {
            let culprit = group.iter().copied().find(|p| failed.contains(p)).unwrap_or(group[0]);
            let change = &proposal.memory_changes[culprit];
            let members: Vec<usize> =
                group.iter().copied().filter(|m| !failed.contains(m) && !held_back.contains_key(m)).collect();
            for member in members {
                let (op, name) = (change.op.as_str(), &change.name);
                held_back.insert(member, format!("stands or falls with the {op} of `{name}`, which cannot be applied"));
                grown = true;
            }
        }
        if !grown {
            break applied;
        }
    };
    let Applied { state, superseded, touched, skipped } = applied;
    let mut plan = Plan { skipped: skipped.into_iter().map(|(_, skipped)| skipped).collect(), ..Plan::default() };

    for name in &touched {
        let file = TenantFile::Entry(name.clone());
        let before = tenant.read_file(&file)?;
        // A merged entry is kept, marked as folded into its target.
        let kept = || superseded.get(name).map(|(entry, target)| entry.to_superseded_markdown(target));
        let after = state.get(name).map(Entry::to_markdown).or_else(kept);
        if before != after {
            plan.memory_applied += 1;
            plan.changes.push(FileChange { file, before, after });
        }
    }
    if plan.memory_applied > 0 {
        let values: Vec<Entry> = state.into_values().collect();
        let before = tenant.read_file(&TenantFile::MemoryIndex)?;
        let after = Some(memory_index(&values));
        // A change of bodies only leaves the index as it is: not carried
        // (twice) in the job's record and its snapshot.
        if before != after {
            plan.changes.push(FileChange { file: TenantFile::MemoryIndex, before, after });
        }
    }

    let piece = proposal.piece_edit.as_ref().and_then(|edit| Some((edit, decision.piece_to_apply(&edit.yaml)?)));
    if let Some((edit, yaml)) = piece {
        // Never write a piece that would not load, whatever the pack says.
        match pieces::validate(&edit.piece, yaml) {
            Err(err) => plan.skipped.push(Skipped {
                name: edit.piece.clone(),
                code: "piece_invalid".to_string(),
                message: err.to_string(),
            }),
            Ok(_) => {
                let file = TenantFile::Piece(edit.piece.clone());
                let before = tenant.read_file(&file)?;
                if before.as_deref() != Some(yaml) {
                    plan.piece_edited = true;
                    plan.changes.push(FileChange { file, before, after: Some(yaml.to_string()) });
                }
            }
        }
    }
    Ok(plan)
}

/// The changes `decision` lets through, applied in order to `entries`.
struct Applied {
    /// The live entries after.
    state: BTreeMap<String, Entry>,
    /// The entries merged into another: kept, marked, with their target.
    superseded: BTreeMap<String, (Entry, String)>,
    /// The names written.
    touched: BTreeSet<String>,
    /// The changes that cannot be carried out, by position.
    skipped: Vec<(usize, Skipped)>,
}

/// Applies the changes `decision` lets through, in order, to `entries`;
/// the changes in `held_back` are skipped with their message.
fn apply(
    entries: &[StoredEntry],
    proposal: &Proposal,
    decision: &DecisionRecord,
    held_back: &BTreeMap<usize, String>,
) -> Applied {
    let mut state: BTreeMap<String, Entry> = entries.iter().map(|s| (s.entry.name.clone(), s.entry.clone())).collect();
    let mut superseded = BTreeMap::new();
    let mut touched = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut skip = |position: usize, name: &str, code: &str, message: String| {
        skipped.push((position, Skipped { name: name.to_string(), code: code.to_string(), message }))
    };
    for (position, proposed) in proposal.memory_changes.iter().enumerate() {
        // The change as decided: amended, when a module corrected it.
        let Some(change) = decision.memory_to_apply(position, proposed) else {
            continue;
        };
        let name = change.name.clone();
        if let Some(message) = held_back.get(&position) {
            skip(position, &name, "group_member_skipped", message.clone());
            continue;
        }
        match (change.op, state.get_mut(&name)) {
            (Op::Add, Some(_)) => skip(position, &name, "name_exists", format!("`{name}` already exists")),
            (Op::Add, None) => {
                let entry = Entry {
                    name: name.clone(),
                    description: change.description.clone().unwrap_or_default(),
                    entry_type: change.entry_type.clone().unwrap_or_default(),
                    body: change.body.clone().unwrap_or_default(),
                };
                state.insert(name.clone(), entry);
                touched.insert(name);
            }
            (Op::Update, Some(entry)) => {
                if let Some(description) = &change.description {
                    entry.description = description.clone();
                }
                if let Some(entry_type) = &change.entry_type {
                    entry.entry_type = entry_type.clone();
                }
                if let Some(body) = &change.body {
                    entry.body = body.clone();
                }
                touched.insert(name);
            }
            (Op::Remove, Some(_)) => {
                // A merge keeps what it folds in (issue 12): the entry stays
                // as superseded, so a bad merge is undone per entry.
                if let (Some(entry), Some(target)) = (state.remove(&name), change.merge_target.clone()) {
                    superseded.insert(name.clone(), (entry, target));
                }
                touched.insert(name);
            }
            (Op::Update | Op::Remove, None) => {
                skip(position, &name, "entry_missing", format!("there is no entry `{name}`"))
            }
        }
    }
    Applied { state, superseded, touched, skipped }
}
