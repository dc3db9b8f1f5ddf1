//! File primitives inside a capability directory: atomic replacement and
//! opening without following symlinks. Every write in the tenant store goes
//! through here.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, File, OpenOptions};

/// Prefix of temporary files; readers skip names starting with it.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Writes whose durability is settled together: each file is written to a
/// temporary name and renamed into place at once (so a crashed process
/// leaves the old or the new content, never a torn file), but the `fsync`s
/// wait for [`Durable::sync`] — files first, then each directory once.
/// Syncing a batch costs a fraction of syncing file by file (on ext4, one
/// journal commit instead of one per file), and nothing is reported done
/// before `sync` returns.
#[derive(Default)]
pub(crate) struct Durable {
    files: Vec<File>,
    dirs: Vec<(String, Dir)>,
}

impl Durable {
    /// Replaces `name` in `dir` (known as `dir_key`) with `bytes`.
    pub(crate) fn write(&mut self, dir: &Dir, dir_key: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let temp = format!("{TEMP_PREFIX}{}-{}-{name}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).follow(FollowSymlinks::No);
        let result = (|| {
            let mut file = dir.open_with(&temp, &options)?;
            file.write_all(bytes)?;
            // rename replaces a symlink at `name` itself; it never writes
            // through it.
            dir.rename(&temp, dir, name)?;
            Ok(file)
        })();
        match result {
            Ok(file) => {
                self.files.push(file);
                self.touch(dir, dir_key)
            }
            Err(err) => {
                let _ = dir.remove_file(&temp);
                Err(err)
            }
        }
    }

    /// Removes `name` from `dir` if it exists (a symlink is removed, not
    /// followed).
    pub(crate) fn remove(&mut self, dir: &Dir, dir_key: &str, name: &str) -> io::Result<()> {
        match dir.remove_file(name) {
            Ok(()) => self.touch(dir, dir_key),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Appends one line to `name`, creating it.
    pub(crate) fn append_line(&mut self, dir: &Dir, dir_key: &str, name: &str, line: &str) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.append(true).create(true).follow(FollowSymlinks::No);
        let mut file = dir.open_with(name, &options)?;
        // One write call per line: with O_APPEND the line lands whole.
        file.write_all(format!("{line}\n").as_bytes())?;
        self.files.push(file);
        self.touch(dir, dir_key)
    }

    /// Notes that `dir` gained or lost an entry (a new subdirectory, say).
    pub(crate) fn touch(&mut self, dir: &Dir, dir_key: &str) -> io::Result<()> {
        if !self.dirs.iter().any(|(key, _)| key == dir_key) {
            self.dirs.push((dir_key.to_string(), dir.try_clone()?));
        }
        Ok(())
    }

    /// Makes everything written so far durable.
    pub(crate) fn sync(self) -> io::Result<()> {
        for file in &self.files {
            file.sync_all()?;
        }
        for (_, dir) in &self.dirs {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// Opens `name` for reading, refusing a symlink.
pub(crate) fn open_read(dir: &Dir, name: &str) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    dir.open_with(name, &options)
}

/// Reads `name` as UTF-8, refusing a symlink; `None` if it does not exist.
pub(crate) fn read_optional(dir: &Dir, name: &str) -> io::Result<Option<String>> {
    match open_read(dir, name) {
        Ok(mut file) => {
            let mut text = String::new();
            io::Read::read_to_string(&mut file, &mut text)?;
            Ok(Some(text))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Opens subdirectory `name`, creating it, and refusing a symlink.
pub(crate) fn open_subdir(dir: &Dir, name: &str) -> io::Result<Dir> {
    match dir.symlink_metadata(name) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{name}` is a symlink")));
        }
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => dir.create_dir(name).or_else(|err| match err.kind() {
            io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(err),
        })?,
        Err(err) => return Err(err),
    }
    dir.open_dir_nofollow(name)
}

fn sync_dir(dir: &Dir) -> io::Result<()> {
    dir.open(".").and_then(|file| file.sync_all()).or_else(|err| match err.kind() {
        // Some platforms cannot open a directory as a file; durability of
        // the rename is then the file system's business.
        io::ErrorKind::PermissionDenied | io::ErrorKind::IsADirectory => Ok(()),
        _ => Err(err),
    })
}
