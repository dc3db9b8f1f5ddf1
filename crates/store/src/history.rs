//! Provenance (issue 12): every version of one entry, newest first, each
//! with where it came from — the snapshot that wrote it, its job, the agent
//! run the job reflected on, the reviewer who approved it, and the verdicts
//! on the change — read from the snapshots, which the commit writes with
//! the change itself. Nothing is kept in the entry's own markdown.

use serde::Serialize;

use super::{StoreError, TenantDir, TenantFile};

/// One version of an entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryVersion {
    /// The snapshot that wrote it.
    pub snapshot_id: String,
    /// `reflection`, `consolidation`, `review` or `rollback`.
    pub kind: String,
    /// The job.
    pub job_id: String,
    /// When, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The agent run the job reflected on, when the platform named it.
    pub source_run: Option<String>,
    /// Who approved it, for an approved review.
    pub reviewer: Option<String>,
    /// The decision that let it through.
    pub decision_id: Option<String>,
    /// The verdicts on the change to this entry, as the decision recorded
    /// them.
    pub verdicts: Option<serde_json::Value>,
    /// The entry's file before; `None` when it did not exist.
    pub before: Option<String>,
    /// The entry's file after; `None` when this version removed it.
    pub after: Option<String>,
}

impl TenantDir {
    /// Every version of entry `name`, newest first.
    pub fn entry_history(&self, name: &str) -> Result<Vec<EntryVersion>, StoreError> {
        super::safe_name("entry", name)?;
        let file = TenantFile::Entry(name.to_string());
        let mut versions = Vec::new();
        for line in self.snapshot_history()?.iter().rev() {
            // Lines written before provenance do not list their entries.
            let may_touch = match &line.entries {
                Some(entries) => entries.iter().any(|entry| entry == name),
                None => line.memory_writes > 0,
            };
            if !may_touch {
                continue;
            }
            let (meta, changes) = self.read_snapshot(&line.id)?;
            let Some(change) = changes.into_iter().find(|change| change.file == file) else { continue };
            let decision = meta.decision.as_ref();
            let verdicts = decision
                .and_then(|d| d["memory"].as_array())
                .and_then(|memory| memory.iter().find(|verdict| verdict["name"] == name))
                .cloned();
            versions.push(EntryVersion {
                snapshot_id: meta.id,
                kind: meta.kind,
                job_id: meta.job_id,
                created_at_ms: meta.created_at_ms,
                source_run: meta.source_run,
                reviewer: meta.reviewer,
                decision_id: decision.and_then(|d| d["decision_id"].as_str()).map(str::to_string),
                verdicts,
                before: change.before,
                after: change.after,
            });
        }
        Ok(versions)
    }
}
