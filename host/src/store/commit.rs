//! Committing a change set: write the files a job changes and the snapshot
//! that records it, as one unit under the tenant lock.
//!
//! Idempotent, so a job resumed after a crash can commit again: a change
//! set whose snapshot is already indexed is done; otherwise a file already
//! at its after-state is left alone, one at its before-state is written,
//! and one at neither — changed by someone else since the change set was
//! computed — stops the commit before anything is written. `MEMORY.md` is
//! the exception: it is derived from the entries, so if another job
//! rewrote it meanwhile it is generated afresh. The snapshot directory is
//! rewritten and its `index.jsonl` line added once.
//!
//! Every file is replaced atomically right away; the `fsync`s are batched
//! at the end (see [`files::Durable`]), and the commit returns only after
//! them.

use super::snapshot::{INDEX, META, SnapshotIndexLine, side_path};
use super::{
    Entry, FileChange, SnapshotMeta, StoreError, TenantDir, TenantFile, TenantLock, files, memory_index, safe_name,
};

/// What a commit wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Files written or removed now (fewer than the change set when a
    /// resumed commit finds some already done).
    pub written: usize,
}

/// How many changes a snapshot's decision accepted and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerdictCounts {
    /// Changes accepted.
    pub accepted: usize,
    /// Changes rejected.
    pub rejected: usize,
}

impl TenantDir {
    /// Applies `changes` and records them as the snapshot `meta`. The lock
    /// argument is the proof that the caller holds the tenant lock.
    pub fn commit(
        &self,
        _lock: &TenantLock,
        meta: &SnapshotMeta,
        changes: &[FileChange],
        verdicts: VerdictCounts,
    ) -> Result<Committed, StoreError> {
        safe_name("snapshot", &meta.id)?;
        // 0. Already committed (a job resumed after its commit, whose
        //    success was not recorded): nothing to do.
        if self.snapshots.symlink_metadata(&meta.id).is_ok() && self.snapshots()?.iter().any(|l| l.id == meta.id) {
            return Ok(Committed { written: 0 });
        }
        // 1. Check every file before writing any. `MEMORY.md` is derived
        //    from the entries, so it never conflicts: when another job
        //    rewrote it in between, it is generated afresh (step 3).
        let mut pending = Vec::new();
        let mut changes = changes.to_vec();
        for change in &changes {
            let current = self.read_file(&change.file)?;
            if current == change.after {
                continue;
            }
            if current != change.before && change.file != TenantFile::MemoryIndex {
                return Err(StoreError::Conflict { path: self.path(&change.file.path()) });
            }
            pending.push(change.file.clone());
        }
        let mut durable = files::Durable::default();
        // 2. The tenant's files, the index last.
        pending.sort_by_key(|file| *file == TenantFile::MemoryIndex);
        for file in &pending {
            let change = changes.iter_mut().find(|c| c.file == *file).ok_or_else(|| StoreError::Io {
                path: self.path(&file.path()),
                source: std::io::Error::other("a change vanished from its change set"),
            })?;
            if *file == TenantFile::MemoryIndex {
                let current = self.read_file(file)?;
                if current != change.before {
                    let entries: Vec<Entry> = self.entries()?.into_iter().map(|stored| stored.entry).collect();
                    *change = FileChange { file: file.clone(), before: current, after: Some(memory_index(&entries)) };
                }
            }
            let (dir, name) = self.locate(file)?;
            match &change.after {
                Some(text) => durable.write(dir, file.dir_name(), &name, text.as_bytes()),
                None => durable.remove(dir, file.dir_name(), &name),
            }
            .map_err(StoreError::io(self.path(&file.path())))?;
        }
        // 3. The snapshot.
        self.write_snapshot(&mut durable, meta, &changes, verdicts)?;
        // 4. Durable, all at once.
        durable.sync().map_err(StoreError::io(self.path("")))?;
        Ok(Committed { written: pending.len() })
    }

    fn write_snapshot(
        &self,
        durable: &mut files::Durable,
        meta: &SnapshotMeta,
        changes: &[FileChange],
        verdicts: VerdictCounts,
    ) -> Result<(), StoreError> {
        let base = format!("snapshots/{}", meta.id);
        let io = |sub: &str| StoreError::io(self.path(&format!("{base}{sub}")));
        // A snapshot directory that did not exist has no index line yet; one
        // that did (a resumed commit) may have.
        let resumed = self.snapshots.symlink_metadata(&meta.id).is_ok();
        let dir = files::open_subdir(&self.snapshots, &meta.id).map_err(io(""))?;
        durable.touch(&self.snapshots, "snapshots").map_err(io(""))?;
        for (side, pick_after) in [("before", false), ("after", true)] {
            for change in changes {
                let content = if pick_after { &change.after } else { &change.before };
                let Some(content) = content else { continue };
                let (sub, name) = side_path(&change.file);
                let side_dir = files::open_subdir(&dir, side).map_err(io(&format!("/{side}")))?;
                let sub_dir = files::open_subdir(&side_dir, sub).map_err(io(&format!("/{side}/{sub}")))?;
                durable.touch(&dir, &base).map_err(io(""))?;
                durable.touch(&side_dir, &format!("{base}/{side}")).map_err(io(&format!("/{side}")))?;
                durable
                    .write(&sub_dir, &format!("{base}/{side}/{sub}"), &name, content.as_bytes())
                    .map_err(io(&format!("/{side}/{sub}/{name}")))?;
            }
        }
        let meta_json = serde_json::to_string_pretty(meta).map_err(|err| io("")(std::io::Error::other(err)))?;
        durable.write(&dir, &base, META, meta_json.as_bytes()).map_err(io(&format!("/{META}")))?;

        if resumed && self.snapshots()?.iter().any(|line| line.id == meta.id) {
            return Ok(());
        }
        let line = SnapshotIndexLine {
            id: meta.id.clone(),
            job_id: meta.job_id.clone(),
            kind: meta.kind.clone(),
            created_at_ms: meta.created_at_ms,
            accepted: verdicts.accepted,
            rejected: verdicts.rejected,
            files: changes.len(),
            memory_writes: changes.iter().filter(|c| matches!(c.file, TenantFile::Entry(_))).count(),
            pieces: changes
                .iter()
                .filter_map(|c| match &c.file {
                    TenantFile::Piece(name) => Some(name.clone()),
                    _ => None,
                })
                .collect(),
        };
        let line = serde_json::to_string(&line).map_err(|err| io("")(std::io::Error::other(err)))?;
        durable
            .append_line(&self.snapshots, "snapshots", INDEX, &line)
            .map_err(StoreError::io(self.path(&format!("snapshots/{INDEX}"))))
    }
}
