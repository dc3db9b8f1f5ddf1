//! Snapshots: `snapshots/<time>-<job>/` with `before/` and `after/` copies
//! of every file a job changed and a `meta.json`; plus
//! `snapshots/index.jsonl`, one line per snapshot. Written by
//! [`TenantDir::commit`] together with the change they record.
//!
//! `meta.json` also records which copies exist (`copies`), so a copy lost
//! later reads as `snapshot_damaged`, not as a file that was absent: a
//! rollback never deletes a file because its copy is missing (#9, 10).
//! Snapshots written before that record read as before.

use serde::{Deserialize, Serialize};

use super::{StoreError, TenantDir, TenantFile, files, safe_name};

pub(super) const INDEX: &str = "index.jsonl";
pub(super) const META: &str = "meta.json";

/// One file's content before and after a job; `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Which file.
    pub file: TenantFile,
    /// Its content before.
    pub before: Option<String>,
    /// Its content after.
    pub after: Option<String>,
}

/// What `meta.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// `<time>-<job>`.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The job that made the change.
    pub job_id: String,
    /// `reflection`, `consolidation` or `rollback`.
    pub kind: String,
    /// When, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The LLM's reasoning.
    pub reasoning: String,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// Prompt tokens.
    #[serde(default)]
    pub tokens_in: u64,
    /// Completion tokens.
    #[serde(default)]
    pub tokens_out: u64,
    /// The decision record, with every verdict and rejection.
    #[serde(default)]
    pub decision: Option<serde_json::Value>,
    /// The files changed.
    pub files: Vec<TenantFile>,
    /// The LLM's raw answer, when the operator keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_llm_output: Option<String>,
    /// For a rollback: the snapshot whose before-state was restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
}

/// Which copies of one file a snapshot holds, as `meta.json` records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Copies {
    pub(super) file: TenantFile,
    /// The file existed before the job (so `before/` holds it).
    pub(super) before: bool,
    /// The file existed after the job (so `after/` holds it).
    pub(super) after: bool,
}

/// `meta.json` as stored: the meta and the record of copies.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredMeta {
    #[serde(flatten)]
    pub(super) meta: SnapshotMeta,
    /// Empty in snapshots written before copies were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) copies: Vec<Copies>,
}

impl StoredMeta {
    pub(super) fn new(meta: &SnapshotMeta, changes: &[FileChange]) -> StoredMeta {
        let copies = changes
            .iter()
            .map(|c| Copies { file: c.file.clone(), before: c.before.is_some(), after: c.after.is_some() })
            .collect();
        StoredMeta { meta: meta.clone(), copies }
    }
}

/// One line of `index.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotIndexLine {
    /// The snapshot id.
    pub id: String,
    /// The job.
    pub job_id: String,
    /// `reflection`, `consolidation` or `rollback`.
    pub kind: String,
    /// When, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Changes accepted.
    pub accepted: usize,
    /// Changes rejected.
    pub rejected: usize,
    /// Files changed.
    pub files: usize,
    /// Memory entries written or removed.
    #[serde(default)]
    pub memory_writes: usize,
    /// Pieces edited.
    #[serde(default)]
    pub pieces: Vec<String>,
}

/// The id of the snapshot of `job_id` taken at `created_at_ms`:
/// `20261121T101500.123Z-<job>`, so ids sort by time.
pub fn snapshot_id(created_at_ms: u64, job_id: &str) -> String {
    format!("{}-{job_id}", compact_utc(created_at_ms))
}

impl TenantDir {
    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotIndexLine>, StoreError> {
        let path = self.path(&format!("snapshots/{INDEX}"));
        let text =
            files::read_optional(&self.snapshots, INDEX).map_err(StoreError::io(path.clone()))?.unwrap_or_default();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|err| StoreError::io(path.clone())(std::io::Error::other(err)))
            })
            .collect()
    }

    /// A snapshot's meta and the before/after content of each file. A copy
    /// that `meta.json` records but that is missing (or one it does not
    /// record but that is there) is [`StoreError::SnapshotDamaged`].
    pub fn read_snapshot(&self, id: &str) -> Result<(SnapshotMeta, Vec<FileChange>), StoreError> {
        let (stored, dir) = self.read_stored_meta(id)?;
        let base = format!("snapshots/{id}");
        let meta = stored.meta;
        let mut changes = Vec::with_capacity(meta.files.len());
        for file in &meta.files {
            let (sub, name) = side_path(file);
            let read = |side: &str| -> Result<Option<String>, StoreError> {
                let side_path = format!("{base}/{side}/{sub}");
                match dir.symlink_metadata(format!("{side}/{sub}")) {
                    Ok(_) => {
                        let side_dir = files::open_subdir(&dir, side).map_err(StoreError::io(self.path(&side_path)))?;
                        let sub_dir =
                            files::open_subdir(&side_dir, sub).map_err(StoreError::io(self.path(&side_path)))?;
                        files::read_optional(&sub_dir, &name).map_err(StoreError::io(self.path(&side_path)))
                    }
                    Err(_) => Ok(None),
                }
            };
            let change = FileChange { file: file.clone(), before: read("before")?, after: read("after")? };
            if !stored.copies.is_empty() {
                let damaged = |side: &str| StoreError::SnapshotDamaged {
                    id: id.to_string(),
                    path: self.path(&format!("{base}/{side}/{sub}/{name}")),
                };
                let Some(copies) = stored.copies.iter().find(|c| c.file == *file) else {
                    return Err(damaged("before"));
                };
                if copies.before != change.before.is_some() {
                    return Err(damaged("before"));
                }
                if copies.after != change.after.is_some() {
                    return Err(damaged("after"));
                }
            }
            changes.push(change);
        }
        Ok((meta, changes))
    }

    /// A snapshot's stored `meta.json` and its directory.
    pub(super) fn read_stored_meta(&self, id: &str) -> Result<(StoredMeta, cap_std::fs::Dir), StoreError> {
        safe_name("snapshot", id)?;
        let base = format!("snapshots/{id}");
        let missing = || StoreError::UnknownSnapshot { id: id.to_string() };
        let dir = match self.snapshots.symlink_metadata(id) {
            Ok(meta) if meta.is_dir() => {
                files::open_subdir(&self.snapshots, id).map_err(StoreError::io(self.path(&base)))?
            }
            _ => return Err(missing()),
        };
        let text = files::read_optional(&dir, META).map_err(StoreError::io(self.path(&base)))?.ok_or_else(missing)?;
        let stored: StoredMeta =
            serde_json::from_str(&text).map_err(|err| StoreError::io(self.path(&base))(std::io::Error::other(err)))?;
        Ok((stored, dir))
    }
}

/// Where a file's copy lives under `before/` and `after/`.
pub(super) fn side_path(file: &TenantFile) -> (&'static str, String) {
    match file {
        TenantFile::Entry(name) => ("memory", format!("{name}.md")),
        TenantFile::MemoryIndex => ("memory", super::MEMORY_INDEX.to_string()),
        TenantFile::Piece(name) => ("pieces", format!("{name}.yaml")),
    }
}

/// `YYYYMMDDTHHMMSS.mmmZ` for a time in ms since the Unix epoch.
fn compact_utc(ms: u64) -> String {
    let (days, rest_ms) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (rest_ms / 3_600_000, rest_ms / 60_000 % 60, rest_ms / 1000 % 60, rest_ms % 1000);
    format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::compact_utc;

    #[test]
    fn formats_utc_times() {
        assert_eq!(compact_utc(0), "19700101T000000.000Z");
        assert_eq!(compact_utc(1_700_000_000_123), "20231114T221320.123Z");
        assert_eq!(compact_utc(951_782_400_000), "20000229T000000.000Z");
    }
}
