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
    let mut plan = Plan::default();
    let mut state: BTreeMap<String, Entry> = entries.iter().map(|s| (s.entry.name.clone(), s.entry.clone())).collect();
    let mut touched = BTreeSet::new();
    let mut skip = |name: &str, code: &str, message: String| {
        plan.skipped.push(Skipped { name: name.to_string(), code: code.to_string(), message })
    };

    for (position, change) in proposal.memory_changes.iter().enumerate() {
        if !decision.applies_memory(position) {
            continue;
        }
        let name = change.name.clone();
        match (change.op, state.get_mut(&name)) {
            (Op::Add, Some(_)) => skip(&name, "name_exists", format!("`{name}` already exists")),
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
                state.remove(&name);
                touched.insert(name);
            }
            (Op::Update | Op::Remove, None) => skip(&name, "entry_missing", format!("there is no entry `{name}`")),
        }
    }

    for name in &touched {
        let file = TenantFile::Entry(name.clone());
        let before = tenant.read_file(&file)?;
        let after = state.get(name).map(Entry::to_markdown);
        if before != after {
            plan.memory_applied += 1;
            plan.changes.push(FileChange { file, before, after });
        }
    }
    if plan.memory_applied > 0 {
        let values: Vec<Entry> = state.into_values().collect();
        let before = tenant.read_file(&TenantFile::MemoryIndex)?;
        plan.changes.push(FileChange { file: TenantFile::MemoryIndex, before, after: Some(memory_index(&values)) });
    }

    if let Some(edit) = proposal.piece_edit.as_ref().filter(|_| decision.applies_piece()) {
        // Never write a piece that would not load, whatever the pack says.
        match pieces::validate(&edit.piece, &edit.yaml) {
            Err(err) => skip(&edit.piece, "piece_invalid", err.to_string()),
            Ok(_) => {
                let file = TenantFile::Piece(edit.piece.clone());
                let before = tenant.read_file(&file)?;
                if before.as_deref() != Some(edit.yaml.as_str()) {
                    plan.piece_edited = true;
                    plan.changes.push(FileChange { file, before, after: Some(edit.yaml.clone()) });
                }
            }
        }
    }
    Ok(plan)
}
