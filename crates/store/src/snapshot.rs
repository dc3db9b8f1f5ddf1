//! Snapshots: one file per snapshot, `snapshots/<time>-<job>.json`,
//! holding the meta (kind, job, reasoning, model, decision, …), the
//! before/after content of every file the job changed, and the journal of
//! the commit that wrote it; plus `snapshots/index.jsonl`, one line per
//! snapshot. Written by [`TenantDir::commit`] together with the change they
//! record.
//!
//! One file, not a directory of copies (issue 12, 6): the old layout,
//! `snapshots/<id>/{before,after}/…` with a `meta.json`, took nine of a
//! job's twelve inodes and eleven of its nineteen `fsync`s, and those were
//! most of a job's own time. The file is written once, as the commit's
//! marker, and linked into `snapshots/` (see [`super::journal`]), so a
//! snapshot costs one inode and one `fsync`.
//!
//! Snapshots of the old layout, written by earlier versions, are read as
//! they are: [`TenantDir::read_snapshot`] reads both, and nothing is
//! migrated. Their `meta.json` records which copies exist (`copies`), so a
//! copy lost later reads as `snapshot_damaged`, not as a file that was
//! absent: a rollback never deletes a file because its copy is missing
//! (#9, 10). A snapshot file that does not parse is `snapshot_damaged`
//! too; one that is gone is `snapshot_not_found`.
//!
//! Every snapshot file is read with a size bound, [`SNAPSHOT_MAX_BYTES`],
//! and a commit refuses to write a larger one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::journal::Touched;
use super::{StoreError, TenantDir, TenantFile, VerdictCounts, cache, files, safe_name};

pub(super) const INDEX: &str = "index.jsonl";
/// The record of an old-layout snapshot directory.
const LEGACY_META: &str = "meta.json";
/// The `format` of the snapshot files this version writes.
const SNAPSHOT_FORMAT: u32 = 2;

/// The largest snapshot file written or read, and the largest `meta.json`
/// or copy of an old-layout snapshot read. A proposal is at most 1 MiB; a
/// rollback of a whole large tenant is what comes near this.
pub const SNAPSHOT_MAX_BYTES: u64 = 64 << 20;

/// A snapshot's meta, changes and the entries' times before it (see
/// [`TenantDir::read_snapshot_with_times`]).
pub type SnapshotWithTimes = (SnapshotMeta, Vec<FileChange>, BTreeMap<String, u64>);

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

/// What a snapshot records besides the file contents.
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
    /// The agent platform's id of the run the job reflected on
    /// (provenance: every entry version written here came from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run: Option<String>,
    /// Who approved the change, for a snapshot of an approved review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
}

/// Which copies of one file an old-layout snapshot holds, as its
/// `meta.json` records them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Copies {
    file: TenantFile,
    /// The file existed before the job (so `before/` holds it).
    before: bool,
    /// The file existed after the job (so `after/` holds it).
    after: bool,
}

/// `meta.json` of an old-layout snapshot: the meta and the record of
/// copies.
#[derive(Deserialize)]
struct LegacyMeta {
    #[serde(flatten)]
    meta: SnapshotMeta,
    /// Empty in snapshots written before copies were recorded.
    #[serde(default)]
    copies: Vec<Copies>,
}

/// A snapshot file, `snapshots/<id>.json`, as written.
#[derive(Serialize)]
pub(super) struct SnapshotFileRef<'a> {
    /// [`SNAPSHOT_FORMAT`].
    pub(super) format: u32,
    pub(super) meta: &'a SnapshotMeta,
    /// Every file of the change set with its content before and after.
    pub(super) changes: &'a [FileChange],
    /// The files the commit replaced, created or removed; read only while
    /// the file is the pending marker of a commit cut off.
    pub(super) journal: &'a [Touched],
    /// The modification time (ms) of each entry file the commit replaced
    /// or removed, as it was before: an entry's time is part of what a
    /// policy sees, so a replay of an older decision needs it back.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) before_modified_ms: &'a BTreeMap<String, u64>,
    /// The decision's counts, for the index line that recovery appends
    /// when the commit was cut off before it.
    pub(super) verdicts: VerdictCounts,
}

/// A snapshot file as read.
#[derive(Deserialize)]
struct SnapshotFile {
    format: u32,
    meta: SnapshotMeta,
    changes: Vec<FileChange>,
    #[serde(default)]
    before_modified_ms: BTreeMap<String, u64>,
    #[serde(default)]
    verdicts: VerdictCounts,
}

/// A snapshot file's meta, changes and verdict counts; `None` if it does
/// not parse or is of another format.
pub(super) fn decode_snapshot(text: &str) -> Option<(SnapshotMeta, Vec<FileChange>, VerdictCounts)> {
    let file: SnapshotFile = serde_json::from_str(text).ok()?;
    (file.format == SNAPSHOT_FORMAT).then_some((file.meta, file.changes, file.verdicts))
}

/// The file name of snapshot `id` in `snapshots/`.
pub(super) fn snapshot_file_name(id: &str) -> String {
    format!("{id}.json")
}

/// Encodes the snapshot file of `meta`, refusing one over
/// [`SNAPSHOT_MAX_BYTES`] before anything is written.
pub(super) fn encode_snapshot(
    meta: &SnapshotMeta,
    changes: &[FileChange],
    journal: &[Touched],
    before_modified_ms: &BTreeMap<String, u64>,
    verdicts: VerdictCounts,
) -> Result<Vec<u8>, StoreError> {
    let file = SnapshotFileRef { format: SNAPSHOT_FORMAT, meta, changes, journal, before_modified_ms, verdicts };
    let too_large = || StoreError::SnapshotTooLarge { id: meta.id.clone(), limit_bytes: SNAPSHOT_MAX_BYTES };
    // INVARIANT: serializing these types cannot fail (string keys only).
    let bytes = serde_json::to_vec(&file).map_err(|_| too_large())?;
    if bytes.len() as u64 > SNAPSHOT_MAX_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
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
    /// Changes held for review.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held: usize,
    /// Files changed.
    pub files: usize,
    /// Memory entries written or removed.
    #[serde(default)]
    pub memory_writes: usize,
    /// Pieces edited.
    #[serde(default)]
    pub pieces: Vec<String>,
    /// Entries written or removed, by name (absent in lines written before
    /// provenance, issue 12: their snapshots are read to find out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<String>>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// The id of the snapshot of `job_id` taken at `created_at_ms`:
/// `20261121T101500.123Z-<job>`, so ids sort by time.
pub fn snapshot_id(created_at_ms: u64, job_id: &str) -> String {
    format!("{}-{job_id}", compact_utc(created_at_ms))
}

impl TenantDir {
    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotIndexLine>, StoreError> {
        Ok(Vec::clone(&*self.snapshot_history()?))
    }

    /// [`TenantDir::snapshots`], shared: parsed only past what this process
    /// already read of the index, and not copied.
    pub fn snapshot_history(&self) -> Result<Arc<Vec<SnapshotIndexLine>>, StoreError> {
        let path = self.path(&format!("snapshots/{INDEX}"));
        let mut cached = self.cache.history();
        let file = match files::open_read(&self.snapshots, INDEX) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                *cached = None;
                return Ok(Arc::default());
            }
            Err(err) => return Err(StoreError::io(path)(err)),
        };
        let history = cache::read_history(&file, &mut cached).map_err(StoreError::io(path));
        self.cache.history_holds(&cached);
        history
    }

    /// A snapshot's meta and the before/after content of each file, in
    /// either layout. A snapshot file that does not parse, or an old-layout
    /// copy that `meta.json` records but that is missing (or one it does
    /// not record but that is there), is [`StoreError::SnapshotDamaged`].
    pub fn read_snapshot(&self, id: &str) -> Result<(SnapshotMeta, Vec<FileChange>), StoreError> {
        let (meta, changes, _) = self.read_snapshot_with_times(id)?;
        Ok((meta, changes))
    }

    /// [`TenantDir::read_snapshot`], with the modification time (ms) each
    /// entry file had before the commit, by entry name. Empty for snapshots
    /// written before times were kept (and for old-layout ones).
    pub fn read_snapshot_with_times(&self, id: &str) -> Result<SnapshotWithTimes, StoreError> {
        safe_name("snapshot", id)?;
        let name = snapshot_file_name(id);
        let path = self.path(&format!("snapshots/{name}"));
        let text = match files::read_optional_bounded(&self.snapshots, &name, SNAPSHOT_MAX_BYTES) {
            Ok(Some(text)) => text,
            Ok(None) => return self.read_legacy_snapshot(id).map(|(meta, changes)| (meta, changes, BTreeMap::new())),
            Err(err) => return Err(self.snapshot_read_error(id, &path, err)),
        };
        let damaged = || StoreError::SnapshotDamaged { id: id.to_string(), path: path.clone() };
        let file: SnapshotFile = serde_json::from_str(&text).map_err(|_| damaged())?;
        if file.format != SNAPSHOT_FORMAT || file.meta.id != id {
            return Err(damaged());
        }
        Ok((file.meta, file.changes, file.before_modified_ms))
    }

    /// Whether snapshot `id` has a file or an old-layout directory.
    pub(super) fn snapshot_exists(&self, id: &str) -> bool {
        self.snapshots.symlink_metadata(snapshot_file_name(id)).is_ok() || self.snapshots.symlink_metadata(id).is_ok()
    }

    /// An old-layout snapshot: `snapshots/<id>/` with `meta.json` and the
    /// `before/` and `after/` copies.
    fn read_legacy_snapshot(&self, id: &str) -> Result<(SnapshotMeta, Vec<FileChange>), StoreError> {
        let base = format!("snapshots/{id}");
        let missing = || StoreError::UnknownSnapshot { id: id.to_string() };
        let dir = match self.snapshots.symlink_metadata(id) {
            Ok(meta) if meta.is_dir() => {
                files::open_subdir(&self.snapshots, id).map_err(StoreError::io(self.path(&base)))?
            }
            _ => return Err(missing()),
        };
        let read = |dir: &cap_std::fs::Dir, name: &str, path: &str| {
            files::read_optional_bounded(dir, name, SNAPSHOT_MAX_BYTES)
                .map_err(|err| self.snapshot_read_error(id, &self.path(path), err))
        };
        let meta_path = format!("{base}/{LEGACY_META}");
        let text = read(&dir, LEGACY_META, &meta_path)?.ok_or_else(missing)?;
        let stored: LegacyMeta = serde_json::from_str(&text)
            .map_err(|_| StoreError::SnapshotDamaged { id: id.to_string(), path: self.path(&meta_path) })?;
        let meta = stored.meta;
        let mut changes = Vec::with_capacity(meta.files.len());
        for file in &meta.files {
            let (sub, name) = side_path(file);
            let copy = |side: &str| -> Result<Option<String>, StoreError> {
                let side_path = format!("{base}/{side}/{sub}");
                match dir.symlink_metadata(format!("{side}/{sub}")) {
                    Ok(_) => {
                        let side_dir = files::open_subdir(&dir, side).map_err(StoreError::io(self.path(&side_path)))?;
                        let sub_dir =
                            files::open_subdir(&side_dir, sub).map_err(StoreError::io(self.path(&side_path)))?;
                        read(&sub_dir, &name, &format!("{side_path}/{name}"))
                    }
                    Err(_) => Ok(None),
                }
            };
            let change = FileChange { file: file.clone(), before: copy("before")?, after: copy("after")? };
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

    /// The error for a snapshot file (or old-layout copy) at `path` that
    /// could not be read: too large, not UTF-8 (damaged), or I/O.
    fn snapshot_read_error(&self, id: &str, path: &str, err: std::io::Error) -> StoreError {
        match err.kind() {
            std::io::ErrorKind::FileTooLarge => {
                StoreError::SnapshotTooLarge { id: id.to_string(), limit_bytes: SNAPSHOT_MAX_BYTES }
            }
            std::io::ErrorKind::InvalidData => StoreError::SnapshotDamaged { id: id.to_string(), path: path.into() },
            _ => StoreError::io(path)(err),
        }
    }
}

/// Where a file's copy lives under `before/` and `after/` of an
/// old-layout snapshot.
fn side_path(file: &TenantFile) -> (&'static str, String) {
    match file {
        TenantFile::Entry(name) => ("memory", format!("{name}.md")),
        TenantFile::MemoryIndex => ("memory", super::MEMORY_INDEX.to_string()),
        TenantFile::Piece(name) => ("pieces", format!("{name}.yaml")),
    }
}

/// `YYYYMMDDTHHMMSS.mmmZ` for a time in ms since the Unix epoch.
fn compact_utc(ms: u64) -> String {
    let UtcTime { year, month, day, hour, minute, second, milli } = utc_time(ms);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}.{milli:03}Z")
}

/// A time as a UTC calendar date and clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// The year.
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
    /// 1 to 31.
    pub day: i64,
    /// 0 to 23.
    pub hour: u64,
    /// 0 to 59.
    pub minute: u64,
    /// 0 to 59.
    pub second: u64,
    /// 0 to 999.
    pub milli: u64,
}

/// `ms` since the Unix epoch as a UTC date and clock (snapshot ids and
/// every page that shows a time use this one conversion).
pub fn utc_time(ms: u64) -> UtcTime {
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
    let (hour, minute, second, milli) =
        (rest_ms / 3_600_000, rest_ms / 60_000 % 60, rest_ms / 1000 % 60, rest_ms % 1000);
    UtcTime { year, month, day, hour, minute, second, milli }
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
