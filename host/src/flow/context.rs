//! What the rule pack sees of a tenant: the policy context (the job, its
//! clock, recent piece edits and writes, from the snapshot index) and the
//! read-only index of entries.

use std::collections::BTreeMap;

use super::FlowError;
use crate::names::name_problem;
use crate::policy::{Context, IndexEntry, PieceEditRecord, RunOutcome, TenantIndex};
use crate::store::{SnapshotIndexLine, StoredEntry, TenantDir};

/// Writes older than this do not count towards `recent_writes`.
const RECENT_WRITES_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// The job a proposal belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    /// The piece of the run (empty for a consolidation).
    pub piece: &'a str,
    /// How the run ended, or [`RunOutcome::Consolidation`].
    pub outcome: RunOutcome,
    /// The job.
    pub job_id: &'a str,
    /// The job's clock.
    pub now_ms: u64,
}

/// The context and index for `run` on a tenant with `entries` and
/// `history`, with the current YAML of `edited_piece` if any. An unsafe
/// `edited_piece` is not read: the host checks reject the edit as
/// `unsafe_name`, and a name like `../../x` must not fail the whole job
/// before they run (issue 9).
pub fn policy_view(
    tenant: &TenantDir,
    entries: &[StoredEntry],
    history: &[SnapshotIndexLine],
    run: &RunView<'_>,
    edited_piece: Option<&str>,
) -> Result<(Context, TenantIndex), FlowError> {
    let mut piece_edits: Vec<PieceEditRecord> = history
        .iter()
        .flat_map(|line| {
            line.pieces.iter().map(|piece| PieceEditRecord { piece: piece.clone(), at_ms: line.created_at_ms })
        })
        .collect();
    piece_edits.sort_by_key(|edit| std::cmp::Reverse(edit.at_ms));
    let mut recent_writes: Vec<u64> = history
        .iter()
        .filter(|line| run.now_ms.saturating_sub(line.created_at_ms) < RECENT_WRITES_WINDOW_MS)
        .flat_map(|line| std::iter::repeat_n(line.created_at_ms, line.memory_writes))
        .collect();
    recent_writes.sort_by(|a, b| b.cmp(a));
    let context = Context {
        tenant: tenant.name().to_string(),
        job_id: run.job_id.to_string(),
        piece: run.piece.to_string(),
        run_outcome: run.outcome,
        now_ms: run.now_ms,
        piece_edits,
        recent_writes,
    };
    let entries = entries
        .iter()
        .map(|stored| IndexEntry {
            name: stored.entry.name.clone(),
            entry_type: stored.entry.entry_type.clone(),
            description: stored.entry.description.clone(),
            body: stored.entry.body.clone(),
            updated_at_ms: stored.updated_at_ms,
        })
        .collect();
    let mut pieces = BTreeMap::new();
    if let Some(name) = edited_piece.filter(|name| name_problem(name).is_none())
        && let Some(yaml) = tenant.piece(name)?
    {
        pieces.insert(name.to_string(), yaml);
    }
    Ok((context, TenantIndex::new(entries, pieces)))
}
