//! The tenant's memory store as the host shows it during one evaluation:
//! read-only, and only what a call asks for is copied into the module.

use crate::bindings::memwarden::policy::tenant_index;
use crate::{EntrySummary, IndexStats};

/// Number of entries and their total body size.
pub fn stats() -> IndexStats {
    tenant_index::stats()
}

/// The summary of the entry called `name`.
pub fn lookup(name: &str) -> Option<EntrySummary> {
    tenant_index::lookup(name)
}

/// Whether an entry called `name` exists.
pub fn contains(name: &str) -> bool {
    lookup(name).is_some()
}

/// Every entry's summary, ordered by name. Copies the whole index: prefer
/// [`lookup`] or [`fingerprints`] when they suffice.
pub fn entries() -> Vec<EntrySummary> {
    tenant_index::entries()
}

/// Every entry's similarity fingerprint, in the order of [`entries`].
pub fn fingerprints() -> Vec<u64> {
    tenant_index::fingerprints()
}

/// The summary at `position` in the order of [`entries`].
pub fn entry_at(position: u32) -> Option<EntrySummary> {
    tenant_index::entry_at(position)
}

/// The body of the entry called `name`.
pub fn body(name: &str) -> Option<String> {
    tenant_index::body(name)
}
