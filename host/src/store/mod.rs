//! The tenant store: each tenant's memory entries, pieces, snapshots and
//! lock, under `<data>/tenants/<tenant>/`.
//!
//! This is the only module that touches the file system, and only through
//! `cap_std::fs::Dir` handles: [`DataDir::open`] is the one place an
//! ambient path is used; everything below it is relative to a capability
//! directory, no name from outside is used before [`crate::names`] accepts
//! it, and no symlink is created or followed.
//!
//! Read [`DataDir::tenant`] first, then [`TenantDir`].

mod commit;
mod entry;
mod files;
mod lock;
mod notes;
pub mod pieces;
mod snapshot;

use std::io;
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

pub use commit::{Committed, VerdictCounts};
pub use entry::Entry;
pub use lock::TenantLock;
pub use notes::RAW_NOTES;
pub use snapshot::{FileChange, SnapshotIndexLine, SnapshotMeta, snapshot_id};

use crate::names::name_problem;

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
            StoreError::Io { .. } => "store_io",
        }
    }

    pub(crate) fn io(path: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| match source.raw_os_error() {
            // ELOOP: a path component or the file itself is a symlink.
            Some(40) => StoreError::Symlink { path },
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
    tenants: Dir,
}

impl DataDir {
    /// Opens (creating) the data directory at `path`.
    pub fn open(path: &Path) -> Result<DataDir, StoreError> {
        let display = path.display().to_string();
        Dir::create_ambient_dir_all(path, ambient_authority()).map_err(StoreError::io(&display))?;
        let root = Dir::open_ambient_dir(path, ambient_authority()).map_err(StoreError::io(&display))?;
        let tenants = files::open_subdir(&root, "tenants").map_err(StoreError::io("tenants"))?;
        Ok(DataDir { tenants })
    }

    /// Opens (creating) the directory of `tenant`.
    pub fn tenant(&self, tenant: &str) -> Result<TenantDir, StoreError> {
        safe_name("tenant", tenant)?;
        let path = |sub: &str| format!("tenants/{tenant}/{sub}");
        let dir = files::open_subdir(&self.tenants, tenant).map_err(StoreError::io(path("")))?;
        let open = |sub: &str| files::open_subdir(&dir, sub).map_err(|err| symlink_or_io(err, path(sub)));
        Ok(TenantDir {
            name: tenant.to_string(),
            memory: open("memory")?,
            pieces: open("pieces")?,
            snapshots: open("snapshots")?,
            consolidation: open("consolidation")?,
            dir,
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

fn symlink_or_io(err: io::Error, path: String) -> StoreError {
    if err.kind() == io::ErrorKind::InvalidInput {
        return StoreError::Symlink { path };
    }
    StoreError::io(path)(err)
}

/// One tenant's files.
pub struct TenantDir {
    name: String,
    dir: Dir,
    memory: Dir,
    pieces: Dir,
    snapshots: Dir,
    consolidation: Dir,
}

/// Takes a tenant's lock; see [`TenantDir::lock_handle`].
pub struct LockHandle {
    dir: Dir,
    path: String,
}

impl LockHandle {
    /// Blocks until the lock is ours.
    pub fn acquire(&self) -> Result<TenantLock, StoreError> {
        TenantLock::acquire(&self.dir).map_err(StoreError::io(self.path.clone()))
    }
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

    /// A handle that can take the lock on another thread (the lock blocks).
    pub fn lock_handle(&self) -> Result<LockHandle, StoreError> {
        let path = self.path(".lock");
        Ok(LockHandle { dir: self.dir.try_clone().map_err(StoreError::io(path.clone()))?, path })
    }

    /// Every entry, ordered by name. Fails on a symlink or a file that does
    /// not parse, rather than silently ignoring it.
    pub fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.memory.entries().map_err(StoreError::io(self.path("memory")))? {
            let item = item.map_err(StoreError::io(self.path("memory")))?;
            let Ok(file_name) = item.file_name().into_string() else { continue };
            if file_name == MEMORY_INDEX || file_name.starts_with(files::TEMP_PREFIX) {
                continue;
            }
            let Some(name) = file_name.strip_suffix(".md") else { continue };
            let file_type = item.file_type().map_err(StoreError::io(self.path(&format!("memory/{file_name}"))))?;
            if file_type.is_symlink() {
                return Err(StoreError::Symlink { path: self.path(&format!("memory/{file_name}")) });
            }
            safe_name("entry", name)?;
            let Some(stored) = self.entry(name)? else { continue };
            entries.push(stored);
        }
        entries.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
        Ok(entries)
    }

    /// The entry called `name`, if any.
    pub fn entry(&self, name: &str) -> Result<Option<StoredEntry>, StoreError> {
        safe_name("entry", name)?;
        let file_name = format!("{name}.md");
        let path = self.path(&format!("memory/{file_name}"));
        let file = match files::open_read(&self.memory, &file_name) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(StoreError::io(path)(err)),
        };
        let modified = file.metadata().and_then(|m| m.modified()).map_err(StoreError::io(path.clone()))?;
        let updated_at_ms =
            modified.into_std().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let text = files::read_optional(&self.memory, &file_name).map_err(StoreError::io(path))?.unwrap_or_default();
        Ok(Some(StoredEntry { entry: Entry::parse(name, &text)?, updated_at_ms }))
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
