//! Step 2 of a consolidation: what it works on — the tenant's entries,
//! most recently changed first, and the raw notes of the reflections since
//! the last success (each one's reasoning and accepted changes), newest
//! first; both capped.

use crate::flow::FlowError;
use crate::store::{Entry, SnapshotIndexLine, StoredEntry, TenantDir, TenantFile};

/// Caps on what one consolidation is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Entries shown, most recently changed first.
    pub max_entries: usize,
    /// Raw notes shown, newest first.
    pub max_notes: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits { max_entries: 200, max_notes: 50 }
    }
}

/// Everything a consolidation reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Entries shown to the LLM, most recently changed first.
    pub shown: Vec<StoredEntry>,
    /// Every entry, by name (the rule pack and the plan see them all).
    pub entries: Vec<StoredEntry>,
    /// The tenant's snapshots, oldest first.
    pub history: Vec<SnapshotIndexLine>,
    /// Raw notes, newest first.
    pub notes: Vec<RawNote>,
    /// Reflections since the last success that fell off the notes cap.
    pub notes_dropped: usize,
    /// Snapshot index lines this run covers; the cursor a success stores.
    pub notes_cursor: u64,
}

impl Inputs {
    /// Whether there is nothing at all to consolidate.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.notes.is_empty()
    }
}

/// What one reflection left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNote {
    /// Its snapshot.
    pub snapshot_id: String,
    /// Its job.
    pub job_id: String,
    /// When, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The LLM's reasoning.
    pub reasoning: String,
    /// The changes it applied.
    pub changes: Vec<NoteChange>,
}

/// One applied change of a reflection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteChange {
    /// An entry was added.
    Added(Entry),
    /// An entry was rewritten.
    Updated(Entry),
    /// An entry was removed.
    Removed(String),
    /// A piece was edited.
    PieceEdited(String),
}

/// Reads the inputs of `tenant`, with notes after `notes_cursor` lines of
/// its snapshot index.
pub fn load(tenant: &TenantDir, notes_cursor: u64, limits: &InputLimits) -> Result<Inputs, FlowError> {
    let entries = tenant.entries()?;
    let mut shown = entries.clone();
    shown.sort_by(|a, b| b.updated_at_ms.cmp(&a.updated_at_ms).then_with(|| a.entry.name.cmp(&b.entry.name)));
    shown.truncate(limits.max_entries);

    let history = tenant.snapshots()?;
    let start = usize::try_from(notes_cursor).unwrap_or(usize::MAX).min(history.len());
    let sources: Vec<&SnapshotIndexLine> =
        history[start..].iter().rev().filter(|line| line.kind == "reflection" && line.files > 0).collect();
    let notes_dropped = sources.len().saturating_sub(limits.max_notes);
    let notes = sources.iter().take(limits.max_notes).map(|line| note(tenant, line)).collect::<Result<_, _>>()?;
    Ok(Inputs { shown, entries, notes, notes_dropped, notes_cursor: history.len() as u64, history })
}

fn note(tenant: &TenantDir, line: &SnapshotIndexLine) -> Result<RawNote, FlowError> {
    let (meta, files) = tenant.read_snapshot(&line.id)?;
    let mut changes = Vec::new();
    for change in files {
        let parsed = |name: &str, text: &str| Entry::parse(name, text);
        changes.push(match (&change.file, &change.before, &change.after) {
            (TenantFile::Entry(name), None, Some(after)) => NoteChange::Added(parsed(name, after)?),
            (TenantFile::Entry(name), Some(_), Some(after)) => NoteChange::Updated(parsed(name, after)?),
            (TenantFile::Entry(name), _, None) => NoteChange::Removed(name.clone()),
            (TenantFile::Piece(name), ..) => NoteChange::PieceEdited(name.clone()),
            (TenantFile::MemoryIndex, ..) => continue,
        });
    }
    Ok(RawNote {
        snapshot_id: meta.id,
        job_id: meta.job_id,
        created_at_ms: meta.created_at_ms,
        reasoning: meta.reasoning,
        changes,
    })
}

impl RawNote {
    /// The note as markdown: its summary file in `consolidation/`, and its
    /// part of `raw_notes.md` and of the prompt.
    pub fn to_markdown(&self) -> String {
        let mut text = format!("## Run {} (snapshot {})\n\n{}\n", self.job_id, self.snapshot_id, self.reasoning.trim());
        for change in &self.changes {
            text.push('\n');
            match change {
                NoteChange::Added(entry) | NoteChange::Updated(entry) => {
                    let verb = if matches!(change, NoteChange::Added(_)) { "added" } else { "updated" };
                    text.push_str(&format!(
                        "- {verb} `{}` ({}): {}\n{}\n",
                        entry.name,
                        entry.entry_type,
                        entry.description,
                        quote(&entry.body)
                    ));
                }
                NoteChange::Removed(name) => text.push_str(&format!("- removed `{name}`\n")),
                NoteChange::PieceEdited(name) => text.push_str(&format!("- edited piece `{name}`\n")),
            }
        }
        text
    }
}

fn quote(body: &str) -> String {
    body.trim_end().lines().map(|line| format!("  > {line}")).collect::<Vec<_>>().join("\n")
}
