//! Spare files: the inodes of file versions a commit replaced, kept empty
//! under `.tmp-spare-…` names and reused for the next commit's staged
//! files, instead of freeing one inode and allocating another each time.
//!
//! Why: ext4 without a journal (as on this project's VMs) never hands out
//! an inode freed in the last minute or so, and finds the next one by
//! checking every recently freed inode of the block group in turn. A store
//! that frees an inode each commit (the old `MEMORY.md`, at least) makes
//! every later allocation scan all those freed in the last minute: at a few
//! hundred commits a second, that scan was most of a commit's time (issue
//! 12, 6; issue 14).
//!
//! A spare is truncated when parked, so it keeps no old content, and only
//! a file with no other link is ever parked or reused: a file someone else
//! linked to is never truncated through ours. Readers skip `.tmp-` names;
//! the lock holder's sweep lists the spares (it lists the directories
//! anyway) and keeps at most [`MAX_SPARES`] of each directory.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, File, MetadataExt, OpenOptions};

use super::files::remove_if_present;

/// Prefix of a spare file's name.
pub(crate) const SPARE_PREFIX: &str = ".tmp-spare-";

/// How many spares a directory keeps: more than a change set of a few
/// files needs, few enough that the inodes they hold do not matter.
pub(crate) const MAX_SPARES: usize = 8;

/// The spares a lock holder knows of, by directory key (`memory`,
/// `pieces`): listed when the lock was taken, then kept up to date by the
/// commits under it.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    names: Mutex<Vec<(&'static str, String)>>,
}

impl Spares {
    pub(crate) fn new(names: Vec<(&'static str, String)>) -> Spares {
        Spares { names: Mutex::new(names) }
    }

    /// A spare of `dir_key`, no longer listed.
    pub(crate) fn take(&self, dir_key: &str) -> Option<String> {
        let mut names = self.lock();
        let at = names.iter().position(|(key, _)| *key == dir_key)?;
        Some(names.swap_remove(at).1)
    }

    /// Parks the file `name` of `dir` (known as `dir_key`) as a spare, or
    /// removes it when the directory has enough spares or it has another
    /// link.
    pub(crate) fn park(&self, dir: &Dir, dir_key: &'static str, name: &str) -> io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if self.lock().iter().filter(|(key, _)| *key == dir_key).count() >= MAX_SPARES || !emptied(dir, name)? {
            return remove_if_present(dir, name);
        }
        let spare = format!("{SPARE_PREFIX}{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        dir.rename(name, dir, &spare)?;
        self.lock().push((dir_key, spare));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, String)>> {
        // Only names: whole even if a holder panicked.
        self.names.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Opens `spare`, renamed to `staged` first, for writing from empty; `None`
/// if it is gone or not a lone regular file (then nothing is renamed or
/// the renamed file is removed, and the caller creates one).
pub(crate) fn reuse(dir: &Dir, spare: &str, staged: &str) -> io::Result<Option<File>> {
    match dir.rename(spare, dir, staged) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    }
    let mut options = OpenOptions::new();
    options.write(true).follow(FollowSymlinks::No);
    let lone = match dir.open_with(staged, &options) {
        Ok(file) => {
            let meta = file.metadata()?;
            (meta.is_file() && meta.nlink() == 1).then_some((file, meta.len()))
        }
        Err(_) => None,
    };
    match lone {
        Some((file, len)) => {
            // Parked empty; emptied again only if someone wrote to it.
            if len != 0 {
                file.set_len(0)?;
            }
            Ok(Some(file))
        }
        None => remove_if_present(dir, staged).map(|()| None),
    }
}

/// Empties `name` if it is a regular file with no other link, and says
/// whether it did.
fn emptied(dir: &Dir, name: &str) -> io::Result<bool> {
    let mut options = OpenOptions::new();
    options.write(true).follow(FollowSymlinks::No);
    let Ok(file) = dir.open_with(name, &options) else { return Ok(false) };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Ok(false);
    }
    file.set_len(0)?;
    Ok(true)
}
