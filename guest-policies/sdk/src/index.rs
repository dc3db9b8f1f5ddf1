//! The tenant's memory store as the host shows it during one evaluation:
//! read-only, and only what a call asks for is copied into the module.
//!
//! Inside a component these calls go to the host's `tenant-index` import.
//! Compiled natively (unit tests, benchmarks) they go to the backend set with
//! [`crate::native::with_index`].

use crate::{EntrySummary, IndexStats};

#[cfg(target_arch = "wasm32")]
use crate::bindings::memwarden::policy::tenant_index as backend;
#[cfg(not(target_arch = "wasm32"))]
use crate::native::current as backend;

/// Number of entries and their total body size.
pub fn stats() -> IndexStats {
    backend::stats()
}

/// The summary of the entry called `name`.
pub fn lookup(name: &str) -> Option<EntrySummary> {
    backend::lookup(name)
}

/// Whether an entry called `name` exists.
pub fn contains(name: &str) -> bool {
    lookup(name).is_some()
}

/// Every entry's summary, ordered by name. Copies the whole index: prefer
/// [`lookup`] or [`fingerprints`] when they suffice.
pub fn entries() -> Vec<EntrySummary> {
    backend::entries()
}

/// Every entry's similarity fingerprint, in the order of [`entries`].
pub fn fingerprints() -> Vec<u64> {
    backend::fingerprints()
}

/// The summary at `position` in the order of [`entries`].
pub fn entry_at(position: u32) -> Option<EntrySummary> {
    backend::entry_at(position)
}

/// The body of the entry called `name`.
pub fn body(name: &str) -> Option<String> {
    backend::body(name)
}
