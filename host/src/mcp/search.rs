//! `memory_search`: BM25 ranking over each entry's name, description and
//! body (the `bm25` crate), with an English stemmer so `deploying` finds
//! `deploy`. The index of a tenant is kept between queries and rebuilt
//! only when `memory/` changed since it was built (issue 14: p50 ≤ 2 ms on
//! 2,000 entries, where reading the files alone takes longer).
//!
//! Staleness: a cache is trusted only when `memory/` had not changed for
//! [`SETTLE_NS`] before it was built — a write in the same clock tick as
//! the build would otherwise leave the directory's time unchanged (git's
//! "racy timestamp" rule). An entry edited in place by hand, which does
//! not touch the directory, is seen after the next commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bm25::{SearchEngine, SearchEngineBuilder, Tokenizer};
use rust_stemmers::{Algorithm, Stemmer};

use crate::store::{StoreError, StoredEntry, TenantDir};

/// How long `memory/` must have been unchanged for a cache built from it
/// to be trusted: well over any file system's timestamp granularity.
const SETTLE_NS: u128 = 2_000_000_000;

/// Tenants whose index is kept; each holds its entries' text.
const MAX_CACHED_TENANTS: usize = 64;

/// One ranked entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry.
    pub name: String,
    /// Its type.
    pub entry_type: String,
    /// Its one-line description.
    pub description: String,
    /// BM25 score, higher is better.
    pub score: f32,
    /// The start of the body, for the agent to judge the hit by.
    pub excerpt: String,
}

/// Lower-case words of letters and digits, stemmed (English Snowball).
struct Words {
    stemmer: Stemmer,
}

impl Tokenizer for Words {
    fn tokenize(&self, text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(|word| self.stemmer.stem(&word.to_lowercase()).into_owned())
            .collect()
    }
}

/// A tenant's index, and the state of `memory/` it was built from.
struct Indexed {
    changed_ns: u128,
    trusted: bool,
    engine: SearchEngine<usize, u32, Words>,
    entries: Vec<Hit>,
}

/// The search indexes of the tenants recently searched.
#[derive(Default)]
pub struct SearchIndex {
    tenants: Mutex<HashMap<String, Arc<Indexed>>>,
}

/// Body bytes shown with each hit.
const EXCERPT_BYTES: usize = 200;

impl SearchIndex {
    /// The best `limit` entries of `tenant` for `query`, best first; none
    /// when no word of the query occurs. Blocking (reads the store when
    /// the cached index is stale).
    pub fn search(&self, tenant: &TenantDir, query: &str, limit: usize) -> Result<Vec<Hit>, StoreError> {
        let indexed = self.index(tenant)?;
        Ok(indexed
            .engine
            .search(query, limit)
            .into_iter()
            .filter_map(|result| {
                let hit = indexed.entries.get(result.document.id)?;
                Some(Hit { score: result.score, ..hit.clone() })
            })
            .collect())
    }

    fn index(&self, tenant: &TenantDir) -> Result<Arc<Indexed>, StoreError> {
        let changed_ns = tenant.memory_changed_ns()?;
        let cached = self.lock().get(tenant.name()).cloned();
        if let Some(indexed) = cached.filter(|i| i.trusted && i.changed_ns == changed_ns) {
            return Ok(indexed);
        }
        let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let indexed = Arc::new(build(&tenant.entries()?, changed_ns, now_ns.saturating_sub(changed_ns) > SETTLE_NS));
        let mut tenants = self.lock();
        if tenants.len() >= MAX_CACHED_TENANTS
            && !tenants.contains_key(tenant.name())
            && let Some(evicted) = tenants.keys().next().cloned()
        {
            tenants.remove(&evicted);
        }
        tenants.insert(tenant.name().to_string(), indexed.clone());
        Ok(indexed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Indexed>>> {
        // A poisoned map only means a thread panicked between two whole inserts.
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn build(entries: &[StoredEntry], changed_ns: u128, trusted: bool) -> Indexed {
    // The name counts as words too: `deploy-order` matches `deploy order`.
    let documents: Vec<bm25::Document<usize>> = entries
        .iter()
        .enumerate()
        .map(|(i, stored)| {
            let e = &stored.entry;
            bm25::Document::new(i, format!("{}\n{}\n{}", e.name, e.description, e.body))
        })
        .collect();
    let words = Words { stemmer: Stemmer::create(Algorithm::English) };
    let engine = SearchEngineBuilder::<usize, u32, Words>::with_tokenizer_and_documents(words, documents).build();
    let entries = entries
        .iter()
        .map(|stored| {
            let e = &stored.entry;
            Hit {
                name: e.name.clone(),
                entry_type: e.entry_type.clone(),
                description: e.description.clone(),
                score: 0.0,
                excerpt: excerpt(&e.body),
            }
        })
        .collect();
    Indexed { changed_ns, trusted, engine, entries }
}

/// The start of `body`, cut at a character boundary.
fn excerpt(body: &str) -> String {
    if body.len() <= EXCERPT_BYTES {
        return body.to_string();
    }
    let mut end = EXCERPT_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Entry;

    fn stored(name: &str, description: &str, body: &str) -> StoredEntry {
        let entry = Entry {
            name: name.to_string(),
            description: description.to_string(),
            entry_type: "project".to_string(),
            body: body.to_string(),
        };
        StoredEntry { entry, updated_at_ms: 0 }
    }

    #[test]
    fn bm25_ranks_the_entry_about_the_query_first_and_stems_words() {
        let entries = vec![
            stored("deploy-order", "How to deploy", "Run the migrations before deploying the web app."),
            stored("coffee", "Office coffee", "The machine on floor two makes the best coffee."),
            stored("release", "Release checklist", "Tag, build, deploy; the deploy waits for migrations."),
        ];
        let indexed = build(&entries, 0, true);
        let ranked: Vec<usize> = indexed.engine.search("migration deploys", 10).iter().map(|r| r.document.id).collect();
        assert_eq!(ranked.len(), 2, "coffee mentions neither word: {ranked:?}");
        assert!(!ranked.contains(&1));
        let coffee: Vec<usize> = indexed.engine.search("Coffee", 10).iter().map(|r| r.document.id).collect();
        assert_eq!(coffee, vec![1]);
        assert!(indexed.engine.search("kubernetes", 10).is_empty());
    }

    #[test]
    fn an_excerpt_is_cut_on_a_character_boundary() {
        let body = "é".repeat(150);
        let cut = excerpt(&body);
        assert!(cut.ends_with('…') && cut.len() <= EXCERPT_BYTES + '…'.len_utf8(), "{cut}");
    }
}
