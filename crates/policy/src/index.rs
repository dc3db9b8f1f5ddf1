//! [`TenantIndex`]: the tenant's entries and pieces as policies may read
//! them during an evaluation, through the `tenant-index` host import.
//!
//! Built once per job; cheap to clone (shared), immutable, and holding the
//! bodies so that a policy asking for one costs no I/O. Hashing and
//! fingerprinting every body is the expensive part (~2 ms for 200 entries),
//! so [`TenantIndex::refresh`] builds the next job's index from the last
//! one, redoing only the entries whose text changed.

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

/// One entry as handed to [`TenantIndex::refresh`]: borrowed, so that an
/// unchanged entry costs a comparison and no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The entry's name.
    pub name: &'a str,
    /// `user`, `feedback`, `project` or `reference`.
    pub entry_type: &'a str,
    /// One-line summary.
    pub description: &'a str,
    /// Markdown body.
    pub body: &'a str,
    /// Last write, in ms since the Unix epoch.
    pub updated_at_ms: u64,
}

impl<'a> From<&'a IndexEntry> for EntryRef<'a> {
    fn from(entry: &'a IndexEntry) -> EntryRef<'a> {
        EntryRef {
            name: &entry.name,
            entry_type: &entry.entry_type,
            description: &entry.description,
            body: &entry.body,
            updated_at_ms: entry.updated_at_ms,
        }
    }
}

/// The tenant's memory entries (ordered by name) and current pieces.
#[derive(Debug, Clone, Default)]
pub struct TenantIndex {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ordered by name; shared with the index this one was refreshed from.
    entries: Vec<Arc<Indexed>>,
    fingerprints: Vec<u64>,
    body_bytes: u64,
    /// Sum of the entries' digests: the same entries give the same sum.
    digest: u64,
    pieces: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Indexed {
    summary: wit::EntrySummary,
    body: String,
    /// First 8 bytes of the SHA-256 of everything the summary says.
    digest: u64,
}

impl Indexed {
    fn new(entry: EntryRef<'_>) -> Indexed {
        let BodySummary { body_bytes, body_hash, fingerprint } = summarise(entry.body);
        let summary = wit::EntrySummary {
            name: entry.name.to_string(),
            entry_type: entry.entry_type.to_string(),
            description: entry.description.to_string(),
            body_bytes,
            body_hash,
            fingerprint,
            updated_at_ms: entry.updated_at_ms,
        };
        let mut hasher = Sha256::new();
        for field in [entry.name, entry.entry_type, entry.description] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        hasher.update(body_hash.to_le_bytes());
        hasher.update(entry.updated_at_ms.to_le_bytes());
        Indexed { summary, body: entry.body.to_string(), digest: first_u64(&hasher.finalize()) }
    }

    fn is(&self, entry: &EntryRef<'_>) -> bool {
        let summary = &self.summary;
        summary.name == entry.name
            && summary.updated_at_ms == entry.updated_at_ms
            && summary.entry_type == entry.entry_type
            && summary.description == entry.description
            && self.body == entry.body
    }
}

/// What the index derives from a body.
pub(crate) struct BodySummary {
    pub(crate) body_bytes: u64,
    /// First 8 bytes of the body's SHA-256, big-endian.
    pub(crate) body_hash: u64,
    pub(crate) fingerprint: u64,
}

pub(crate) fn summarise(body: &str) -> BodySummary {
    BodySummary {
        body_bytes: body.len() as u64,
        body_hash: first_u64(&Sha256::digest(body.as_bytes())),
        fingerprint: memwarden_similarity::fingerprint(body),
    }
}

fn first_u64(digest: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

impl TenantIndex {
    /// Indexes `entries` (in any order) and the tenant's current `pieces`
    /// (name → YAML), computing sizes, hashes and similarity fingerprints.
    pub fn new(entries: Vec<IndexEntry>, pieces: BTreeMap<String, String>) -> TenantIndex {
        TenantIndex::default().refresh(entries.iter().map(EntryRef::from), pieces)
    }

    /// The index of `entries` (in any order) and `pieces`, reusing what this
    /// index computed for every entry whose name, type, description, body
    /// and time are unchanged. The result is the same as [`TenantIndex::new`]
    /// on the same entries; only the cost differs.
    pub fn refresh<'a>(
        &self,
        entries: impl IntoIterator<Item = EntryRef<'a>>,
        pieces: BTreeMap<String, String>,
    ) -> TenantIndex {
        let mut entries: Vec<EntryRef<'a>> = entries.into_iter().collect();
        entries.sort_unstable_by(|a, b| a.name.cmp(b.name));
        // Names are unique in a store; a repeated one keeps its first entry,
        // as a lookup by name would find only one anyway.
        entries.dedup_by(|later, earlier| later.name == earlier.name);
        let mut inner = Inner { pieces, ..Inner::default() };
        inner.entries.reserve(entries.len());
        inner.fingerprints.reserve(entries.len());
        for entry in entries {
            let reused = self.position(entry.name).map(|at| &self.inner.entries[at]).filter(|old| old.is(&entry));
            let indexed = match reused {
                Some(old) => old.clone(),
                None => Arc::new(Indexed::new(entry)),
            };
            inner.body_bytes += indexed.summary.body_bytes;
            inner.digest = inner.digest.wrapping_add(indexed.digest);
            inner.fingerprints.push(indexed.summary.fingerprint);
            inner.entries.push(indexed);
        }
        TenantIndex { inner: Arc::new(inner) }
    }

    /// A digest of the entries and pieces: equal indexes give equal digests.
    pub fn digest(&self) -> u64 {
        let mut hasher = Sha256::new();
        hasher.update(self.inner.digest.to_le_bytes());
        for (name, yaml) in &self.inner.pieces {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((yaml.len() as u64).to_le_bytes());
            hasher.update(yaml.as_bytes());
        }
        first_u64(&hasher.finalize())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether the store has no entries.
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
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
        self.inner.entries.binary_search_by(|e| e.summary.name.as_str().cmp(name)).ok()
    }

    pub(crate) fn stats(&self) -> wit::IndexStats {
        wit::IndexStats { entries: self.inner.entries.len() as u32, body_bytes: self.inner.body_bytes }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<wit::EntrySummary> {
        self.position(name).map(|i| self.inner.entries[i].summary.clone())
    }

    pub(crate) fn summaries(&self) -> Vec<wit::EntrySummary> {
        self.inner.entries.iter().map(|entry| entry.summary.clone()).collect()
    }

    pub(crate) fn fingerprints(&self) -> &[u64] {
        &self.inner.fingerprints
    }

    pub(crate) fn entry_at(&self, position: u32) -> Option<wit::EntrySummary> {
        self.inner.entries.get(position as usize).map(|entry| entry.summary.clone())
    }

    pub(crate) fn body(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.inner.entries[i].body.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, body: &str) -> IndexEntry {
        IndexEntry {
            name: name.to_string(),
            entry_type: "project".to_string(),
            description: format!("about {name}"),
            body: body.to_string(),
            updated_at_ms: 7,
        }
    }

    fn refs(entries: &[IndexEntry]) -> impl Iterator<Item = EntryRef<'_>> {
        entries.iter().map(EntryRef::from)
    }

    #[test]
    fn a_refreshed_index_equals_one_built_from_scratch() {
        let before = vec![entry("b", "two"), entry("a", "one"), entry("c", "three")];
        let after = vec![entry("a", "one"), entry("c", "three, changed"), entry("d", "four")];
        let old = TenantIndex::new(before, BTreeMap::new());
        let refreshed = old.refresh(refs(&after), BTreeMap::new());
        let fresh = TenantIndex::new(after.clone(), BTreeMap::new());
        // The bindings' types are not `PartialEq`; their debug form is exact.
        assert_eq!(format!("{:?}", refreshed.summaries()), format!("{:?}", fresh.summaries()));
        assert_eq!(refreshed.fingerprints(), fresh.fingerprints());
        assert_eq!(format!("{:?}", refreshed.stats()), format!("{:?}", fresh.stats()));
        assert_eq!(refreshed.digest(), fresh.digest());
        assert_eq!(refreshed.body("c"), Some("three, changed"));
        assert!(!refreshed.contains("b"));
    }

    #[test]
    fn unchanged_entries_are_shared_and_changed_ones_recomputed() {
        let before = vec![entry("a", "one"), entry("b", "two")];
        let old = TenantIndex::new(before.clone(), BTreeMap::new());
        let mut after = before;
        after[1].body = "two, edited".to_string();
        let refreshed = old.refresh(refs(&after), BTreeMap::new());
        assert!(Arc::ptr_eq(&old.inner.entries[0], &refreshed.inner.entries[0]), "`a` is reused");
        assert!(!Arc::ptr_eq(&old.inner.entries[1], &refreshed.inner.entries[1]), "`b` is recomputed");
        assert_ne!(old.lookup("b").map(|s| s.body_hash), refreshed.lookup("b").map(|s| s.body_hash));
        // A changed time alone is a changed entry: the summary shows it.
        after[0].updated_at_ms = 8;
        let retimed = refreshed.refresh(refs(&after), BTreeMap::new());
        assert_eq!(retimed.lookup("a").map(|s| s.updated_at_ms), Some(8));
    }

    #[test]
    fn the_digest_tells_different_stores_apart() {
        let one = TenantIndex::new(vec![entry("a", "one")], BTreeMap::new());
        let other = TenantIndex::new(vec![entry("a", "uno")], BTreeMap::new());
        let piece = BTreeMap::from([("p".to_string(), "steps: []".to_string())]);
        let with_piece = TenantIndex::new(vec![entry("a", "one")], piece);
        assert_ne!(one.digest(), other.digest());
        assert_ne!(one.digest(), with_piece.digest());
        assert_eq!(one.digest(), TenantIndex::new(vec![entry("a", "one")], BTreeMap::new()).digest());
    }
}
