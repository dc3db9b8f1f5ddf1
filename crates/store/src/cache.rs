//! What this process has already read of each tenant's files, so that a job
//! reads and parses only what changed since the last one (issues 12 and 14:
//! on a 200-entry tenant, opening and parsing every entry and the whole
//! snapshot history was most of an MCP proposal's time).
//!
//! Nothing here can serve stale content, because nothing is trusted that
//! could have changed unseen:
//!
//! - a parsed entry is reused only while its file has the same device,
//!   inode, size, modification and change time as the file it was parsed
//!   from. Every commit renames a new file into place (a new inode), and an
//!   edit in place by hand changes the change time, which no one can set. A
//!   file changed shortly before it was read is not kept at all: file times
//!   come from a clock that ticks coarsely (a jiffy, at most 10 ms, where
//!   times have nanoseconds; whole seconds on filesystems without), so a
//!   write in the same tick could leave every field but the content as it
//!   was ("racily clean", as git says);
//! - the snapshot history is an append-only file (an undone commit truncates
//!   its own line away), so only the bytes past what was read are parsed,
//!   after checking that the last line read is still where it was.
//!
//! The cache is per [`crate::DataDir`], bounded by [`MAX_CACHED_TENANTS`]
//! and [`MAX_CACHED_BYTES`] (the tenant a caller asks for is kept),
//! and knows nothing of locks: it is as correct for a reader without the
//! tenant lock as reading the files would be.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use cap_std::fs::{File, Metadata, MetadataExt};

use super::StoredEntry;
use super::snapshot::SnapshotIndexLine;

/// How many tenants' files one data directory keeps parsed; past it, one
/// is forgotten (and read afresh when next needed).
pub(crate) const MAX_CACHED_TENANTS: usize = 256;

/// About how many bytes of entries and history one data directory keeps
/// parsed; past it, other tenants are forgotten.
pub(crate) const MAX_CACHED_BYTES: usize = 256 << 20;

/// How long after its last change a file must have been read to be kept,
/// where file times have nanoseconds: twice the coarsest kernel tick.
pub(crate) const SETTLE_NS: i128 = 20_000_000;
/// The same, where they have whole seconds (or two, as on FAT).
pub(crate) const SETTLE_COARSE_NS: i128 = 3_000_000_000;

/// An entry file parsed: the entry, and whom it was merged into if it is
/// superseded.
pub(crate) type ParsedEntry = (StoredEntry, Option<String>);

/// The tenants' caches of one data directory.
#[derive(Default)]
pub(crate) struct StoreCache {
    tenants: Mutex<HashMap<String, Arc<TenantCache>>>,
}

impl StoreCache {
    /// The cache of `tenant`, created if absent.
    pub(crate) fn tenant(&self, tenant: &str) -> Arc<TenantCache> {
        let mut tenants = lock(&self.tenants);
        let mut total: usize = tenants.values().map(|cache| cache.bytes()).sum();
        let full = |tenants: &HashMap<String, Arc<TenantCache>>| {
            tenants.len() >= MAX_CACHED_TENANTS && !tenants.contains_key(tenant)
        };
        while full(&tenants) || total > MAX_CACHED_BYTES {
            let Some(evicted) = tenants.keys().find(|name| *name != tenant).cloned() else { break };
            total -= tenants.remove(&evicted).map_or(0, |cache| cache.bytes());
        }
        Arc::clone(tenants.entry(tenant.to_string()).or_default())
    }
}

/// One tenant's parsed files.
#[derive(Default)]
pub(crate) struct TenantCache {
    entries: Mutex<HashMap<String, (FileIdentity, ParsedEntry)>>,
    history: Mutex<Option<ReadHistory>>,
    /// The text the two hold, about: kept apart so that the budget is
    /// checked without waiting for a reader.
    entry_bytes: AtomicUsize,
    history_bytes: AtomicUsize,
}

impl TenantCache {
    /// The parsed entries, by file name.
    pub(crate) fn entries(&self) -> MutexGuard<'_, HashMap<String, (FileIdentity, ParsedEntry)>> {
        lock(&self.entries)
    }

    /// What was read of `snapshots/index.jsonl`.
    pub(crate) fn history(&self) -> MutexGuard<'_, Option<ReadHistory>> {
        lock(&self.history)
    }

    /// Notes how much text `entries` holds now.
    pub(crate) fn entries_hold(&self, entries: &HashMap<String, (FileIdentity, ParsedEntry)>) {
        let bytes = entries.values().map(|(_, (stored, _))| stored.entry.body.len() + stored.entry.description.len());
        self.entry_bytes.store(bytes.sum(), Ordering::Relaxed);
    }

    /// Notes how much of the index `history` holds now.
    pub(crate) fn history_holds(&self, history: &Option<ReadHistory>) {
        self.history_bytes.store(history.as_ref().map_or(0, |read| read.read_len as usize), Ordering::Relaxed);
    }

    fn bytes(&self) -> usize {
        self.entry_bytes.load(Ordering::Relaxed) + self.history_bytes.load(Ordering::Relaxed)
    }
}

/// The snapshot history as far as it was read.
pub(crate) struct ReadHistory {
    /// The index file's device and inode.
    pub(crate) file: (u64, u64),
    /// Bytes read, up to the end of the last whole line.
    pub(crate) read_len: u64,
    /// That line, with its newline, to check that it is still there.
    pub(crate) last_line: Vec<u8>,
    /// The lines, oldest first.
    pub(crate) lines: Arc<Vec<SnapshotIndexLine>>,
}

/// What tells one version of a file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl FileIdentity {
    /// The identity of the file `meta` describes.
    pub(crate) fn of(meta: &Metadata) -> FileIdentity {
        let ns = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
            changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether a file read at `read_at` may still change without its
    /// identity changing (see the module doc).
    pub(crate) fn is_racy(&self, read_at: SystemTime) -> bool {
        let read_at_ns = read_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
        let whole_seconds = self.changed_ns % 1_000_000_000 == 0 && self.modified_ns % 1_000_000_000 == 0;
        let settle = if whole_seconds { SETTLE_COARSE_NS } else { SETTLE_NS };
        read_at_ns - self.changed_ns.max(self.modified_ns) < settle
    }
}

/// The lines of the snapshot index open as `file`, parsing only what was
/// appended since `cached` was read, and `cached` brought up to date. A
/// line that does not parse is an error, as is text that is not UTF-8.
pub(crate) fn read_history(file: &File, cached: &mut Option<ReadHistory>) -> io::Result<Arc<Vec<SnapshotIndexLine>>> {
    let meta = file.metadata()?;
    let identity = (meta.dev(), meta.ino());
    let mut reader = file;
    // Resume after the last whole line read, if that line is still there:
    // a truncation (an undone commit) followed by other appends moves it.
    let resumed = match cached.take() {
        Some(read) if read.file == identity && read.read_len <= meta.len() => {
            let line_start = read.read_len - read.last_line.len() as u64;
            reader.seek(SeekFrom::Start(line_start))?;
            let mut line = vec![0; read.last_line.len()];
            reader.read_exact(&mut line)?;
            (line == read.last_line).then_some(read)
        }
        _ => None,
    };
    let (start, mut last_line, mut lines) = match resumed {
        Some(read) => (read.read_len, read.last_line, read.lines),
        None => {
            reader.seek(SeekFrom::Start(0))?;
            (0, Vec::new(), Arc::default())
        }
    };
    let mut tail = Vec::new();
    reader.read_to_end(&mut tail)?;
    let tail = String::from_utf8(tail).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
    let whole = tail.rfind('\n').map_or(0, |end| end + 1);
    let parse = |line: &str| serde_json::from_str::<SnapshotIndexLine>(line).map_err(io::Error::other);
    let appended: Vec<SnapshotIndexLine> =
        tail[..whole].lines().filter(|line| !line.trim().is_empty()).map(parse).collect::<Result<_, _>>()?;
    if !appended.is_empty() {
        Arc::make_mut(&mut lines).extend(appended);
    }
    if whole > 0 {
        let start_of_last = tail[..whole - 1].rfind('\n').map_or(0, |end| end + 1);
        last_line = tail.as_bytes()[start_of_last..whole].to_vec();
    }
    *cached =
        Some(ReadHistory { file: identity, read_len: start + whole as u64, last_line, lines: Arc::clone(&lines) });
    // A last line without its newline is being written or was written by
    // hand: it counts, but is read again next time.
    let unfinished = tail[whole..].trim();
    if unfinished.is_empty() {
        return Ok(lines);
    }
    let mut with_unfinished = Vec::clone(&lines);
    with_unfinished.push(parse(unfinished)?);
    Ok(Arc::new(with_unfinished))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned cache only means a thread panicked between two whole
    // inserts; every value in it is still whole.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
