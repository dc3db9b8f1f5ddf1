//! Finding and moving aside the files of `memory/` that would fail every
//! job of a tenant: a file that does not parse, a symlink, a name that is
//! not safe (#9, 23). `memwarden doctor` is the face of this.
//!
//! Quarantine moves a file, by rename, to `<tenant>/quarantine/`, which
//! nothing reads; it never deletes one.

use super::{StoreError, TenantDir, TenantLock, files};

/// The directory bad files are moved to, in the tenant directory.
const QUARANTINE: &str = "quarantine";

/// A file of `memory/` that [`TenantDir::entries`] refuses.
#[derive(Debug)]
pub struct MemoryProblem {
    /// Its name in `memory/`.
    pub file_name: String,
    /// Why it is refused.
    pub error: StoreError,
}

/// Where [`TenantDir::quarantine`] moved a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The path it had, relative to the data directory.
    pub from: String,
    /// The path it has now.
    pub to: String,
}

impl TenantDir {
    /// Every file of `memory/` that makes [`TenantDir::entries`] fail, by
    /// name. Listing `memory/` itself failing is an error.
    pub fn memory_problems(&self) -> Result<Vec<MemoryProblem>, StoreError> {
        let mut problems = Vec::new();
        let mut names = self.memory_file_names()?;
        names.sort();
        let (mut cached, read_at) = (self.cache.entries(), std::time::SystemTime::now());
        for file_name in names {
            if let Err(error) = self.memory_file(&file_name, &mut cached, read_at) {
                problems.push(MemoryProblem { file_name, error });
            }
        }
        Ok(problems)
    }

    /// Moves `memory/<file_name>` to `quarantine/<time>-<file_name>`,
    /// where `<time>` is `now_ms` as a snapshot id writes it. A symlink is
    /// moved, not followed. The lock argument is the proof that the caller
    /// holds the tenant lock.
    pub fn quarantine(&self, _lock: &TenantLock, file_name: &str, now_ms: u64) -> Result<Quarantined, StoreError> {
        // Names come from listing `memory/`; refuse anything that would
        // leave it.
        if file_name.is_empty() || file_name.contains('/') || file_name == "." || file_name == ".." {
            return Err(StoreError::UnsafeName {
                what: "file",
                name: file_name.escape_debug().to_string(),
                problem: "is not a name in `memory/`",
            });
        }
        let from = self.path(&format!("memory/{file_name}"));
        let quarantine = files::open_subdir(&self.dir, QUARANTINE).map_err(StoreError::io(self.path(QUARANTINE)))?;
        let stamp = super::snapshot_id(now_ms, "");
        let mut target = format!("{stamp}{file_name}");
        let mut n = 1;
        while quarantine.symlink_metadata(&target).is_ok() {
            n += 1;
            target = format!("{stamp}{n}-{file_name}");
        }
        let to = self.path(&format!("{QUARANTINE}/{target}"));
        self.memory.rename(file_name, &quarantine, &target).map_err(StoreError::io(from.clone()))?;
        files::sync_dir(&quarantine)
            .and_then(|()| files::sync_dir(&self.memory))
            .map_err(StoreError::io(to.clone()))?;
        Ok(Quarantined { from, to })
    }
}
