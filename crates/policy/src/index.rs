//! [`TenantIndex`]: the tenant's entries and pieces as policies may read
//! them during an evaluation, through the `tenant-index` host import.
//!
//! Built once per job; cheap to clone (shared), immutable, and holding the
//! bodies so that a policy asking for one costs no I/O.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::wit::wit;

/// One entry as handed to [`TenantIndex::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// The entry's name.
    pub name: String,
    /// `user`, `feedback`, `project` or `reference`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// One-line summary.
    pub description: String,
    /// Markdown body.
    pub body: String,
    /// Last write, in ms since the Unix epoch.
    #[serde(default)]
    pub updated_at_ms: u64,
}

/// The tenant's memory entries (ordered by name) and current pieces.
#[derive(Debug, Clone, Default)]
pub struct TenantIndex {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    summaries: Vec<wit::EntrySummary>,
    bodies: Vec<String>,
    fingerprints: Vec<u64>,
    body_bytes: u64,
    pieces: BTreeMap<String, String>,
}

impl TenantIndex {
    /// Indexes `entries` (in any order) and the tenant's current `pieces`
    /// (name → YAML), computing sizes, hashes and similarity fingerprints.
    pub fn new(entries: Vec<IndexEntry>, pieces: BTreeMap<String, String>) -> TenantIndex {
        let mut entries = entries;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut inner = Inner { pieces, ..Inner::default() };
        for entry in entries {
            let fingerprint = memwarden_similarity::fingerprint(&entry.body);
            let digest = Sha256::digest(entry.body.as_bytes());
            let mut hash = [0u8; 8];
            hash.copy_from_slice(&digest[..8]);
            inner.body_bytes += entry.body.len() as u64;
            inner.summaries.push(wit::EntrySummary {
                name: entry.name,
                entry_type: entry.entry_type,
                description: entry.description,
                body_bytes: entry.body.len() as u64,
                body_hash: u64::from_be_bytes(hash),
                fingerprint,
                updated_at_ms: entry.updated_at_ms,
            });
            inner.fingerprints.push(fingerprint);
            inner.bodies.push(entry.body);
        }
        TenantIndex { inner: Arc::new(inner) }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.summaries.len()
    }

    /// Whether the store has no entries.
    pub fn is_empty(&self) -> bool {
        self.inner.summaries.is_empty()
    }

    /// Whether an entry called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The current YAML of the piece called `name`.
    pub fn piece(&self, name: &str) -> Option<&str> {
        self.inner.pieces.get(name).map(String::as_str)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.inner.summaries.binary_search_by(|s| s.name.as_str().cmp(name)).ok()
    }

    pub(crate) fn stats(&self) -> wit::IndexStats {
        wit::IndexStats { entries: self.inner.summaries.len() as u32, body_bytes: self.inner.body_bytes }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<wit::EntrySummary> {
        self.position(name).map(|i| self.inner.summaries[i].clone())
    }

    pub(crate) fn summaries(&self) -> &[wit::EntrySummary] {
        &self.inner.summaries
    }

    pub(crate) fn fingerprints(&self) -> &[u64] {
        &self.inner.fingerprints
    }

    pub(crate) fn entry_at(&self, position: u32) -> Option<wit::EntrySummary> {
        self.inner.summaries.get(position as usize).cloned()
    }

    pub(crate) fn body(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.inner.bodies[i].as_str())
    }
}
