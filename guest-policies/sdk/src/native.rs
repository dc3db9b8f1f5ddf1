//! Running a policy natively, outside a component: for unit tests of a
//! policy's logic and for measuring the sandbox's overhead. The host is not
//! there, so the caller supplies the tenant index.
//!
//! ```
//! use memwarden_policy_sdk::native::{MemoryIndex, with_index};
//! use memwarden_policy_sdk::{EntrySummary, index};
//!
//! let summary = EntrySummary {
//!     name: "deploy-order".into(), entry_type: "project".into(), description: "d".into(),
//!     body_bytes: 4, body_hash: 0, fingerprint: 0, updated_at_ms: 0,
//! };
//! let index_of_one = MemoryIndex::new(vec![(summary, "body".to_string())]);
//! with_index(index_of_one, || assert!(index::contains("deploy-order")));
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use crate::{EntrySummary, IndexStats};

/// What [`crate::index`] reads from when running natively.
pub trait IndexBackend {
    /// See [`crate::index::stats`].
    fn stats(&self) -> IndexStats;
    /// See [`crate::index::lookup`].
    fn lookup(&self, name: &str) -> Option<EntrySummary>;
    /// See [`crate::index::entries`].
    fn entries(&self) -> Vec<EntrySummary>;
    /// See [`crate::index::fingerprints`].
    fn fingerprints(&self) -> Vec<u64>;
    /// See [`crate::index::entry_at`].
    fn entry_at(&self, position: u32) -> Option<EntrySummary>;
    /// See [`crate::index::body`].
    fn body(&self, name: &str) -> Option<String>;
}

thread_local! {
    static BACKEND: RefCell<Option<Rc<dyn IndexBackend>>> = const { RefCell::new(None) };
}

/// A shared backend is a backend, so one index can serve many calls.
impl<T: IndexBackend + ?Sized> IndexBackend for Rc<T> {
    fn stats(&self) -> IndexStats {
        (**self).stats()
    }
    fn lookup(&self, name: &str) -> Option<EntrySummary> {
        (**self).lookup(name)
    }
    fn entries(&self) -> Vec<EntrySummary> {
        (**self).entries()
    }
    fn fingerprints(&self) -> Vec<u64> {
        (**self).fingerprints()
    }
    fn entry_at(&self, position: u32) -> Option<EntrySummary> {
        (**self).entry_at(position)
    }
    fn body(&self, name: &str) -> Option<String> {
        (**self).body(name)
    }
}

/// Runs `f` with `backend` as the tenant index of this thread.
pub fn with_index<R>(backend: impl IndexBackend + 'static, f: impl FnOnce() -> R) -> R {
    let previous = BACKEND.with(|slot| slot.replace(Some(Rc::new(backend))));
    let result = f();
    BACKEND.with(|slot| *slot.borrow_mut() = previous);
    result
}

/// Evaluates policy `P` with a config in JSON, as the host would.
pub fn evaluate<P: crate::Policy>(
    config_json: &str,
    proposal: &crate::Proposal,
    context: &crate::Context,
) -> crate::Decision {
    crate::__private::evaluate::<P>(None, proposal, context, config_json)
}

/// Checks a config as the host does when a pack loads.
pub fn validate_config<P: crate::Policy>(config_json: &str) -> Result<(), String> {
    crate::__private::validate_config::<P>(config_json)
}

/// The summary the host's index gives an entry: its size, the first 8 bytes
/// of its body's SHA-256 (big-endian) and its similarity fingerprint,
/// computed from `body` as the host computes them.
pub fn summary(name: &str, entry_type: &str, description: &str, body: &str, updated_at_ms: u64) -> EntrySummary {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body.as_bytes());
    let mut hash = [0u8; 8];
    hash.copy_from_slice(&digest[..8]);
    EntrySummary {
        name: name.to_string(),
        entry_type: entry_type.to_string(),
        description: description.to_string(),
        body_bytes: body.len() as u64,
        body_hash: u64::from_be_bytes(hash),
        fingerprint: crate::similarity::fingerprint(body),
        updated_at_ms,
    }
}

/// An in-memory index of (summary, body) pairs; the summaries' hashes and
/// fingerprints are taken as given ([`summary`] computes them as the host
/// does).
pub struct MemoryIndex {
    entries: Vec<(EntrySummary, String)>,
}

impl MemoryIndex {
    /// Indexes `entries`, sorting them by name as the host does.
    pub fn new(mut entries: Vec<(EntrySummary, String)>) -> MemoryIndex {
        entries.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        MemoryIndex { entries }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.binary_search_by(|(summary, _)| summary.name.as_str().cmp(name)).ok()
    }
}

impl IndexBackend for MemoryIndex {
    fn stats(&self) -> IndexStats {
        let body_bytes = self.entries.iter().map(|(summary, _)| summary.body_bytes).sum();
        IndexStats { entries: self.entries.len() as u32, body_bytes }
    }
    fn lookup(&self, name: &str) -> Option<EntrySummary> {
        self.position(name).map(|i| self.entries[i].0.clone())
    }
    fn entries(&self) -> Vec<EntrySummary> {
        self.entries.iter().map(|(summary, _)| summary.clone()).collect()
    }
    fn fingerprints(&self) -> Vec<u64> {
        self.entries.iter().map(|(summary, _)| summary.fingerprint).collect()
    }
    fn entry_at(&self, position: u32) -> Option<EntrySummary> {
        self.entries.get(position as usize).map(|(summary, _)| summary.clone())
    }
    fn body(&self, name: &str) -> Option<String> {
        self.position(name).map(|i| self.entries[i].1.clone())
    }
}

/// The backend of this thread, as a module `index` can call through.
pub(crate) mod current {
    use super::*;

    fn with<R>(f: impl FnOnce(&dyn IndexBackend) -> R) -> R {
        let backend = BACKEND.with(|slot| slot.borrow().clone());
        match backend {
            Some(backend) => f(backend.as_ref()),
            None => panic!("no tenant index outside a component: wrap the call in native::with_index"),
        }
    }

    pub fn stats() -> IndexStats {
        with(|b| b.stats())
    }
    pub fn lookup(name: &str) -> Option<EntrySummary> {
        with(|b| b.lookup(name))
    }
    pub fn entries() -> Vec<EntrySummary> {
        with(|b| b.entries())
    }
    pub fn fingerprints() -> Vec<u64> {
        with(|b| b.fingerprints())
    }
    pub fn entry_at(position: u32) -> Option<EntrySummary> {
        with(|b| b.entry_at(position))
    }
    pub fn body(name: &str) -> Option<String> {
        with(|b| b.body(name))
    }
}
