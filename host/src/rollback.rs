//! Rollback: restore a tenant's memory and pieces to their state before a
//! snapshot — undoing that snapshot and every later one — and record the
//! rollback itself as a snapshot, so it can be inspected and undone too.
//!
//! A flow of three steps under the tenant lock: read the history, compute
//! each touched file's earliest before-state, commit the writes with their
//! snapshot.
//!
//! A damaged snapshot — a snapshot file that does not parse, or a copy of
//! an old-layout snapshot that does not match its record — stops the
//! rollback as `snapshot_damaged` before anything is written, and a lost
//! one as `snapshot_not_found`: a missing copy never turns into a deletion
//! (#9, 10). Snapshots of both layouts are read (issue 12, 6).

use std::collections::BTreeMap;

use crate::store::{FileChange, SnapshotMeta, StoreError, TenantDir, TenantFile, VerdictCounts, snapshot_id};

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The snapshot recording the rollback.
    pub snapshot_id: String,
    /// The files restored, with their content before and after.
    pub changes: Vec<FileChange>,
    /// The snapshots undone, oldest first.
    pub undone: Vec<String>,
}

/// Restores `tenant` to its state before snapshot `target`, at `now_ms`
/// or, if a snapshot is as recent, just after the latest one.
pub fn rollback(tenant: &TenantDir, target: &str, now_ms: u64) -> Result<RolledBack, StoreError> {
    let lock = tenant.lock()?;
    // 1. The target and every later snapshot.
    let history = tenant.snapshots()?;
    // The id's time is settled under the lock, after every snapshot's, so
    // rollbacks racing within one millisecond get distinct ids (#9, 9).
    let now_ms = history.iter().map(|line| line.created_at_ms.saturating_add(1)).fold(now_ms, u64::max);
    let start = history
        .iter()
        .position(|line| line.id == target)
        .ok_or_else(|| StoreError::UnknownSnapshot { id: target.to_string() })?;
    let undone: Vec<String> = history[start..].iter().map(|line| line.id.clone()).collect();
    // 2. Each touched file's content before the earliest of them to touch it.
    let mut desired: BTreeMap<TenantFile, Option<String>> = BTreeMap::new();
    for id in &undone {
        let (_, changes) = tenant.read_snapshot(id)?;
        for change in changes {
            desired.entry(change.file).or_insert(change.before);
        }
    }
    let mut changes = Vec::new();
    for (file, content) in desired {
        let current = tenant.read_file(&file)?;
        if current != content {
            changes.push(FileChange { file, before: current, after: content });
        }
    }
    // 3. Write, recorded as a snapshot of its own.
    let id = snapshot_id(now_ms, "rollback");
    let meta = SnapshotMeta {
        id: id.clone(),
        tenant: tenant.name().to_string(),
        job_id: "rollback".to_string(),
        kind: "rollback".to_string(),
        created_at_ms: now_ms,
        reasoning: format!("rollback to the state before {target} ({} snapshots undone)", undone.len()),
        model: None,
        tokens_in: 0,
        tokens_out: 0,
        decision: None,
        files: changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: None,
        restores: Some(target.to_string()),
        source_run: None,
        reviewer: None,
    };
    tenant.commit(&lock, &meta, &changes, VerdictCounts::default())?;
    tracing::info!(tenant = tenant.name(), target, files = changes.len(), undone = undone.len(), "rolled back");
    Ok(RolledBack { snapshot_id: id, changes, undone })
}
