//! The memwarden tenant store: each tenant's memory entries, pieces,
//! snapshots and lock, under `<data>/tenants/<tenant>/`.
//!
//! What it does not do: it knows nothing of policies, jobs, LLMs or async
//! runtimes; callers hand it what to write and it writes it whole or not at
//! all. Its tree holds cap-std, rustix and serde, and no wasm runtime,
//! database or HTTP stack (a test checks).
//!
//! This is the only code of memwarden that touches tenant files, and only through
//! `cap_std::fs::Dir` handles: [`DataDir::open`] is the one place an
//! ambient path is used; everything below it is relative to a capability
//! directory, no name from outside is used before [`memwarden_names`] accepts
//! it, and no symlink is created or followed.
//!
//! Every holder of the tenant lock first finishes or undoes a commit an
//! earlier holder left cut off, and removes stale temporary files (see
//! `journal`), so commits are all or nothing.
//!
//! Read [`DataDir::tenant`] first, then [`TenantDir`].

#![deny(missing_docs)]

mod archive;
mod cache;
mod commit;
mod doctor;
mod entry;
mod files;
mod history;
mod journal;
mod lock;
mod notes;
pub mod pieces;
mod snapshot;
mod spares;

use std::io;
use std::path::Path;
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

pub use archive::{ARCHIVED_MODULE_MAX_BYTES, ARCHIVED_PACK_MAX_BYTES, PolicyArchive};
pub use commit::{Committed, VerdictCounts};
pub use doctor::{MemoryProblem, Quarantined};
pub use entry::Entry;
pub use history::EntryVersion;
pub use journal::Recovery;
pub use lock::TenantLock;
pub use notes::RAW_NOTES;
pub use snapshot::{
    FileChange, SNAPSHOT_MAX_BYTES, SnapshotIndexLine, SnapshotMeta, SnapshotWithTimes, UtcTime, snapshot_id, utc_time,
};

use cache::{FileIdentity, ParsedEntry};
use memwarden_names::name_problem;
use std::collections::HashMap;

/// The generated index of a tenant's memory.
pub const MEMORY_INDEX: &str = "MEMORY.md";

/// Why the tenant store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A tenant, entry, piece or snapshot name is not safe.
    #[error("{what} `{name}` {problem}")]
    UnsafeName {
        /// What the name is of.
        what: &'static str,
        /// The name, escaped.
        name: String,
        /// Why it is refused.
        problem: &'static str,
    },
    /// A symlink was found where the store keeps files.
    #[error("`{path}` is a symlink; the tenant store never follows symlinks")]
    Symlink {
        /// The path inside the tenant directory.
        path: String,
    },
    /// An entry file does not parse.
    #[error("entry `{name}` is not valid: {reason}")]
    InvalidEntry {
        /// The entry.
        name: String,
        /// Why.
        reason: String,
    },
    /// A file of `memory/` that makes every read of the tenant's entries,
    /// so every job of the tenant, fail; `memwarden doctor` repairs it.
    #[error("{source}; `memwarden doctor {tenant} --fix` moves it to quarantine/")]
    BadMemoryFile {
        /// The tenant.
        tenant: String,
        /// What is wrong with the file.
        source: Box<StoreError>,
    },
    /// A file changed since the change set that would write it was made.
    #[error("`{path}` changed since this change set was computed")]
    Conflict {
        /// The file.
        path: String,
    },
    /// A snapshot does not exist.
    #[error("no snapshot `{id}`")]
    UnknownSnapshot {
        /// The snapshot id.
        id: String,
    },
    /// A snapshot's record says a copy exists that does not, or the
    /// reverse: it cannot be trusted to restore anything.
    #[error("snapshot `{id}` is damaged: `{path}` does not match its record")]
    SnapshotDamaged {
        /// The snapshot id.
        id: String,
        /// The copy.
        path: String,
    },
    /// A snapshot file (or the copy or record of an older snapshot) is
    /// larger than a snapshot may be, so it is neither written nor read.
    #[error("snapshot `{id}` is over the {limit_bytes}-byte limit of a snapshot")]
    SnapshotTooLarge {
        /// The snapshot id.
        id: String,
        /// The limit, [`SNAPSHOT_MAX_BYTES`].
        limit_bytes: u64,
    },
    /// A different change set already holds this snapshot id.
    #[error("snapshot `{id}` already exists with a different change set")]
    SnapshotIdTaken {
        /// The snapshot id.
        id: String,
    },
    /// A commit failed; `state` says whether the store is as before it.
    #[error("commit of snapshot `{id}` failed and {state}: {source}")]
    CommitFailed {
        /// The snapshot id.
        id: String,
        /// What became of the partial commit.
        state: &'static str,
        /// Why it failed.
        source: Box<StoreError>,
    },
    /// An I/O error on a file of the store.
    #[error("`{path}`: {source}")]
    Io {
        /// The path inside the data directory.
        path: String,
        /// The error.
        source: io::Error,
    },
}

impl StoreError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::UnsafeName { .. } => "unsafe_name",
            StoreError::Symlink { .. } => "store_symlink",
            StoreError::InvalidEntry { .. } => "store_invalid_entry",
            StoreError::Conflict { .. } => "apply_conflict",
            StoreError::UnknownSnapshot { .. } => "snapshot_not_found",
            StoreError::SnapshotDamaged { .. } => "snapshot_damaged",
            StoreError::SnapshotTooLarge { .. } => "snapshot_too_large",
            StoreError::SnapshotIdTaken { .. } => "snapshot_id_taken",
            StoreError::CommitFailed { source, .. } | StoreError::BadMemoryFile { source, .. } => source.code(),
            StoreError::Io { .. } => "store_io",
        }
    }

    /// Whether another attempt could succeed: a disk may recover, a
    /// conflicting change set may be planned afresh.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Io { .. } | StoreError::Conflict { .. } => true,
            StoreError::CommitFailed { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| match source.raw_os_error() {
            // A path component or the file itself is a symlink (see
            // `files::symlink_error`).
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => StoreError::Symlink { path },
            _ => StoreError::Io { path, source },
        }
    }
}

/// Checks that `name` is safe as the name of a `what` (tenant, entry, …).
pub fn safe_name_of(what: &'static str, name: &str) -> Result<(), StoreError> {
    safe_name(what, name)
}

/// Checks a name before it becomes part of a path.
pub(crate) fn safe_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    match name_problem(name) {
        Some(problem) => Err(StoreError::UnsafeName { what, name: name.escape_debug().to_string(), problem }),
        None => Ok(()),
    }
}

/// The data directory: `<data>/tenants/…`.
pub struct DataDir {
    root: Dir,
    tenants: Dir,
    cache: cache::StoreCache,
}

impl DataDir {
    /// Opens (creating) the data directory at `path`.
    pub fn open(path: &Path) -> Result<DataDir, StoreError> {
        let display = path.display().to_string();
        Dir::create_ambient_dir_all(path, ambient_authority()).map_err(StoreError::io(&display))?;
        let root = Dir::open_ambient_dir(path, ambient_authority()).map_err(StoreError::io(&display))?;
        let tenants = files::open_subdir(&root, "tenants").map_err(StoreError::io("tenants"))?;
        Ok(DataDir { root, tenants, cache: cache::StoreCache::default() })
    }

    /// The policy archive (see [`PolicyArchive`]), created if absent.
    pub fn policy_archive(&self) -> Result<PolicyArchive, StoreError> {
        PolicyArchive::open(&self.root)
    }

    /// Opens (creating) the directory of `tenant`.
    pub fn tenant(&self, tenant: &str) -> Result<TenantDir, StoreError> {
        safe_name("tenant", tenant)?;
        let path = |sub: &str| format!("tenants/{tenant}/{sub}");
        let dir = files::open_subdir(&self.tenants, tenant).map_err(StoreError::io(path("")))?;
        let open = |sub: &str| files::open_subdir(&dir, sub).map_err(StoreError::io(path(sub)));
        Ok(TenantDir {
            name: tenant.to_string(),
            memory: open("memory")?,
            pieces: open("pieces")?,
            snapshots: open("snapshots")?,
            consolidation: open("consolidation")?,
            dir,
            cache: self.cache.tenant(tenant),
        })
    }

    /// Names of the tenants that have a directory.
    pub fn tenant_names(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self
            .tenants
            .entries()
            .map_err(StoreError::io("tenants"))?
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name_problem(name).is_none())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// One tenant's files.
pub struct TenantDir {
    name: String,
    dir: Dir,
    memory: Dir,
    pieces: Dir,
    snapshots: Dir,
    consolidation: Dir,
    /// What this process already parsed of the tenant's files.
    cache: Arc<cache::TenantCache>,
}

/// Takes a tenant's lock; see [`TenantDir::lock_handle`].
pub struct LockHandle {
    tenant: TenantDir,
}

impl LockHandle {
    /// Blocks until the lock is ours, then finishes or undoes what an
    /// earlier holder left (see [`TenantLock::recovery`]).
    pub fn acquire(&self) -> Result<TenantLock, StoreError> {
        let lock = TenantLock::acquire(&self.tenant.dir).map_err(StoreError::io(self.tenant.path(".lock")))?;
        let (recovery, spares) = self.tenant.recover()?;
        Ok(lock.with_recovery(recovery, spares))
    }
}

/// `time` in ms since the Unix epoch (0 before it).
fn system_time_ms(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// An entry with its last-write time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The entry.
    pub entry: Entry,
    /// Modification time of its file, in ms since the Unix epoch.
    pub updated_at_ms: u64,
}

impl TenantDir {
    /// The tenant's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the tenant lock, blocking until it is free.
    pub fn lock(&self) -> Result<TenantLock, StoreError> {
        self.lock_handle()?.acquire()
    }

    /// The lock if nobody holds it (then finishing or undoing what an
    /// earlier holder left, as [`TenantDir::lock`] does); `None` at once if
    /// somebody does.
    pub fn try_lock(&self) -> Result<Option<TenantLock>, StoreError> {
        match TenantLock::try_acquire(&self.dir).map_err(StoreError::io(self.path(".lock")))? {
            Some(lock) => {
                let (recovery, spares) = self.recover()?;
                Ok(Some(lock.with_recovery(recovery, spares)))
            }
            None => Ok(None),
        }
    }

    /// A handle that can take the lock on another thread (the lock blocks).
    pub fn lock_handle(&self) -> Result<LockHandle, StoreError> {
        Ok(LockHandle { tenant: self.try_clone()? })
    }

    fn try_clone(&self) -> Result<TenantDir, StoreError> {
        let clone = |dir: &Dir| dir.try_clone().map_err(StoreError::io(self.path("")));
        Ok(TenantDir {
            name: self.name.clone(),
            dir: clone(&self.dir)?,
            memory: clone(&self.memory)?,
            pieces: clone(&self.pieces)?,
            snapshots: clone(&self.snapshots)?,
            consolidation: clone(&self.consolidation)?,
            cache: Arc::clone(&self.cache),
        })
    }

    /// Every entry, ordered by name. Fails on a symlink or a file that does
    /// not parse, rather than silently ignoring it.
    pub fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        Ok(self.all_entries()?.into_iter().filter(|(_, mark)| mark.is_none()).map(|(stored, _)| stored).collect())
    }

    /// When `memory/` last changed, in ns since the Unix epoch: every
    /// commit renames files into it or out of it, which sets it. For caches
    /// built from [`TenantDir::entries`] (the MCP search index, issue 14); a
    /// file edited in place by hand does not change it.
    pub fn memory_changed_ns(&self) -> Result<u128, StoreError> {
        let meta = self.memory.dir_metadata().map_err(StoreError::io(self.path("memory")))?;
        let modified = meta.modified().map_err(StoreError::io(self.path("memory")))?;
        Ok(modified.into_std().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()))
    }

    /// The entries a merge folded into another and kept (issue 12), each
    /// with the entry it was merged into, ordered by name. They are not in
    /// [`TenantDir::entries`], `MEMORY.md`, prompts or the policy index.
    pub fn superseded_entries(&self) -> Result<Vec<(StoredEntry, String)>, StoreError> {
        Ok(self.all_entries()?.into_iter().filter_map(|(stored, mark)| Some((stored, mark?))).collect())
    }

    /// Every entry file, live or superseded, ordered by name: parsed again
    /// only where the file changed since this process last read it (see
    /// `cache`).
    fn all_entries(&self) -> Result<Vec<ParsedEntry>, StoreError> {
        let file_names = self.memory_file_names()?;
        let read_at = std::time::SystemTime::now();
        let mut cached = self.cache.entries();
        let (mut entries, mut kept) = (Vec::with_capacity(file_names.len()), 0);
        for file_name in &file_names {
            let parsed = self.memory_file(file_name, &mut cached, read_at).map_err(|err| self.needs_doctor(err))?;
            entries.extend(parsed);
            kept += usize::from(cached.contains_key(file_name));
        }
        // Files removed since they were cached.
        if cached.len() > kept {
            let listed: std::collections::HashSet<&String> = file_names.iter().collect();
            cached.retain(|file_name, _| listed.contains(file_name));
        }
        self.cache.entries_hold(&cached);
        drop(cached);
        entries.sort_by(|a, b| a.0.entry.name.cmp(&b.0.entry.name));
        Ok(entries)
    }

    /// The names in `memory/` that [`TenantDir::entries`] reads: all but
    /// `MEMORY.md`, temporary files and names that are not UTF-8.
    fn memory_file_names(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let error = |err| StoreError::io(self.path("memory"))(err);
        for item in self.memory.entries().map_err(error)? {
            let item = item.map_err(error)?;
            let Ok(file_name) = item.file_name().into_string() else { continue };
            if file_name != MEMORY_INDEX && !file_name.starts_with(files::TEMP_PREFIX) {
                names.push(file_name);
            }
        }
        Ok(names)
    }

    /// The entry in `memory/<file_name>`: `None` for a name that is not
    /// an entry's (no `.md`), an error for one that is broken; from `cached`
    /// while the file is the one it was parsed from.
    fn memory_file(
        &self,
        file_name: &str,
        cached: &mut HashMap<String, (FileIdentity, ParsedEntry)>,
        read_at: std::time::SystemTime,
    ) -> Result<Option<ParsedEntry>, StoreError> {
        let Some(name) = file_name.strip_suffix(".md") else { return Ok(None) };
        // Formatted only for an error: this runs for every entry of every job.
        let path = || self.path(&format!("memory/{file_name}"));
        let meta = self.memory.symlink_metadata(file_name).map_err(|err| StoreError::io(path())(err))?;
        if meta.file_type().is_symlink() {
            return Err(StoreError::Symlink { path: path() });
        }
        safe_name("entry", name)?;
        if let Some((identity, parsed)) = cached.get(file_name)
            && *identity == FileIdentity::of(&meta)
        {
            return Ok(Some(parsed.clone()));
        }
        cached.remove(file_name);
        let Some((parsed, identity)) = self.read_entry_file(name)? else { return Ok(None) };
        if !identity.is_racy(read_at) {
            cached.insert(file_name.to_string(), (identity, parsed.clone()));
        }
        Ok(Some(parsed))
    }

    /// The entry called `name`, if any and not superseded.
    pub fn entry(&self, name: &str) -> Result<Option<StoredEntry>, StoreError> {
        Ok(self.entry_file(name)?.filter(|(_, mark)| mark.is_none()).map(|(stored, _)| stored))
    }

    /// The file of entry `name`, if any, and whom it was merged into if it
    /// is superseded.
    fn entry_file(&self, name: &str) -> Result<Option<ParsedEntry>, StoreError> {
        Ok(self.read_entry_file(name)?.map(|(parsed, _)| parsed))
    }

    /// [`TenantDir::entry_file`], with the identity of the file read.
    fn read_entry_file(&self, name: &str) -> Result<Option<(ParsedEntry, FileIdentity)>, StoreError> {
        safe_name("entry", name)?;
        let file_name = format!("{name}.md");
        let path = self.path(&format!("memory/{file_name}"));
        let file = match files::open_read(&self.memory, &file_name) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(StoreError::io(path)(err)),
        };
        let meta = file.metadata().map_err(StoreError::io(path.clone()))?;
        let modified = meta.modified().map_err(StoreError::io(path.clone()))?;
        let updated_at_ms = system_time_ms(modified.into_std());
        let invalid = |reason: &str| StoreError::InvalidEntry { name: name.to_string(), reason: reason.into() };
        if meta.is_dir() {
            return Err(invalid("it is a directory"));
        }
        let mut text = String::new();
        match io::Read::read_to_string(&mut &file, &mut text) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::InvalidData => return Err(invalid("it is not UTF-8")),
            Err(err) => return Err(StoreError::io(path)(err)),
        }
        let (entry, superseded_by) = Entry::parse_with_mark(name, &text)?;
        Ok(Some(((StoredEntry { entry, updated_at_ms }, superseded_by), FileIdentity::of(&meta))))
    }

    /// The raw text of a file the store manages (`memory/<name>.md`,
    /// `memory/MEMORY.md`, `pieces/<piece>.yaml`), if it exists.
    pub fn read_file(&self, file: &TenantFile) -> Result<Option<String>, StoreError> {
        let (dir, name) = self.locate(file)?;
        files::read_optional(dir, &name).map_err(StoreError::io(self.path(&file.path())))
    }

    /// Sets one managed file to `contents`, or removes it for `None`,
    /// durably and without a snapshot: for seeding a tenant and for tools.
    /// Jobs change files through [`TenantDir::commit`].
    pub fn write_file(&self, file: &TenantFile, contents: Option<&str>) -> Result<(), StoreError> {
        let (dir, name) = self.locate(file)?;
        let path = self.path(&file.path());
        let mut durable = files::Durable::default();
        match contents {
            Some(text) => durable.write(dir, file.dir_name(), &name, text.as_bytes()),
            None => durable.remove(dir, file.dir_name(), &name),
        }
        .and_then(|()| durable.sync())
        .map_err(StoreError::io(path))
    }

    /// The tenant's own copy of piece `name`, if it has one.
    pub fn own_piece(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read_file(&TenantFile::Piece(name.to_string()))
    }

    /// The piece `name` this tenant runs: its own copy, else the built-in.
    pub fn piece(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.own_piece(name)?.or_else(|| pieces::builtin(name).map(str::to_string)))
    }

    /// `err`, if it is about one bad file of `memory/` — which fails every
    /// job of the tenant — with a pointer to `memwarden doctor` (#9, 23).
    fn needs_doctor(&self, err: StoreError) -> StoreError {
        match err {
            StoreError::InvalidEntry { .. } | StoreError::Symlink { .. } | StoreError::UnsafeName { .. } => {
                StoreError::BadMemoryFile { tenant: self.name.clone(), source: Box::new(err) }
            }
            other => other,
        }
    }

    fn locate(&self, file: &TenantFile) -> Result<(&Dir, String), StoreError> {
        match file {
            TenantFile::Entry(name) => safe_name("entry", name).map(|()| (&self.memory, format!("{name}.md"))),
            TenantFile::MemoryIndex => Ok((&self.memory, MEMORY_INDEX.to_string())),
            TenantFile::Piece(name) => safe_name("piece", name).map(|()| (&self.pieces, format!("{name}.yaml"))),
        }
    }

    fn path(&self, sub: &str) -> String {
        format!("tenants/{}/{sub}", self.name)
    }
}

/// A file the store manages on a tenant's behalf.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum TenantFile {
    /// `memory/<name>.md`.
    Entry(String),
    /// `memory/MEMORY.md`.
    MemoryIndex,
    /// `pieces/<name>.yaml`.
    Piece(String),
}

impl TenantFile {
    /// The path relative to the tenant directory.
    pub fn path(&self) -> String {
        match self {
            TenantFile::Entry(name) => format!("memory/{name}.md"),
            TenantFile::MemoryIndex => format!("memory/{MEMORY_INDEX}"),
            TenantFile::Piece(name) => format!("pieces/{name}.yaml"),
        }
    }

    /// The directory it lives in, relative to the tenant directory.
    fn dir_name(&self) -> &'static str {
        match self {
            TenantFile::Entry(_) | TenantFile::MemoryIndex => "memory",
            TenantFile::Piece(_) => "pieces",
        }
    }
}

/// The `MEMORY.md` text for `entries`: one line per entry, by name.
pub fn memory_index(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut text = String::from("# Memory\n\n");
    for entry in sorted {
        text.push_str(&format!(
            "- [{}]({}.md) ({}): {}\n",
            entry.name, entry.name, entry.entry_type, entry.description
        ));
    }
    text
}
