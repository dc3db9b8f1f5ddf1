//! What the rule pack sees of a tenant: the policy context (the job, its
//! clock, recent piece edits and writes, from the snapshot index) and the
//! read-only index of entries.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::FlowError;
use crate::names::name_problem;
use crate::policy::{Context, EntryRef, PieceEditRecord, RunOutcome, TenantIndex};
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

/// Tenants whose last index [`IndexCache`] keeps; each holds its entries'
/// bodies, so this bounds the memory the cache takes.
const MAX_CACHED_TENANTS: usize = 256;

/// The last index built for each tenant, so that the next job hashes and
/// fingerprints only the entries that changed since (issue 11). It cannot go
/// stale: an entry is reused only when its text and time are unchanged, so
/// writes by other processes or by hand are seen like any other.
#[derive(Debug, Default)]
pub struct IndexCache {
    indexes: Mutex<HashMap<String, TenantIndex>>,
}

impl IndexCache {
    /// The index of `entries` and `pieces` for `tenant`, built from its last one.
    pub fn refresh(&self, tenant: &str, entries: &[StoredEntry], pieces: BTreeMap<String, String>) -> TenantIndex {
        let previous = self.lock().get(tenant).cloned().unwrap_or_default();
        let index = previous.refresh(entries.iter().map(entry_ref), pieces);
        let mut indexes = self.lock();
        if indexes.len() >= MAX_CACHED_TENANTS
            && !indexes.contains_key(tenant)
            && let Some(evicted) = indexes.keys().next().cloned()
        {
            indexes.remove(&evicted);
        }
        indexes.insert(tenant.to_string(), index.clone());
        index
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, TenantIndex>> {
        // A poisoned map only means a thread panicked between two whole
        // inserts; every index in it is still whole.
        self.indexes.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

fn entry_ref(stored: &StoredEntry) -> EntryRef<'_> {
    EntryRef {
        name: &stored.entry.name,
        entry_type: &stored.entry.entry_type,
        description: &stored.entry.description,
        body: &stored.entry.body,
        updated_at_ms: stored.updated_at_ms,
    }
}

/// The context and index for `run` on a tenant with `entries` and
/// `history`, with the current YAML of `edited_piece` if any. An unsafe
/// `edited_piece` is not read: the host checks reject the edit as
/// `unsafe_name`, and a name like `../../x` must not fail the whole job
/// before they run (issue 9).
pub fn policy_view(
    indexes: &IndexCache,
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
    let mut pieces = BTreeMap::new();
    if let Some(name) = edited_piece.filter(|name| name_problem(name).is_none())
        && let Some(yaml) = tenant.piece(name)?
    {
        pieces.insert(name.to_string(), yaml);
    }
    Ok((context, indexes.refresh(tenant.name(), entries, pieces)))
}
