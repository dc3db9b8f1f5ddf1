//! File primitives inside a capability directory: atomic replacement and
//! opening without following symlinks. Every write in the tenant store goes
//! through here.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, File, OpenOptions};

/// Prefix of temporary files; readers skip names starting with it.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Replaces `name` in `dir` with `bytes`: written to a temporary file,
/// synced, renamed over the old file, and the directory synced, so a crash
/// leaves either the old or the new content, never a torn file.
pub(crate) fn write_atomic(dir: &Dir, name: &str, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let temp = format!("{TEMP_PREFIX}{}-{}-{name}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true).follow(FollowSymlinks::No);
    let result = (|| {
        let mut file = dir.open_with(&temp, &options)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        // rename replaces a symlink at `name` itself; it never writes
        // through it.
        dir.rename(&temp, dir, name)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = dir.remove_file(&temp);
    }
    result
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

/// Appends one line to `name`, creating it, and syncs.
pub(crate) fn append_line(dir: &Dir, name: &str, line: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.append(true).create(true).follow(FollowSymlinks::No);
    let mut file = dir.open_with(name, &options)?;
    // One write call per line: with O_APPEND the line lands whole.
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}

/// Removes `name` if it exists (a symlink is removed, not followed).
pub(crate) fn remove_if_exists(dir: &Dir, name: &str) -> io::Result<bool> {
    match dir.remove_file(name) {
        Ok(()) => sync_dir(dir).map(|()| true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
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
