//! The cache against real files: what it serves is always what reading the
//! files afresh would give, however they changed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::{DataDir, Entry, FileChange, SnapshotMeta, TenantDir, TenantFile, VerdictCounts, snapshot_id};

fn entry(name: &str, body: &str) -> Entry {
    Entry { name: name.into(), description: format!("About {name}"), entry_type: "project".into(), body: body.into() }
}

fn seed(tenant: &TenantDir, entries: &[Entry]) {
    for e in entries {
        tenant.write_file(&TenantFile::Entry(e.name.clone()), Some(&e.to_markdown())).expect("seed");
    }
}

/// What a fresh data directory (so an empty cache) reads.
fn fresh_entries(root: &Path) -> Vec<StoredEntry> {
    DataDir::open(root).expect("data").tenant("acme").expect("tenant").entries().expect("entries")
}

fn fresh_history(root: &Path) -> Vec<SnapshotIndexLine> {
    DataDir::open(root).expect("data").tenant("acme").expect("tenant").snapshots().expect("history")
}

#[test]
fn the_tenant_map_is_bounded() {
    let cache = StoreCache::default();
    for n in 0..MAX_CACHED_TENANTS + 10 {
        cache.tenant(&format!("t{n}"));
    }
    assert_eq!(lock(&cache.tenants).len(), MAX_CACHED_TENANTS);
    let kept = cache.tenant("kept");
    for _ in 0..10 {
        assert!(Arc::ptr_eq(&kept, &cache.tenant("kept")), "a cached tenant is found, and nothing evicted");
    }
    assert_eq!(lock(&cache.tenants).len(), MAX_CACHED_TENANTS);
}

#[test]
fn the_bytes_held_are_bounded() {
    let cache = StoreCache::default();
    let big = cache.tenant("big");
    big.entry_bytes.store(MAX_CACHED_BYTES / 2, Ordering::Relaxed);
    big.history_bytes.store(MAX_CACHED_BYTES / 2, Ordering::Relaxed);
    // At the budget: kept, even when asked for alone.
    assert!(Arc::ptr_eq(&big, &cache.tenant("big")));
    let small = cache.tenant("small");
    small.entry_bytes.store(1, Ordering::Relaxed);
    // Over it: the next lookup forgets others, never the one asked for.
    assert!(Arc::ptr_eq(&small, &cache.tenant("small")));
    assert!(!lock(&cache.tenants).contains_key("big"));
}

#[test]
fn a_file_changed_within_the_settle_time_is_racy() {
    let changed = FileIdentity { device: 1, inode: 2, size: 3, modified_ns: 0, changed_ns: 5_000_000_001 };
    let at = |ns: u64| UNIX_EPOCH + Duration::from_nanos(ns);
    assert!(changed.is_racy(at(5_000_000_001)));
    assert!(changed.is_racy(at(5_015_000_000)));
    assert!(!changed.is_racy(at(5_030_000_000)));
    // A modification time set into the future (`touch -d`) is racy too.
    let future = FileIdentity { modified_ns: 9_000_000_001, ..changed };
    assert!(future.is_racy(at(7_000_000_000)));
    // Times in whole seconds: the filesystem may tick once a second or two.
    let coarse = FileIdentity { modified_ns: 4_000_000_000, changed_ns: 5_000_000_000, ..changed };
    assert!(coarse.is_racy(at(7_500_000_000)));
    assert!(!coarse.is_racy(at(8_000_000_000)));
}

#[test]
fn entries_changed_behind_the_caches_back_are_read_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("data");
    let tenant = data.tenant("acme").expect("tenant");
    seed(&tenant, &[entry("alpha", "one"), entry("beta", "two"), entry("gamma", "three")]);
    // Old enough to be kept.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(tenant.entries().expect("entries"), fresh_entries(dir.path()));
    assert_eq!(tenant.cache.entries().len(), 3, "all settled, all kept");

    let memory = dir.path().join("tenants/acme/memory");
    // Edited in place, same size: only the change time tells.
    let alpha = memory.join("alpha.md");
    let text = fs::read_to_string(&alpha).expect("read").replace("one", "uno");
    fs::OpenOptions::new()
        .write(true)
        .open(&alpha)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .expect("edit");
    // Removed by hand, and one added by hand.
    fs::remove_file(memory.join("beta.md")).expect("remove");
    fs::write(memory.join("delta.md"), entry("delta", "four").to_markdown()).expect("add");
    // Replaced by another process's store (a rename: a new inode).
    DataDir::open(dir.path())
        .expect("other")
        .tenant("acme")
        .expect("tenant")
        .write_file(&TenantFile::Entry("gamma".into()), Some(&entry("gamma", "tres").to_markdown()))
        .expect("write");

    let seen = tenant.entries().expect("entries");
    assert_eq!(seen, fresh_entries(dir.path()));
    let bodies: Vec<(&str, &str)> = seen.iter().map(|s| (s.entry.name.as_str(), s.entry.body.as_str())).collect();
    assert_eq!(bodies, [("alpha", "uno"), ("delta", "four"), ("gamma", "tres")]);
    assert!(!tenant.cache.entries().contains_key("beta.md"), "a removed file is forgotten");
}

#[test]
fn a_file_broken_after_it_was_cached_fails_the_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("data");
    let tenant = data.tenant("acme").expect("tenant");
    seed(&tenant, &[entry("alpha", "one")]);
    std::thread::sleep(Duration::from_millis(50));
    tenant.entries().expect("entries");
    fs::write(dir.path().join("tenants/acme/memory/alpha.md"), "no front matter").expect("break");
    let err = tenant.entries().expect_err("broken");
    assert_eq!(err.code(), "store_invalid_entry", "{err}");
}

fn commit(tenant: &TenantDir, job: &str, at_ms: u64, body: &str) {
    let file = TenantFile::Entry("alpha".into());
    let before = tenant.read_file(&file).expect("read");
    let changes = [FileChange { file: file.clone(), before, after: Some(entry("alpha", body).to_markdown()) }];
    let meta = SnapshotMeta {
        id: snapshot_id(at_ms, job),
        tenant: "acme".into(),
        job_id: job.into(),
        kind: "reflection".into(),
        created_at_ms: at_ms,
        reasoning: String::new(),
        model: None,
        tokens_in: 0,
        tokens_out: 0,
        decision: None,
        files: vec![file],
        raw_llm_output: None,
        restores: None,
        source_run: None,
        reviewer: None,
    };
    let lock = tenant.lock().expect("lock");
    tenant.commit(&lock, &meta, &changes, VerdictCounts { accepted: 1, rejected: 0, held: 0 }).expect("commit");
}

#[test]
fn the_history_is_read_past_what_was_read_and_again_after_a_rewrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("data");
    let tenant = data.tenant("acme").expect("tenant");
    assert!(tenant.snapshot_history().expect("empty").is_empty());
    for n in 0..3u64 {
        commit(&tenant, &format!("job{n}"), 1_700_000_000_000 + n, &format!("body {n}"));
        assert_eq!(*tenant.snapshot_history().expect("history"), fresh_history(dir.path()));
    }
    assert_eq!(tenant.snapshot_history().expect("history").len(), 3);

    // The last line cut away and another of the same length appended (as an
    // undone commit and the next one do): read again from the start.
    let index = dir.path().join("tenants/acme/snapshots/index.jsonl");
    let text = fs::read_to_string(&index).expect("index");
    let cut = text[..text.len() - 1].rfind('\n').expect("lines") + 1;
    let replaced = text[cut..].replace("job2", "jobX");
    fs::write(&index, format!("{}{replaced}", &text[..cut])).expect("rewrite");
    let history = tenant.snapshot_history().expect("history");
    assert_eq!(*history, fresh_history(dir.path()));
    assert_eq!(history[2].job_id, "jobX");

    // A line without its newline counts, and is read again once finished.
    let line = text[cut..].replace("job2", "job3");
    fs::write(&index, format!("{}{replaced}{}", &text[..cut], line.trim_end())).expect("partial");
    assert_eq!(tenant.snapshot_history().expect("history").len(), 4);
    fs::write(&index, format!("{}{replaced}{line}", &text[..cut])).expect("finished");
    assert_eq!(*tenant.snapshot_history().expect("history"), fresh_history(dir.path()));

    // A damaged line is an error, not a shorter history.
    fs::write(&index, format!("{}{replaced}{line}{{oops\n", &text[..cut])).expect("damage");
    assert!(tenant.snapshot_history().is_err());
    fs::remove_file(&index).expect("remove");
    assert!(tenant.snapshot_history().expect("gone").is_empty());
}
