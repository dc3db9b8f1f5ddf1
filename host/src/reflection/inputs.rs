//! Step 1 of a reflection: what the job works on — the run (piece, outcome,
//! activity log) and the tenant's current memory and history — and the
//! policy context derived from them.

use std::collections::BTreeMap;

use super::FlowError;
use crate::jobs::ReflectionPayload;
use crate::policy::{Context, IndexEntry, PieceEditRecord, RunOutcome, TenantIndex};
use crate::store::{SnapshotIndexLine, StoredEntry, TenantDir};

/// Writes older than this do not count towards `recent_writes`.
const RECENT_WRITES_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// Everything a reflection reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The piece the run used.
    pub piece_name: String,
    /// Its YAML, as this tenant runs it.
    pub piece_yaml: String,
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The run's whole activity log.
    pub activity_log: String,
    /// The tenant's entries, by name.
    pub entries: Vec<StoredEntry>,
    /// The tenant's snapshots, oldest first.
    pub history: Vec<SnapshotIndexLine>,
}

/// Reads the inputs of a reflection on `payload` for `tenant`.
pub fn load(tenant: &TenantDir, payload: &ReflectionPayload) -> Result<Inputs, FlowError> {
    let piece_yaml =
        tenant.piece(&payload.piece)?.ok_or_else(|| FlowError::UnknownPiece { piece: payload.piece.clone() })?;
    Ok(Inputs {
        piece_name: payload.piece.clone(),
        piece_yaml,
        outcome: payload.outcome,
        activity_log: payload.activity_log.clone(),
        entries: tenant.entries()?,
        history: tenant.snapshots()?,
    })
}

impl Inputs {
    /// `succeeded`, `failed`, …
    pub fn outcome_word(&self) -> &'static str {
        match self.outcome {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Aborted => "aborted",
            RunOutcome::Consolidation => "consolidation",
        }
    }

    /// The policy context of job `job_id` at `now_ms`, and the index the
    /// policies read, with the current YAML of `edited_piece` if any.
    pub fn policy_view(
        &self,
        tenant: &TenantDir,
        job_id: &str,
        now_ms: u64,
        edited_piece: Option<&str>,
    ) -> Result<(Context, TenantIndex), FlowError> {
        let mut piece_edits: Vec<PieceEditRecord> = self
            .history
            .iter()
            .flat_map(|line| {
                line.pieces.iter().map(|piece| PieceEditRecord { piece: piece.clone(), at_ms: line.created_at_ms })
            })
            .collect();
        piece_edits.sort_by_key(|edit| std::cmp::Reverse(edit.at_ms));
        let mut recent_writes: Vec<u64> = self
            .history
            .iter()
            .filter(|line| now_ms.saturating_sub(line.created_at_ms) < RECENT_WRITES_WINDOW_MS)
            .flat_map(|line| std::iter::repeat_n(line.created_at_ms, line.memory_writes))
            .collect();
        recent_writes.sort_by(|a, b| b.cmp(a));
        let context = Context {
            tenant: tenant.name().to_string(),
            job_id: job_id.to_string(),
            piece: self.piece_name.clone(),
            run_outcome: self.outcome,
            now_ms,
            piece_edits,
            recent_writes,
        };
        let entries = self
            .entries
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
        if let Some(name) = edited_piece
            && let Some(yaml) = tenant.piece(name)?
        {
            pieces.insert(name.to_string(), yaml);
        }
        Ok((context, TenantIndex::new(entries, pieces)))
    }
}
