//! The tenant lock: an exclusive `flock` on `<tenant>/.lock`, so that apply
//! and snapshot of one tenant never interleave — across threads, processes
//! and (on a shared file system that honours flock) hosts.

use std::io;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, File, OpenOptions};
use rustix::fs::{FlockOperation, flock};

const LOCK_FILE: &str = ".lock";

use super::Recovery;
use super::spares::Spares;

/// Held while a tenant's files are being changed; released on drop.
#[derive(Debug)]
pub struct TenantLock {
    // INVARIANT: the flock lives as long as this descriptor is open.
    _file: File,
    recovery: Recovery,
    /// Only a lock holder uses spare files.
    spares: Spares,
}

impl TenantLock {
    /// Blocks until the lock on `tenant_dir` is ours.
    pub(crate) fn acquire(tenant_dir: &Dir) -> io::Result<TenantLock> {
        let file = open(tenant_dir)?;
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(TenantLock { _file: file, recovery: Recovery::default(), spares: Spares::default() })
    }

    /// The lock on `tenant_dir` if nobody holds it; `None` if somebody does.
    pub(crate) fn try_acquire(tenant_dir: &Dir) -> io::Result<Option<TenantLock>> {
        let file = open(tenant_dir)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(TenantLock { _file: file, recovery: Recovery::default(), spares: Spares::default() })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    pub(crate) fn with_recovery(self, recovery: Recovery, spares: Spares) -> TenantLock {
        TenantLock { recovery, spares, ..self }
    }

    /// The spare files of the tenant (see [`crate::spares`]).
    pub(crate) fn spares(&self) -> &Spares {
        &self.spares
    }

    /// What was repaired when the lock was taken: a commit an earlier
    /// holder left unfinished, stale temporary files.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }
}

fn open(tenant_dir: &Dir) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).follow(FollowSymlinks::No);
    tenant_dir.open_with(LOCK_FILE, &options)
}
