//! Step 1 of a reflection: what the job works on — the run (piece, outcome,
//! activity log) and the tenant's current memory and history — and the
//! policy context derived from them.

use std::sync::Arc;

use super::FlowError;
use crate::flow::context::{IndexCache, RunView, policy_view};
use crate::jobs::ReflectionPayload;
use crate::policy::{Context, RunOutcome, TenantIndex};
use crate::store::{SnapshotIndexLine, StoredEntry, TenantDir};

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
    pub history: Arc<Vec<SnapshotIndexLine>>,
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
        history: tenant.snapshot_history()?,
    })
}

impl Inputs {
    /// `succeeded`, `failed`, …
    pub fn outcome_word(&self) -> &'static str {
        self.outcome.as_str()
    }

    /// The policy context of job `job_id` at `now_ms`, and the index the
    /// policies read, with the current YAML of `edited_piece` if any.
    pub fn policy_view(
        &self,
        indexes: &IndexCache,
        tenant: &TenantDir,
        job_id: &str,
        now_ms: u64,
        edited_piece: Option<&str>,
    ) -> Result<(Context, TenantIndex), FlowError> {
        let run = RunView { piece: &self.piece_name, outcome: self.outcome, job_id, now_ms };
        policy_view(indexes, tenant, &self.entries, &self.history, &run, edited_piece)
    }
}
