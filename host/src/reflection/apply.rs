//! Steps 7 and 8 of a reflection: write the plan, then the snapshot, both
//! under the tenant lock.
//!
//! Apply is idempotent: a file already at its after-state is left alone,
//! one at its before-state is written. A file at neither — changed by
//! someone else since the plan was made — stops the job before anything is
//! written (`apply_conflict`).

use super::FlowError;
use super::plan::Plan;
use crate::store::{SnapshotMeta, TenantDir};

/// Writes every change of `plan`.
pub fn apply(tenant: &TenantDir, plan: &Plan) -> Result<usize, FlowError> {
    let mut pending = Vec::new();
    for change in &plan.changes {
        let current = tenant.read_file(&change.file)?;
        if current == change.after {
            continue;
        }
        if current != change.before {
            return Err(FlowError::ApplyConflict { path: change.file.path() });
        }
        pending.push(change);
    }
    for change in &pending {
        tenant.write_file(&change.file, change.after.as_deref())?;
    }
    Ok(pending.len())
}

/// Writes the snapshot of a job (idempotent, see the tenant store).
pub fn snapshot(
    tenant: &TenantDir,
    meta: &SnapshotMeta,
    plan: &Plan,
    accepted: usize,
    rejected: usize,
) -> Result<(), FlowError> {
    Ok(tenant.write_snapshot(meta, &plan.changes, accepted, rejected)?)
}
