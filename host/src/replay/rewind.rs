//! A tenant's store as it was before a snapshot, rebuilt in memory from the
//! store as it is and the snapshots since: each snapshot holds every file's
//! content before its commit (and each replaced entry's time), so undoing
//! them newest first walks the store back. Nothing is written.
//!
//! The walk goes one way, towards the past: ask for the jobs of a tenant
//! newest first.

use std::collections::{BTreeMap, HashMap};

use crate::policy::{EntryRef, TenantIndex};
use crate::store::{Entry, SnapshotIndexLine, StoreError, TenantDir, TenantFile, pieces};

/// One live entry as the walk has it.
struct Live {
    entry: Entry,
    updated_at_ms: u64,
}

/// A tenant's entries and pieces, walked back snapshot by snapshot.
pub struct Rewind<'a> {
    tenant: &'a TenantDir,
    lines: Vec<SnapshotIndexLine>,
    /// Where each snapshot is in `lines`.
    positions: HashMap<String, usize>,
    /// The state is the store before `lines[position..]` were committed.
    position: usize,
    entries: BTreeMap<String, Live>,
    /// Piece files as they were, where a snapshot since changed them
    /// (`None`: the tenant had no file of its own).
    pieces: BTreeMap<String, Option<String>>,
    /// The last index built, so the next is built from it.
    index: TenantIndex,
}

impl<'a> Rewind<'a> {
    /// The store of `tenant` as it is now.
    pub fn new(tenant: &'a TenantDir) -> Result<Rewind<'a>, StoreError> {
        let lines = tenant.snapshots()?;
        let entries = tenant
            .entries()?
            .into_iter()
            .map(|stored| {
                let live = Live { entry: stored.entry, updated_at_ms: stored.updated_at_ms };
                (live.entry.name.clone(), live)
            })
            .collect();
        let position = lines.len();
        let positions = lines.iter().enumerate().map(|(at, line)| (line.id.clone(), at)).collect();
        let (pieces, index) = (BTreeMap::new(), TenantIndex::default());
        Ok(Rewind { tenant, lines, positions, position, entries, pieces, index })
    }

    /// Where snapshot `id` is in the tenant's history, if it is there.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    /// Walks back to the store just before snapshot `id` was committed;
    /// `false` when `id` is not among the snapshots still ahead of the walk.
    pub fn before(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(at) = self.position(id).filter(|&at| at < self.position) else { return Ok(false) };
        for line in self.lines[at..self.position].iter().rev() {
            let (_, changes, times) = self.tenant.read_snapshot_with_times(&line.id)?;
            for change in changes {
                match change.file {
                    TenantFile::Entry(name) => {
                        self.entries.remove(&name);
                        let Some(text) = change.before else { continue };
                        let (entry, superseded_by) = Entry::parse_with_mark(&name, &text)?;
                        if superseded_by.is_none() {
                            // A snapshot from before times were kept leaves
                            // 0; the index digest then tells the replay.
                            let updated_at_ms = times.get(&name).copied().unwrap_or(0);
                            self.entries.insert(name, Live { entry, updated_at_ms });
                        }
                    }
                    TenantFile::Piece(name) => {
                        self.pieces.insert(name, change.before);
                    }
                    TenantFile::MemoryIndex => {}
                }
            }
        }
        self.position = at;
        Ok(true)
    }

    /// The policy index as the pack saw it for a proposal editing
    /// `edited_piece`, at the current position.
    pub fn index(&mut self, edited_piece: Option<&str>) -> Result<TenantIndex, StoreError> {
        let mut piece_yaml = BTreeMap::new();
        if let Some(name) = edited_piece.filter(|name| crate::names::name_problem(name).is_none())
            && let Some(yaml) = self.piece(name)?
        {
            piece_yaml.insert(name.to_string(), yaml);
        }
        let entries = self.entries.values().map(|live| EntryRef {
            name: &live.entry.name,
            entry_type: &live.entry.entry_type,
            description: &live.entry.description,
            body: &live.entry.body,
            updated_at_ms: live.updated_at_ms,
        });
        self.index = self.index.refresh(entries, piece_yaml);
        Ok(self.index.clone())
    }

    fn piece(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.pieces.get(name) {
            Some(Some(own)) => Ok(Some(own.clone())),
            Some(None) => Ok(pieces::builtin(name).map(str::to_string)),
            None => self.tenant.piece(name),
        }
    }
}
