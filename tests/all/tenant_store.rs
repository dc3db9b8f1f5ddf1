//! The tenant store on real directories: entries round-trip byte for byte,
//! hostile names and planted symlinks are refused without writing outside
//! the tenant, the lock excludes, and snapshots are idempotent.

use std::fs;
use std::os::unix::fs::symlink;
use std::sync::mpsc;
use std::time::Duration;

use memwarden::store::{
    DataDir, Entry, FileChange, SnapshotMeta, StoreError, TenantFile, VerdictCounts, memory_index, snapshot_id,
};

use crate::util::temp_dir;

fn entry(name: &str, body: &str) -> Entry {
    Entry { name: name.into(), description: format!("About {name}"), entry_type: "project".into(), body: body.into() }
}

#[test]
fn entries_round_trip_and_the_index_lists_them() {
    let dir = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    let entries = [entry("deploy-order", "Migrate first.\n"), entry("style", "Short functions: \"always\".")];
    for e in &entries {
        tenant.write_file(&TenantFile::Entry(e.name.clone()), Some(&e.to_markdown())).expect("write");
    }
    tenant.write_file(&TenantFile::MemoryIndex, Some(&memory_index(&entries))).expect("index");
    let stored = tenant.entries().expect("entries");
    assert_eq!(stored.iter().map(|s| s.entry.clone()).collect::<Vec<_>>(), entries);
    let on_disk = fs::read_to_string(dir.path().join("tenants/acme/memory/style.md")).expect("file");
    assert_eq!(on_disk, entries[1].to_markdown());
    let index = fs::read_to_string(dir.path().join("tenants/acme/memory/MEMORY.md")).expect("index");
    assert!(index.contains("- [deploy-order](deploy-order.md) (project): About deploy-order\n"), "{index}");
    assert_eq!(data.tenant_names().expect("names"), ["acme"]);
}

#[test]
fn hostile_names_are_refused_before_touching_the_disk() {
    let dir = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let long = "x".repeat(300);
    for name in ["../x", "/etc/passwd", "a/b", "", "nul\0byte", long.as_str(), "CON", ".hidden"] {
        let err = data.tenant(name).err().expect("refused tenant");
        assert_eq!(err.code(), "unsafe_name", "{name:?}: {err}");
        let tenant = data.tenant("acme").expect("tenant");
        let err = tenant.write_file(&TenantFile::Entry(name.to_string()), Some("x")).expect_err("refused entry");
        assert_eq!(err.code(), "unsafe_name", "{name:?}: {err}");
    }
    let outside: Vec<_> = fs::read_dir(dir.path()).expect("data dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(outside, ["tenants"]);
}

#[test]
fn a_symlink_planted_in_memory_is_refused_and_its_target_untouched() {
    let dir = temp_dir();
    let outside = temp_dir();
    let target = outside.path().join("secret.txt");
    fs::write(&target, "outside the tenant").expect("target");
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    symlink(&target, dir.path().join("tenants/acme/memory/evil.md")).expect("plant");

    assert_eq!(tenant.entries().expect_err("refused").code(), "store_symlink");
    assert!(matches!(tenant.entry("evil"), Err(StoreError::Symlink { .. })));
    assert!(matches!(tenant.read_file(&TenantFile::Entry("evil".into())), Err(StoreError::Symlink { .. })));
    // Writing the name replaces the link itself; nothing is written through it.
    tenant.write_file(&TenantFile::Entry("evil".into()), Some(&entry("evil", "b").to_markdown())).expect("replace");
    assert_eq!(fs::read_to_string(&target).expect("target"), "outside the tenant");
    assert!(
        !fs::symlink_metadata(dir.path().join("tenants/acme/memory/evil.md")).expect("meta").file_type().is_symlink()
    );
}

#[test]
fn a_symlinked_memory_directory_is_refused() {
    let dir = temp_dir();
    let outside = temp_dir();
    fs::create_dir_all(dir.path().join("tenants/acme")).expect("mkdir");
    symlink(outside.path(), dir.path().join("tenants/acme/memory")).expect("plant");
    let data = DataDir::open(dir.path()).expect("open");
    let err = data.tenant("acme").err().expect("refused");
    assert_eq!(err.code(), "store_symlink", "{err}");
    assert_eq!(fs::read_dir(outside.path()).expect("outside").count(), 0);
}

#[test]
fn the_tenant_lock_excludes_another_holder() {
    let dir = temp_dir();
    let path = dir.path().to_path_buf();
    let data = DataDir::open(&path).expect("open");
    let guard = data.tenant("acme").expect("tenant").lock().expect("lock");
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        // A second handle, as another process would open it.
        let data = DataDir::open(&path).expect("open");
        let _guard = data.tenant("acme").expect("tenant").lock().expect("lock");
        tx.send(()).expect("send");
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "the second holder must wait");
    drop(guard);
    rx.recv_timeout(Duration::from_secs(5)).expect("the second holder gets the lock once it is free");
    waiter.join().expect("waiter");
}

#[test]
fn a_commit_writes_its_files_and_snapshot_once_and_refuses_a_conflict() {
    let dir = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    tenant.write_file(&TenantFile::Piece("research".into()), Some("old: 1")).expect("seed");
    let id = snapshot_id(1_700_000_000_123, "job-7");
    assert_eq!(id, "20231114T221320.123Z-job-7");
    let changes = vec![
        FileChange { file: TenantFile::Entry("a".into()), before: None, after: Some(entry("a", "new").to_markdown()) },
        FileChange {
            file: TenantFile::Piece("research".into()),
            before: Some("old: 1".into()),
            after: Some("new: 1".into()),
        },
    ];
    let meta = SnapshotMeta {
        id: id.clone(),
        tenant: "acme".into(),
        job_id: "job-7".into(),
        kind: "reflection".into(),
        created_at_ms: 1_700_000_000_123,
        reasoning: "why".into(),
        model: Some("scripted".into()),
        tokens_in: 10,
        tokens_out: 5,
        decision: None,
        files: changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: None,
        restores: None,
        source_run: None,
        reviewer: None,
    };
    let lock = tenant.lock().expect("lock");
    let verdicts = VerdictCounts { accepted: 2, rejected: 1, held: 0 };
    assert_eq!(tenant.commit(&lock, &meta, &changes, verdicts).expect("commit").written, 2);
    let again = tenant.commit(&lock, &meta, &changes, verdicts).expect("commit again, as a resumed job would");
    assert_eq!(again.written, 0, "a resumed commit finds its files written");
    assert_eq!(tenant.own_piece("research").expect("piece").as_deref(), Some("new: 1"));
    let lines = tenant.snapshots().expect("index");
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].accepted, lines[0].rejected, lines[0].files), (2, 1, 2));
    let (read_meta, read_changes) = tenant.read_snapshot(&id).expect("read");
    assert_eq!((read_meta, read_changes), (meta.clone(), changes));
    // One file per snapshot (issue 12, 6), no directory of copies.
    assert!(dir.path().join(format!("tenants/acme/snapshots/{id}.json")).is_file());
    assert!(!dir.path().join(format!("tenants/acme/snapshots/{id}")).exists());
    assert_eq!(tenant.read_snapshot("nope").expect_err("missing").code(), "snapshot_not_found");

    // Someone else changed the piece: a change set computed before that is
    // refused whole, and nothing of it is written.
    tenant.write_file(&TenantFile::Piece("research".into()), Some("edited elsewhere")).expect("edit");
    let stale = vec![
        FileChange { file: TenantFile::Entry("b".into()), before: None, after: Some(entry("b", "x").to_markdown()) },
        FileChange {
            file: TenantFile::Piece("research".into()),
            before: Some("new: 1".into()),
            after: Some("newer: 2".into()),
        },
    ];
    let stale_meta = SnapshotMeta { id: snapshot_id(1_700_000_000_999, "job-8"), ..meta };
    let err = tenant.commit(&lock, &stale_meta, &stale, verdicts).expect_err("conflict");
    assert_eq!(err.code(), "apply_conflict");
    assert_eq!(tenant.entry("b").expect("entry"), None);
    assert_eq!(tenant.snapshots().expect("index").len(), 1);
}

#[test]
fn a_tenant_copy_of_a_piece_shadows_the_builtin() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let builtin = tenant.piece("research").expect("piece").expect("built in");
    assert!(builtin.starts_with("name: research"));
    assert_eq!(tenant.own_piece("research").expect("own"), None);
    tenant.write_file(&TenantFile::Piece("research".into()), Some("name: research\n# edited")).expect("write");
    assert_eq!(tenant.piece("research").expect("piece").as_deref(), Some("name: research\n# edited"));
    assert_eq!(tenant.piece("no-such-piece").expect("piece"), None);
}

#[test]
fn a_resumed_commit_regenerates_a_memory_index_another_job_rewrote() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let lock = tenant.lock().expect("lock");
    let a = entry("a", "first");
    let b = entry("b", "second");
    let meta = |job: &str, n: u64| SnapshotMeta {
        id: snapshot_id(1_700_000_000_000 + n, job),
        tenant: "acme".into(),
        job_id: job.into(),
        kind: "reflection".into(),
        created_at_ms: 1_700_000_000_000 + n,
        reasoning: "r".into(),
        model: None,
        tokens_in: 0,
        tokens_out: 0,
        decision: None,
        files: vec![],
        raw_llm_output: None,
        restores: None,
        source_run: None,
        reviewer: None,
    };
    let index_of = |entries: &[Entry]| Some(memory_index(entries));
    // Job 1 planned `a` on an empty store, wrote the entry, then died.
    let job1 = vec![
        FileChange { file: TenantFile::Entry("a".into()), before: None, after: Some(a.to_markdown()) },
        FileChange { file: TenantFile::MemoryIndex, before: None, after: index_of(std::slice::from_ref(&a)) },
    ];
    tenant.write_file(&TenantFile::Entry("a".into()), Some(&a.to_markdown())).expect("partial write");
    // Job 2 ran meanwhile and indexed both entries.
    let job2 = vec![
        FileChange { file: TenantFile::Entry("b".into()), before: None, after: Some(b.to_markdown()) },
        FileChange { file: TenantFile::MemoryIndex, before: None, after: index_of(&[a.clone(), b.clone()]) },
    ];
    let verdicts = VerdictCounts { accepted: 1, rejected: 0, held: 0 };
    tenant.commit(&lock, &meta("job-2", 2), &job2, verdicts).expect("job 2");
    // Job 1 resumes: no conflict, and the index still lists both.
    tenant.commit(&lock, &meta("job-1", 1), &job1, verdicts).expect("job 1 resumes");
    let index = tenant.read_file(&TenantFile::MemoryIndex).expect("read").expect("index");
    assert_eq!(Some(index), index_of(&[a, b]));
    assert_eq!(tenant.snapshots().expect("history").len(), 2);
}

/// The per-tenant index cache (issue 11) reuses unchanged entries, and sees
/// every change on disk, including one made by hand between two jobs.
#[test]
fn the_index_cache_sees_entries_changed_behind_its_back() {
    use memwarden::flow::context::{IndexCache, RunView, policy_view};
    use memwarden::policy::{Proposal, RulePack, RunOutcome};

    let dir = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    tenant
        .write_file(&TenantFile::Entry("style".into()), Some(&entry("style", "Short functions.").to_markdown()))
        .expect("seed");
    let pack = RulePack::load(crate::util::engine(), "default").expect("pack");
    let cache = IndexCache::default();
    let run = RunView { piece: "research", outcome: RunOutcome::Succeeded, job_id: "job-1", now_ms: 1_700_000_000_000 };
    let add_deploy_order = Proposal::from_json(
        r#"{"reasoning": "r", "memory_changes": [{"op": "add", "name": "deploy-order", "type": "project",
            "description": "Order of a deploy", "body": "Run the migrations before the deploy."}]}"#,
    )
    .expect("proposal");
    let decide = || {
        let (entries, history) = (tenant.entries().expect("entries"), tenant.snapshots().expect("history"));
        let (context, index) = policy_view(&cache, &tenant, &entries, &history, &run, None).expect("view");
        pack.evaluate(&add_deploy_order, &context, &index)
    };
    assert!(decide().memory[0].accepted, "nothing named deploy-order yet");

    // Written by hand, not through a job: the next view must see it.
    let by_hand = entry("deploy-order", "Run the migrations before the deploy.");
    tenant.write_file(&TenantFile::Entry("deploy-order".into()), Some(&by_hand.to_markdown())).expect("by hand");
    let second = decide();
    let codes: Vec<&str> = second.memory[0].rejections.iter().map(|r| r.code.as_str()).collect();
    assert!(codes.contains(&"name_exists"), "{codes:?}");
}
