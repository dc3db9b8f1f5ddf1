//! The commit journal and what a lock holder does with it: finish or undo
//! a commit that was cut off, and sweep stale temporary files.
//!
//! A commit (see [`super::commit`]) writes `snapshots/.commit-pending`
//! before it changes any file a reader sees. The marker *is* the snapshot
//! file: written whole under a staged name, renamed to the marker, then
//! hard-linked into `snapshots/<id>.json`, so journal and snapshot cost one
//! inode (issue 12, 6), and one directory `fsync` makes both durable.
//! Earlier versions kept the marker in the tenant directory; one left there
//! is read and handled the same way. Its `journal` lists the files the commit touches,
//! with whether each existed. Whoever takes the tenant lock next calls
//! [`TenantDir::recover`] first. If the snapshot's index line is there the
//! commit happened: any file not as it left (a file system may keep the
//! synced line and lose renames synced in the same batch) is written again
//! from the snapshot, and its undo links and the marker are removed;
//! otherwise it is undone — each replaced or removed file renamed
//! back from its undo link, each created file removed, the snapshot file
//! removed — so the store is exactly as before it (#9, 2). A failed commit
//! runs the same undo at once. A marker of the format earlier versions
//! wrote (`{snapshot, files}`, beside a snapshot directory) is read and
//! handled the same way.
//!
//! Then temporary files that nobody can still be writing are removed
//! (#9, 22; see [`files::sweep_temps`]).

use serde::{Deserialize, Serialize};

use super::snapshot::{SNAPSHOT_MAX_BYTES, snapshot_file_name};
use super::{StoreError, TenantDir, TenantFile, files};

/// The pending marker, in `snapshots/` (in the tenant directory, as
/// earlier versions wrote it, it is still found).
const MARKER: &str = ".commit-pending";

/// What recovery needs of a pending commit.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// The snapshot being committed.
    pub(super) snapshot: String,
    /// The files the commit replaces, creates or removes.
    pub(super) files: Vec<Touched>,
}

/// The marker as read: a snapshot file (whose meta and journal are all
/// recovery reads of it), or the marker of an earlier version.
#[derive(Deserialize)]
#[serde(untagged)]
enum MarkerFile {
    /// Written by earlier versions, before snapshots were one file.
    Legacy { snapshot: String, files: Vec<Touched> },
    /// A snapshot file.
    Snapshot { meta: MarkerMeta, journal: Vec<Touched> },
}

/// The one field of a snapshot's meta that recovery reads.
#[derive(Deserialize)]
struct MarkerMeta {
    id: String,
}

/// One file a commit touches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Touched {
    pub(super) file: TenantFile,
    /// It existed before, so the commit links it to its undo name first.
    pub(super) existed: bool,
}

/// What a lock holder found and repaired before its own work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A commit that failed or was cut off before its commit point, undone:
    /// its snapshot id.
    pub undone: Option<String>,
    /// A commit that was cut off after its commit point, whose cleanup was
    /// finished: its snapshot id.
    pub finished: Option<String>,
    /// Files of that commit found not as it left them, and written again
    /// from its snapshot, relative to the data directory.
    pub rolled_forward: Vec<String>,
    /// Stale temporary files removed, relative to the data directory.
    pub swept: Vec<String>,
}

impl TenantDir {
    /// Finishes or undoes a pending commit, then sweeps stale temporary
    /// files. Only for a holder of the tenant lock.
    pub(crate) fn recover(&self) -> Result<Recovery, StoreError> {
        let mut recovery = Recovery::default();
        if let Some(marker) = self.read_marker()? {
            if self.snapshot_history()?.iter().any(|line| line.id == marker.snapshot) {
                recovery.rolled_forward = self.roll_forward(&marker)?;
                recovery.finished = Some(marker.snapshot.clone());
            } else {
                self.undo(&marker)?;
                recovery.undone = Some(marker.snapshot.clone());
            }
            self.finish_journal(&marker)?;
        }
        let dirs = [
            ("", &self.dir),
            ("memory/", &self.memory),
            ("pieces/", &self.pieces),
            // Not `snapshots/`: nothing is written there by rename (its
            // index is appended to), and it is the largest to list.
            ("consolidation/", &self.consolidation),
        ];
        for (sub, dir) in dirs {
            let swept = files::sweep_temps(dir).map_err(StoreError::io(self.path(sub)))?;
            recovery.swept.extend(swept.into_iter().map(|name| self.path(&format!("{sub}{name}"))));
        }
        // The one temporary file `snapshots/` can hold: a marker staged by
        // a commit that died before renaming it.
        let staged_marker = format!("{}{MARKER}", files::STAGED_PREFIX);
        let path = self.path(&format!("snapshots/{staged_marker}"));
        match self.snapshots.remove_file(&staged_marker) {
            Ok(()) => recovery.swept.push(path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(StoreError::io(path)(err)),
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
        Ok(recovery)
    }

    /// Writes the snapshot file `bytes` of snapshot `id` as the pending
    /// marker, then links it into `snapshots/` (replacing a leftover of an
    /// attempt that never reached its commit point).
    pub(super) fn write_marker(&self, durable: &mut files::Durable, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(&format!("snapshots/{MARKER}"));
        // Staged rather than written under a plain temporary name: a lock
        // holder sweeps a staged file whatever its age. Renamed into place
        // whole, so never torn.
        durable
            .stage(&self.snapshots, MARKER, bytes)
            .and_then(|()| durable.rename_staged(&self.snapshots, "snapshots", MARKER))
            .map_err(StoreError::io(path))?;
        // Linked after the marker is in place, so an undo always knows of
        // it.
        self.remove_snapshot(id)?;
        let name = snapshot_file_name(id);
        durable
            .link(&self.snapshots, MARKER, &self.snapshots, "snapshots", &name)
            .map_err(StoreError::io(self.path(&format!("snapshots/{name}"))))
    }

    fn read_marker(&self) -> Result<Option<Pending>, StoreError> {
        let read = |dir: &cap_std::fs::Dir, path: String| {
            files::read_optional_bounded(dir, MARKER, SNAPSHOT_MAX_BYTES)
                .map_err(StoreError::io(path.clone()))
                .map(|text| text.map(|text| (text, path)))
        };
        let found = match read(&self.snapshots, self.path(&format!("snapshots/{MARKER}")))? {
            Some(found) => Some(found),
            None => read(&self.dir, self.path(MARKER))?,
        };
        let Some((text, path)) = found else {
            return Ok(None);
        };
        // Written by rename, so never torn; unreadable means tampered with,
        // and guessing could destroy data.
        let marker: MarkerFile =
            serde_json::from_str(&text).map_err(|err| StoreError::io(path.clone())(std::io::Error::other(err)))?;
        let pending = match marker {
            MarkerFile::Legacy { snapshot, files } => Pending { snapshot, files },
            MarkerFile::Snapshot { meta, journal } => Pending { snapshot: meta.id, files: journal },
        };
        super::safe_name("snapshot", &pending.snapshot)?;
        Ok(Some(pending))
    }

    /// Writes every file of a commit past its commit point that is not as
    /// the commit left it, from the snapshot's after-contents, and returns
    /// their paths. The commit syncs its renames and its index line in one
    /// batch, which some file systems make durable in any order (btrfs logs
    /// one inode per `fsync`): a crash between the two can keep the line
    /// and lose renames. Ordering them would cost every commit a journal
    /// commit; this costs reading the snapshot, and only after a crash.
    fn roll_forward(&self, marker: &Pending) -> Result<Vec<String>, StoreError> {
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
        let mut rolled = Vec::new();
        for change in changes {
            if self.read_file(&change.file)? == change.after {
                continue;
            }
            let (dir, name) = self.locate(&change.file)?;
            let io = StoreError::io(self.path(&change.file.path()));
            match &change.after {
                Some(text) => durable.write(dir, change.file.dir_name(), &name, text.as_bytes()),
                None => durable.remove(dir, change.file.dir_name(), &name),
            }
            .map_err(io)?;
            rolled.push(self.path(&change.file.path()));
        }
        durable.sync().map_err(StoreError::io(self.path("")))?;
        Ok(rolled)
    }

    /// Puts every file `marker` lists back as it was and removes the
    /// snapshot. Renames and unlinks only: it needs no free space.
    fn undo(&self, marker: &Pending) -> Result<(), StoreError> {
        for touched in &marker.files {
            let (dir, name) = self.locate(&touched.file)?;
            let io = StoreError::io(self.path(&touched.file.path()));
            if touched.existed {
                let undo = format!("{}{name}", files::UNDO_PREFIX);
                match dir.symlink_metadata(&undo) {
                    Ok(_) => dir.rename(&undo, dir, &name).map_err(io)?,
                    // Never linked, so never replaced.
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io(err)),
                }
            } else {
                files::remove_if_present(dir, &name).map_err(io)?;
            }
        }
        self.remove_snapshot(&marker.snapshot)?;
        for (sub, dir) in [("memory", &self.memory), ("pieces", &self.pieces), ("snapshots", &self.snapshots)] {
            files::sync_dir(dir).map_err(StoreError::io(self.path(sub)))?;
        }
        Ok(())
    }

    /// Removes the undo links and the marker of a commit that is done or
    /// undone, durably.
    pub(super) fn finish_journal(&self, marker: &Pending) -> Result<(), StoreError> {
        self.clean_journal(marker)?;
        // Durable, so the marker of an undone commit never comes back to
        // undo again what was written after (a file it created and that
        // was written afresh since, say).
        files::sync_dir(&self.snapshots).map_err(StoreError::io(self.path("snapshots")))?;
        files::sync_dir(&self.dir).map_err(StoreError::io(self.path("")))
    }

    /// Removes the undo links and the marker, without waiting for the disk:
    /// for a commit past its commit point, whose marker coming back after a
    /// crash only makes the next lock holder remove them again.
    pub(super) fn clean_journal(&self, marker: &Pending) -> Result<(), StoreError> {
        for touched in marker.files.iter().filter(|t| t.existed) {
            let (dir, name) = self.locate(&touched.file)?;
            files::remove_if_present(dir, &format!("{}{name}", files::UNDO_PREFIX))
                .map_err(StoreError::io(self.path(&touched.file.path())))?;
        }
        files::remove_if_present(&self.snapshots, MARKER)
            .map_err(StoreError::io(self.path(&format!("snapshots/{MARKER}"))))?;
        // Where an earlier version wrote it; after a commit of this version,
        // there is none.
        files::remove_if_present(&self.dir, MARKER).map_err(StoreError::io(self.path(MARKER)))?;
        Ok(())
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
