//! Committing a change set: write the files a job changes and the snapshot
//! that records it, as one atomic unit under the tenant lock.
//!
//! Atomic (#9, 2): after any failure, however long the disk keeps failing,
//! the store is either fully before the commit or fully after it, and the
//! error says which. The steps:
//!
//! 1. Check every file; nothing is written if one conflicts.
//! 2. Journal, the commit point: write every new file's content as a
//!    staged file and the snapshot file as the marker
//!    `snapshots/.last-commit` (see [`super::journal`]), then sync them,
//!    together with what the previous commit left to sync. All the space
//!    and inodes the commit needs are taken here, while readers still see
//!    the old store. From here on a crash cannot take the commit back:
//!    the next lock holder finishes it from the snapshot.
//! 3. Apply: link each file about to be replaced or removed to its undo
//!    name, rename the staged files into place and remove the removed
//!    ones, `MEMORY.md` last; link the snapshot under its name; append its
//!    `index.jsonl` line; rename the marker to `.last-commit-done`. None of
//!    it is synced: renames and links need no new space, and the next
//!    commit's step 2 (or the next lock holder's recovery) makes it durable
//!    before the marker is replaced.
//!
//! So a commit waits for the disk once. A job that adds one entry creates
//! three inodes (the two staged files, the snapshot) and costs one journal
//! commit on ext4; it cost two while the index line, synced after the
//! marker, was the commit point, and the commit is most of a job's own
//! time (issues 12 and 14).
//!
//! A failure in this process is undone at once, in step 2 or 3: the files
//! renamed back from their undo links (so it needs no space), the line
//! cut off, then the marker removed, durably. A crash is finished instead,
//! by the next lock holder, from the marker: the undo links need not
//! survive one. When even the undo fails (the disk is gone), the marker
//! stays and the next lock holder finishes the commit.
//!
//! Idempotent, so a job resumed after a crash can commit again: a change
//! set whose snapshot is already indexed is done (and a different change
//! set under the same snapshot id is refused, #9, 9); otherwise a file
//! already at its after-state is left alone, one at its before-state is
//! written, and one at neither — changed by someone else since the change
//! set was computed — stops the commit before anything is written.
//! `MEMORY.md` is the exception: it is derived from the entries, so if
//! another job rewrote it meanwhile it is generated afresh.

use std::collections::BTreeMap;

use super::journal::Touched;
use super::snapshot::{INDEX, SnapshotIndexLine, encode_snapshot};
use super::{
    Entry, FileChange, SnapshotMeta, StoreError, TenantDir, TenantFile, TenantLock, files, memory_index, safe_name,
    system_time_ms,
};

/// What a commit wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Files written or removed now (fewer than the change set when a
    /// resumed commit finds some already done).
    pub written: usize,
}

/// How many changes a snapshot's decision accepted and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct VerdictCounts {
    /// Changes accepted.
    pub accepted: usize,
    /// Changes rejected.
    pub rejected: usize,
    /// Changes held for review.
    pub held: usize,
}

impl TenantDir {
    /// Applies `changes` and records them as the snapshot `meta`, all or
    /// nothing. The lock argument is the proof that the caller holds the
    /// tenant lock.
    pub fn commit(
        &self,
        lock: &TenantLock,
        meta: &SnapshotMeta,
        changes: &[FileChange],
        verdicts: VerdictCounts,
    ) -> Result<Committed, StoreError> {
        safe_name("snapshot", &meta.id)?;
        // 0. Already committed (a job resumed after its commit, whose
        //    success was not recorded): nothing to do, if it is the same.
        if self.snapshot_exists(&meta.id) && self.snapshots()?.iter().any(|l| l.id == meta.id) {
            let (stored_meta, stored) = self.read_snapshot(&meta.id)?;
            // `MEMORY.md` may have been generated afresh when committed.
            let same_change = |c: &FileChange| {
                c.file == TenantFile::MemoryIndex || stored.iter().any(|s| s.file == c.file && s.after == c.after)
            };
            if stored_meta != *meta || !changes.iter().all(same_change) {
                return Err(StoreError::SnapshotIdTaken { id: meta.id.clone() });
            }
            return Ok(Committed { written: 0 });
        }
        // 1. Check every file before writing any.
        let (changes, touched) = self.plan_commit(changes)?;
        let before_modified_ms = self.modified_times(&touched)?;
        let snapshot = encode_snapshot(meta, &changes, &touched, &before_modified_ms, verdicts)?;
        // 2. and 3., undone as a whole on failure.
        let mut applied = Applied::default();
        let result = self
            .journal(meta, &changes, &touched, &snapshot, lock)
            .and_then(|()| self.apply(meta, &changes, &touched, verdicts, lock, &mut applied));
        match result {
            Ok(()) => Ok(Committed { written: touched.len() }),
            Err(source) => {
                let state = match self.undo_commit(&meta.id, &touched, &applied) {
                    Ok(()) => "was undone; the store is as before it",
                    Err(err) => {
                        let (tenant, snapshot) = (self.name(), meta.id.as_str());
                        tracing::error!(tenant, snapshot, error = %err, "cannot undo a failed commit now");
                        "could not be undone; the next holder of the tenant lock finishes it"
                    }
                };
                Err(StoreError::CommitFailed { id: meta.id.clone(), state, source: Box::new(source) })
            }
        }
    }

    /// Step 1: the change set as it will be written (with `MEMORY.md`
    /// regenerated if another job rewrote it) and the files it touches,
    /// `MEMORY.md` last; or the first conflict.
    fn plan_commit(&self, changes: &[FileChange]) -> Result<(Vec<FileChange>, Vec<Touched>), StoreError> {
        let mut planned = Vec::with_capacity(changes.len());
        let mut touched = Vec::new();
        for change in changes {
            let current = self.read_file(&change.file)?;
            let mut change = change.clone();
            if current != change.after && current != change.before {
                if change.file != TenantFile::MemoryIndex {
                    return Err(StoreError::Conflict { path: self.path(&change.file.path()) });
                }
                // Derived from the entries, so never a conflict: generated
                // afresh for the entries as this change set leaves them.
                let after = Some(self.index_after(changes)?);
                change = FileChange { file: change.file, before: current.clone(), after };
            }
            if current != change.after {
                touched.push(Touched { file: change.file.clone(), existed: current.is_some() });
            }
            planned.push(change);
        }
        touched.sort_by_key(|t| t.file == TenantFile::MemoryIndex);
        Ok((planned, touched))
    }

    /// When each entry file `touched` replaces or removes was last written,
    /// in ms, by entry name: kept in the snapshot for replays.
    fn modified_times(&self, touched: &[Touched]) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut times = BTreeMap::new();
        for touched in touched.iter().filter(|t| t.existed) {
            let TenantFile::Entry(name) = &touched.file else { continue };
            let file_name = format!("{name}.md");
            let modified = self
                .memory
                .symlink_metadata(&file_name)
                .and_then(|meta| meta.modified())
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
            times.insert(name.clone(), system_time_ms(modified.into_std()));
        }
        Ok(times)
    }

    /// `MEMORY.md` for the entries as `changes` leaves them.
    fn index_after(&self, changes: &[FileChange]) -> Result<String, StoreError> {
        let mut entries: BTreeMap<String, Entry> =
            self.entries()?.into_iter().map(|stored| (stored.entry.name.clone(), stored.entry)).collect();
        for change in changes {
            let TenantFile::Entry(name) = &change.file else { continue };
            match &change.after {
                Some(text) => entries.insert(name.clone(), Entry::parse(name, text)?),
                None => entries.remove(name),
            };
        }
        Ok(memory_index(&entries.into_values().collect::<Vec<_>>()))
    }

    /// Step 2: the staged files and the marker, synced with what the
    /// previous commit left unsynced. Done when this returns `Ok`.
    fn journal(
        &self,
        meta: &SnapshotMeta,
        changes: &[FileChange],
        touched: &[Touched],
        snapshot: &[u8],
        lock: &TenantLock,
    ) -> Result<(), StoreError> {
        let mut durable = files::Durable::default();
        // First, so that the directories are synced before `snapshots/`:
        // where the new marker is durable, so is what it replaces.
        self.include_previous_commit(&mut durable)?;
        for touched in touched {
            let Some(text) = after_of(changes, &touched.file) else { continue };
            let (dir, name) = self.locate(&touched.file)?;
            let spare = lock.spares().take(touched.file.dir_name());
            durable
                .stage(dir, &name, text.as_bytes(), spare.as_deref())
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
        }
        fault::point("staged")?;
        self.write_marker(&mut durable, snapshot)?;
        fault::point("marked")?;
        durable.sync().map_err(StoreError::io(self.path("")))?;
        tracing::trace!(tenant = self.name(), snapshot = meta.id, "commit point");
        Ok(())
    }

    /// Step 3: puts the journaled commit in place, noting in `applied` what
    /// an undo has to take back; durable at the next sync.
    fn apply(
        &self,
        meta: &SnapshotMeta,
        changes: &[FileChange],
        touched: &[Touched],
        verdicts: VerdictCounts,
        lock: &TenantLock,
        applied: &mut Applied,
    ) -> Result<(), StoreError> {
        fault::point("journaled")?;
        // Undo links first, so that a failure in this process is undone
        // with renames only, needing no space; a crash is finished instead.
        for touched in touched.iter().filter(|t| t.existed) {
            let (dir, name) = self.locate(&touched.file)?;
            let undo = format!("{}{name}", files::UNDO_PREFIX);
            let io = StoreError::io(self.path(&touched.file.path()));
            files::remove_if_present(dir, &undo).and_then(|()| dir.hard_link(&name, dir, &undo)).map_err(io)?;
        }
        fault::point("linked")?;
        for touched in touched {
            let (dir, name) = self.locate(&touched.file)?;
            match after_of(changes, &touched.file) {
                Some(_) => files::rename_staged(dir, &name),
                None => files::remove_if_present(dir, &name),
            }
            .map_err(StoreError::io(self.path(&touched.file.path())))?;
            fault::point("renamed")?;
        }
        self.link_snapshot(&meta.id)?;
        applied.index_len = Some(self.append_index_line(&index_line(meta, changes, verdicts))?);
        fault::point("indexed")?;
        self.mark_applied(touched, lock.spares())
    }

    /// Appends `line` to the snapshot index, unsynced; returns the index's
    /// length before.
    pub(super) fn append_index_line(&self, line: &SnapshotIndexLine) -> Result<u64, StoreError> {
        let path = || self.path(&format!("snapshots/{INDEX}"));
        let line = serde_json::to_string(line).map_err(|err| StoreError::io(path())(std::io::Error::other(err)))?;
        files::append_line(&self.snapshots, INDEX, &line).map_err(StoreError::io(path()))
    }
}

/// What a failed commit's undo has to take back besides its files.
#[derive(Default)]
pub(super) struct Applied {
    /// The index's length before the commit appended its line.
    pub(super) index_len: Option<u64>,
}

/// The content `changes` gives `file`, if it is not removed.
fn after_of<'a>(changes: &'a [FileChange], file: &TenantFile) -> Option<&'a String> {
    changes.iter().find(|c| c.file == *file).and_then(|c| c.after.as_ref())
}

pub(super) fn index_line(meta: &SnapshotMeta, changes: &[FileChange], verdicts: VerdictCounts) -> SnapshotIndexLine {
    SnapshotIndexLine {
        id: meta.id.clone(),
        job_id: meta.job_id.clone(),
        kind: meta.kind.clone(),
        created_at_ms: meta.created_at_ms,
        accepted: verdicts.accepted,
        rejected: verdicts.rejected,
        held: verdicts.held,
        files: changes.len(),
        memory_writes: changes.iter().filter(|c| matches!(c.file, TenantFile::Entry(_))).count(),
        pieces: changes
            .iter()
            .filter_map(|c| match &c.file {
                TenantFile::Piece(name) => Some(name.clone()),
                _ => None,
            })
            .collect(),
        entries: Some(
            changes
                .iter()
                .filter_map(|c| match &c.file {
                    TenantFile::Entry(name) => Some(name.clone()),
                    _ => None,
                })
                .collect(),
        ),
    }
}

/// Points of a commit where a test makes it fail, or die as a killed
/// process would (a panic: nothing after it runs, the lock is let go).
/// Nothing in a normal build.
mod fault {
    use super::StoreError;

    #[cfg(not(test))]
    #[inline(always)]
    pub(super) fn point(_step: &'static str) -> Result<(), StoreError> {
        Ok(())
    }

    #[cfg(test)]
    pub(super) use armed::point;

    #[cfg(test)]
    pub(super) mod armed {
        use std::cell::Cell;

        use super::StoreError;

        /// What happens at the armed step.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Fault {
            /// The step returns an I/O error.
            Fail,
            /// The process dies there.
            Die,
        }

        thread_local! {
            /// The step, the how-manieth time it is reached (from 0), and what then.
            static ARMED: Cell<Option<(&'static str, usize, Fault)>> = const { Cell::new(None) };
        }

        /// Arms `fault` for the `nth` time `step` is reached on this thread.
        pub(crate) fn arm(step: &'static str, nth: usize, fault: Fault) {
            ARMED.set(Some((step, nth, fault)));
        }

        /// Disarms, and says whether the armed step was never reached.
        pub(crate) fn disarm() -> bool {
            ARMED.take().is_some()
        }

        pub(crate) fn point(step: &'static str) -> Result<(), StoreError> {
            match ARMED.get() {
                Some((armed, 0, fault)) if armed == step => {
                    ARMED.set(None);
                    match fault {
                        Fault::Fail => Err(StoreError::io(step)(std::io::Error::other("injected fault"))),
                        Fault::Die => panic!("killed at {step}"),
                    }
                }
                Some((armed, n, fault)) if armed == step => {
                    ARMED.set(Some((armed, n - 1, fault)));
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
