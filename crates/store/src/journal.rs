//! The commit journal and what a lock holder does with it: finish a commit
//! that was cut off, and sweep stale temporary files.
//!
//! A commit (see [`super::commit`]) writes its snapshot file as the marker
//! `snapshots/.last-commit` (staged, then renamed into place, so never
//! torn once synced) and syncs it before it changes any file a reader
//! sees: a synced marker is the commit point. It then puts its files in
//! place, links the snapshot under its own name, appends its index line and
//! renames the marker to `.last-commit-done`, all unsynced. The next commit
//! syncs the index and the directories of the previous one together with
//! its own marker, `snapshots/` last, so that wherever a new marker is
//! durable the previous commit is too; only then is `.last-commit-done`
//! removed.
//!
//! So whoever takes the tenant lock next calls [`TenantDir::recover`]
//! first, and a `.last-commit` it finds is a commit cut off after its
//! commit point: it is finished from the snapshot. Each file still at its
//! before-state is written (a file at neither state was changed by someone
//! else since, and is left as it is), the snapshot linked and the index
//! line appended if missing, all synced. A marker that is empty or torn
//! was never synced, so its commit changed nothing a reader sees: it is
//! removed. `.last-commit-done` needs nothing: its commit is complete, and
//! whichever commit comes next makes it durable.
//!
//! Earlier versions wrote `.commit-pending` (in `snapshots/`, or in the
//! tenant directory) and made the index line the commit point, with undo
//! links for every replaced file: such a marker is still read. With its
//! index line, its commit is finished as above; without, it is undone —
//! each replaced or removed file renamed back from its undo link, each
//! created file removed, the snapshot removed — so the store is exactly
//! as before it (#9, 2).
//!
//! Then temporary files that nobody can still be writing are removed
//! (#9, 22; see [`files::sweep_temps`]).

use serde::{Deserialize, Serialize};

use super::commit::{Applied, index_line};
use super::snapshot::{INDEX, SNAPSHOT_MAX_BYTES, decode_snapshot, snapshot_file_name};
use super::spares::Spares;
use super::{FileChange, StoreError, TenantDir, TenantFile, files};

/// The marker of a commit past its commit point, not yet applied.
const LAST: &str = ".last-commit";
/// The marker of the last commit, applied but not yet synced.
const DONE: &str = ".last-commit-done";
/// The marker earlier versions wrote, in `snapshots/` or the tenant
/// directory.
const LEGACY_MARKER: &str = ".commit-pending";

/// What recovery needs of a pending commit of an earlier version.
#[derive(Debug, Clone)]
struct Pending {
    /// The snapshot being committed.
    snapshot: String,
    /// The files the commit replaces, creates or removes.
    files: Vec<Touched>,
}

/// An earlier version's marker as read: a snapshot file (whose meta and
/// journal are all recovery reads of it), or the marker of a version
/// before snapshots were one file.
#[derive(Deserialize)]
#[serde(untagged)]
enum LegacyMarker {
    /// Written before snapshots were one file.
    Pending { snapshot: String, files: Vec<Touched> },
    /// A snapshot file.
    Snapshot { meta: MarkerMeta, journal: Vec<Touched> },
}

/// The one field of a snapshot's meta that recovery of a legacy marker
/// reads.
#[derive(Deserialize)]
struct MarkerMeta {
    id: String,
}

/// One file a commit touches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Touched {
    pub(super) file: TenantFile,
    /// It existed before.
    pub(super) existed: bool,
}

/// What a lock holder found and repaired before its own work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A commit of an earlier version that failed or was cut off before
    /// its commit point, undone: its snapshot id.
    pub undone: Option<String>,
    /// A commit that was cut off after its commit point, finished: its
    /// snapshot id.
    pub finished: Option<String>,
    /// Files of that commit found as before it, and written from its
    /// snapshot, relative to the data directory.
    pub rolled_forward: Vec<String>,
    /// Stale temporary files removed (and a marker never synced), relative
    /// to the data directory.
    pub swept: Vec<String>,
}

impl TenantDir {
    /// Finishes or undoes a commit that was cut off, then sweeps stale
    /// temporary files. Only for a holder of the tenant lock.
    ///
    /// Returns the spare files found, too (see [`crate::spares`]).
    pub(crate) fn recover(&self) -> Result<(Recovery, Spares), StoreError> {
        let mut recovery = Recovery::default();
        let mut spares = Vec::new();
        if let Some(marker) = self.read_legacy_marker()? {
            if self.snapshot_history()?.iter().any(|line| line.id == marker.snapshot) {
                recovery.rolled_forward = self.roll_forward_legacy(&marker)?;
                recovery.finished = Some(marker.snapshot.clone());
            } else {
                self.undo(&marker)?;
                recovery.undone = Some(marker.snapshot.clone());
            }
            self.finish_legacy_journal(&marker)?;
        }
        self.finish_cut_off(&mut recovery)?;
        let dirs = [
            ("", &self.dir, None),
            ("memory/", &self.memory, Some("memory")),
            ("pieces/", &self.pieces, Some("pieces")),
            // Not `snapshots/`: nothing is written there by rename but the
            // marker (its index is appended to), and it is the largest to
            // list.
            ("consolidation/", &self.consolidation, None),
        ];
        for (sub, dir, spare_key) in dirs {
            let swept = files::sweep_temps(dir).map_err(StoreError::io(self.path(sub)))?;
            recovery.swept.extend(swept.removed.into_iter().map(|name| self.path(&format!("{sub}{name}"))));
            if let Some(key) = spare_key {
                spares.extend(swept.spares.into_iter().map(|name| (key, name)));
            }
        }
        // The temporary files `snapshots/` can hold: a marker staged by a
        // commit that died before renaming it.
        for marker in [LAST, LEGACY_MARKER] {
            let staged_marker = format!("{}{marker}", files::STAGED_PREFIX);
            let path = self.path(&format!("snapshots/{staged_marker}"));
            match self.snapshots.remove_file(&staged_marker) {
                Ok(()) => recovery.swept.push(path),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(StoreError::io(path)(err)),
            }
        }
        if recovery != Recovery::default() {
            tracing::warn!(
                tenant = self.name(),
                undone = recovery.undone,
                finished = recovery.finished,
                rolled_forward = recovery.rolled_forward.len(),
                swept = recovery.swept.len(),
                "repaired what an earlier writer left"
            );
        }
        Ok((recovery, Spares::new(spares)))
    }

    /// Adds what the previous commit left unsynced (its renames, its index
    /// line, the link of its snapshot) to `durable`, if it is not durable
    /// yet: synced before `snapshots/`, where the new marker replaces the
    /// old, which `durable` syncs last.
    pub(super) fn include_previous_commit(&self, durable: &mut files::Durable) -> Result<(), StoreError> {
        match self.snapshots.symlink_metadata(DONE) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(StoreError::io(self.path(&format!("snapshots/{DONE}")))(err)),
        }
        let io = StoreError::io(self.path(""));
        durable.include(&self.snapshots, INDEX).map_err(StoreError::io(self.path(&format!("snapshots/{INDEX}"))))?;
        // Their new entries name files the previous commit synced staged.
        durable.include_settled_dir(&self.memory).map_err(io)?;
        durable.include_settled_dir(&self.pieces).map_err(StoreError::io(self.path("pieces")))
    }

    /// Writes the snapshot file `bytes` as the marker (staged and renamed
    /// into place whole: a lock holder sweeps a staged file whatever its
    /// age, and never reads a torn marker once it was synced).
    pub(super) fn write_marker(&self, durable: &mut files::Durable, bytes: &[u8]) -> Result<(), StoreError> {
        durable
            .stage(&self.snapshots, LAST, bytes, None)
            .and_then(|()| durable.rename_staged(&self.snapshots, "snapshots", LAST))
            .map_err(StoreError::io(self.path(&format!("snapshots/{LAST}"))))
    }

    /// Gives the marker its snapshot's name too (replacing a leftover of an
    /// attempt that never reached its commit point).
    pub(super) fn link_snapshot(&self, id: &str) -> Result<(), StoreError> {
        self.remove_snapshot(id)?;
        let name = snapshot_file_name(id);
        self.snapshots
            .hard_link(LAST, &self.snapshots, &name)
            .map_err(StoreError::io(self.path(&format!("snapshots/{name}"))))
    }

    /// Marks the commit applied, replacing the previous commit's marker (a
    /// sync made that durable): nothing is left to finish, only to sync.
    /// Parks the old versions of the files it `touched`, which only their
    /// undo links still name, as `spares`.
    pub(super) fn mark_applied(&self, touched: &[Touched], spares: &Spares) -> Result<(), StoreError> {
        for touched in touched.iter().filter(|t| t.existed) {
            let (dir, name) = self.locate(&touched.file)?;
            spares
                .park(dir, touched.file.dir_name(), &format!("{}{name}", files::UNDO_PREFIX))
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
        }
        let path = self.path(&format!("snapshots/{LAST}"));
        self.snapshots.rename(LAST, &self.snapshots, DONE).map_err(StoreError::io(path))
    }

    /// Undoes a commit of this process that failed: puts back every file it
    /// `touched` (renaming undo links back: no space needed), takes back
    /// what else it `applied`, and removes its marker, durably and in that
    /// order — while the marker is there, a crash finishes the commit.
    pub(super) fn undo_commit(&self, id: &str, touched: &[Touched], applied: &Applied) -> Result<(), StoreError> {
        for touched in touched {
            let (dir, name) = self.locate(&touched.file)?;
            files::remove_if_present(dir, &format!("{}{name}", files::STAGED_PREFIX))
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
        }
        self.put_back(touched)?;
        for (sub, dir) in [("memory", &self.memory), ("pieces", &self.pieces)] {
            files::sync_dir(dir).map_err(StoreError::io(self.path(sub)))?;
        }
        if let Some(len) = applied.index_len {
            files::truncate(&self.snapshots, INDEX, len)
                .map_err(StoreError::io(self.path(&format!("snapshots/{INDEX}"))))?;
        }
        self.remove_snapshot(id)?;
        files::remove_if_present(&self.snapshots, LAST)
            .map_err(StoreError::io(self.path(&format!("snapshots/{LAST}"))))?;
        files::sync_dir(&self.snapshots).map_err(StoreError::io(self.path("snapshots")))
    }

    /// Finishes a commit cut off after its commit point, if its marker is
    /// there (see the module doc).
    fn finish_cut_off(&self, recovery: &mut Recovery) -> Result<(), StoreError> {
        let path = self.path(&format!("snapshots/{LAST}"));
        let Some(text) =
            files::read_optional_bounded(&self.snapshots, LAST, SNAPSHOT_MAX_BYTES).map_err(StoreError::io(&path))?
        else {
            return Ok(());
        };
        let Some((meta, changes, verdicts)) = decode_snapshot(&text) else {
            if !is_torn(&text) {
                // Guessing could destroy data: a person looks first.
                let why = std::io::Error::other("not a snapshot file; move it away once the tenant is checked");
                return Err(StoreError::io(path)(why));
            }
            files::remove_if_present(&self.snapshots, LAST).map_err(StoreError::io(&path))?;
            files::sync_dir(&self.snapshots).map_err(StoreError::io(self.path("snapshots")))?;
            recovery.swept.push(path);
            return Ok(());
        };
        super::safe_name("snapshot", &meta.id)?;
        let mut durable = files::Durable::default();
        recovery.rolled_forward = self.roll_forward(&changes, &mut durable)?;
        if self.snapshots.symlink_metadata(snapshot_file_name(&meta.id)).is_err() {
            self.link_snapshot(&meta.id)?;
        }
        if !self.snapshot_history()?.iter().any(|line| line.id == meta.id) {
            self.append_index_line(&index_line(&meta, &changes, verdicts))?;
        }
        durable.include(&self.snapshots, INDEX).map_err(StoreError::io(self.path(&format!("snapshots/{INDEX}"))))?;
        for (dir, key) in [(&self.memory, "memory"), (&self.pieces, "pieces"), (&self.snapshots, "snapshots")] {
            durable.touch(dir, key).map_err(StoreError::io(self.path(key)))?;
        }
        durable.sync().map_err(StoreError::io(self.path("")))?;
        // Its undo links, if any, are swept with the other staged files.
        self.mark_applied(&[], &Spares::default())?;
        recovery.finished = Some(meta.id);
        Ok(())
    }

    /// Writes each file `changes` leaves different that is still at its
    /// before-state, in `durable`, and returns their paths. One at neither
    /// state was changed by someone else since, and is left as it is.
    fn roll_forward(&self, changes: &[FileChange], durable: &mut files::Durable) -> Result<Vec<String>, StoreError> {
        let mut rolled = Vec::new();
        for change in changes {
            let current = self.read_file(&change.file)?;
            if current == change.after {
                continue;
            }
            let path = self.path(&change.file.path());
            if current != change.before {
                tracing::warn!(tenant = self.name(), path, "changed since its commit was cut off; left as it is");
                continue;
            }
            let (dir, name) = self.locate(&change.file)?;
            match &change.after {
                Some(text) => durable.write(dir, change.file.dir_name(), &name, text.as_bytes()),
                None => durable.remove(dir, change.file.dir_name(), &name),
            }
            .map_err(StoreError::io(&path))?;
            rolled.push(path);
        }
        Ok(rolled)
    }

    fn read_legacy_marker(&self) -> Result<Option<Pending>, StoreError> {
        let read = |dir: &cap_std::fs::Dir, path: String| {
            files::read_optional_bounded(dir, LEGACY_MARKER, SNAPSHOT_MAX_BYTES)
                .map_err(StoreError::io(path.clone()))
                .map(|text| text.map(|text| (text, path)))
        };
        let found = match read(&self.snapshots, self.path(&format!("snapshots/{LEGACY_MARKER}")))? {
            Some(found) => Some(found),
            None => read(&self.dir, self.path(LEGACY_MARKER))?,
        };
        let Some((text, path)) = found else {
            return Ok(None);
        };
        // Written by rename, so never torn; unreadable means tampered with,
        // and guessing could destroy data.
        let marker: LegacyMarker =
            serde_json::from_str(&text).map_err(|err| StoreError::io(path.clone())(std::io::Error::other(err)))?;
        let pending = match marker {
            LegacyMarker::Pending { snapshot, files } => Pending { snapshot, files },
            LegacyMarker::Snapshot { meta, journal } => Pending { snapshot: meta.id, files: journal },
        };
        super::safe_name("snapshot", &pending.snapshot)?;
        Ok(Some(pending))
    }

    /// [`TenantDir::roll_forward`] for a legacy commit past its commit point
    /// (the index line), synced.
    fn roll_forward_legacy(&self, marker: &Pending) -> Result<Vec<String>, StoreError> {
        let changes = match self.read_snapshot(&marker.snapshot) {
            Ok((_, changes)) => changes,
            // The files stay as they are, as they did before this repair.
            Err(err) => {
                let (tenant, snapshot) = (self.name(), marker.snapshot.as_str());
                tracing::error!(tenant, snapshot, error = %err, "cannot check a finished commit's files");
                return Ok(Vec::new());
            }
        };
        let mut durable = files::Durable::default();
        let rolled = self.roll_forward(&changes, &mut durable)?;
        durable.sync().map_err(StoreError::io(self.path("")))?;
        Ok(rolled)
    }

    /// Puts every file a legacy `marker` lists back as it was and removes
    /// the snapshot. Renames and unlinks only: it needs no free space.
    fn undo(&self, marker: &Pending) -> Result<(), StoreError> {
        self.put_back(&marker.files)?;
        self.remove_snapshot(&marker.snapshot)?;
        for (sub, dir) in [("memory", &self.memory), ("pieces", &self.pieces), ("snapshots", &self.snapshots)] {
            files::sync_dir(dir).map_err(StoreError::io(self.path(sub)))?;
        }
        Ok(())
    }

    /// Puts every file of `touched` back as it was before its commit:
    /// renamed back from its undo link if it existed (and was replaced),
    /// removed if it was created. Renames and unlinks only: no space needed.
    fn put_back(&self, touched: &[Touched]) -> Result<(), StoreError> {
        for touched in touched {
            let (dir, name) = self.locate(&touched.file)?;
            let io = StoreError::io(self.path(&touched.file.path()));
            if !touched.existed {
                files::remove_if_present(dir, &name).map_err(io)?;
                continue;
            }
            let undo = format!("{}{name}", files::UNDO_PREFIX);
            match dir.symlink_metadata(&undo) {
                // Renaming a link onto another of the same file does
                // nothing: the link is removed after.
                Ok(_) => {
                    dir.rename(&undo, dir, &name).and_then(|()| files::remove_if_present(dir, &undo)).map_err(io)?
                }
                // Never linked, so never replaced.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(err)),
            }
        }
        Ok(())
    }

    /// Removes the undo links and the marker of a legacy commit that is
    /// done or undone, durably, so that the marker of an undone commit
    /// never comes back to undo again what was written after.
    fn finish_legacy_journal(&self, marker: &Pending) -> Result<(), StoreError> {
        for touched in marker.files.iter().filter(|t| t.existed) {
            let (dir, name) = self.locate(&touched.file)?;
            files::remove_if_present(dir, &format!("{}{name}", files::UNDO_PREFIX))
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
        }
        files::remove_if_present(&self.snapshots, LEGACY_MARKER)
            .map_err(StoreError::io(self.path(&format!("snapshots/{LEGACY_MARKER}"))))?;
        files::remove_if_present(&self.dir, LEGACY_MARKER).map_err(StoreError::io(self.path(LEGACY_MARKER)))?;
        files::sync_dir(&self.snapshots).map_err(StoreError::io(self.path("snapshots")))?;
        files::sync_dir(&self.dir).map_err(StoreError::io(self.path("")))
    }

    /// Removes snapshot `id`, its file and any old-layout directory, if
    /// they exist.
    pub(super) fn remove_snapshot(&self, id: &str) -> Result<(), StoreError> {
        let name = snapshot_file_name(id);
        files::remove_if_present(&self.snapshots, &name)
            .map_err(StoreError::io(self.path(&format!("snapshots/{name}"))))?;
        let io = StoreError::io(self.path(&format!("snapshots/{id}")));
        match self.snapshots.symlink_metadata(id) {
            Ok(meta) if meta.is_dir() => self.snapshots.remove_dir_all(id).map_err(io),
            Ok(_) => self.snapshots.remove_file(id).map_err(io),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io(err)),
        }
    }
}

/// Whether `text`, a marker that does not parse, is one whose write never
/// reached the disk: empty, zero-filled, or cut short.
fn is_torn(text: &str) -> bool {
    text.trim().is_empty()
        || text.contains('\0')
        || serde_json::from_str::<serde::de::IgnoredAny>(text).is_err_and(|err| err.is_eof())
}
