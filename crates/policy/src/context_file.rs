//! [`ContextFile`]: a job's context plus the tenant's entries and pieces in
//! one JSON or YAML document, as `memwarden policy eval --context` and
//! `policy test` cases take it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Context, IndexEntry, PieceEditRecord, Proposal, RunOutcome, TenantIndex};

/// Everything a policy can see besides the proposal. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextFile {
    /// The tenant (default `default`).
    pub tenant: Option<String>,
    /// The job id (default `cli`).
    pub job_id: Option<String>,
    /// The piece the agent ran; see [`ContextFile::for_proposal`].
    pub piece: String,
    /// How the run ended (default `succeeded`).
    pub run_outcome: RunOutcome,
    /// The job's clock in ms; the caller picks a default (the CLI uses now).
    pub now_ms: Option<u64>,
    /// The tenant's entries, bodies included.
    pub entries: Vec<IndexEntry>,
    /// The tenant's current pieces: name → YAML.
    pub pieces: BTreeMap<String, String>,
    /// Past piece edits.
    pub piece_edits: Vec<PieceEditRecord>,
    /// Times of recent writes, in ms.
    pub recent_writes: Vec<u64>,
}

impl ContextFile {
    /// This context for `proposal`: a file that names no piece describes a
    /// run of the piece the proposal edits, so that cases and dry runs of a
    /// piece edit need not repeat its name to pass `piece_not_own`.
    pub fn for_proposal(mut self, proposal: &Proposal) -> ContextFile {
        if let Some(edit) = proposal.piece_edit.as_ref().filter(|_| self.piece.is_empty()) {
            self.piece = edit.piece.clone();
        }
        self
    }

    /// Splits into the context and the index, using `now_ms` when the file
    /// sets no clock.
    pub fn into_parts(self, now_ms: u64) -> (Context, TenantIndex) {
        let context = Context {
            tenant: self.tenant.unwrap_or_else(|| "default".to_string()),
            job_id: self.job_id.unwrap_or_else(|| "cli".to_string()),
            piece: self.piece,
            run_outcome: self.run_outcome,
            now_ms: self.now_ms.unwrap_or(now_ms),
            piece_edits: self.piece_edits,
            recent_writes: self.recent_writes,
        };
        (context, TenantIndex::new(self.entries, self.pieces))
    }
}
