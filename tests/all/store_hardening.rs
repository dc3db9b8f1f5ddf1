//! Issue 9's tenant-store items on real file systems: a commit on a full
//! or read-only disk is all or nothing (2), racing rollbacks get distinct
//! snapshots (9), a damaged snapshot is never restored from (10), stale
//! temporary files are swept (22), a symlinked tenant is `store_symlink`
//! and `memwarden doctor` quarantines bad entries (23). And issue 12 (6):
//! a snapshot is one file, and snapshots of the old layout (a directory of
//! copies) are still shown, listed and rolled back.
//!
//! The disk tests need root: a small tmpfs and `chattr +i`. Without them
//! they say they were skipped.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use memwarden::store::{
    DataDir, Entry, FileChange, SnapshotMeta, TenantDir, TenantFile, VerdictCounts, memory_index, snapshot_id,
};

use crate::util::{memwarden, run, temp_dir};

fn entry(name: &str, body: &str) -> Entry {
    Entry { name: name.into(), description: format!("About {name}"), entry_type: "project".into(), body: body.into() }
}

fn meta(job: &str, at_ms: u64, changes: &[FileChange]) -> SnapshotMeta {
    SnapshotMeta {
        id: snapshot_id(at_ms, job),
        tenant: "acme".into(),
        job_id: job.into(),
        kind: "reflection".into(),
        created_at_ms: at_ms,
        reasoning: format!("job {job}"),
        model: None,
        tokens_in: 0,
        tokens_out: 0,
        decision: None,
        files: changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: None,
        restores: None,
        source_run: None,
        reviewer: None,
    }
}

const VERDICTS: VerdictCounts = VerdictCounts { accepted: 1, rejected: 0, held: 0 };

/// Seeds `keep`, `edit` and `gone` with their index through a first
/// commit, and returns the change set of a second job that adds two
/// entries, edits one, removes one and rewrites the index.
fn seed_and_plan(tenant: &TenantDir) -> Vec<FileChange> {
    let seeded = [entry("keep", "stays"), entry("edit", "old body"), entry("gone", "to be removed")];
    let mut seed: Vec<FileChange> = seeded
        .iter()
        .map(|e| FileChange { file: TenantFile::Entry(e.name.clone()), before: None, after: Some(e.to_markdown()) })
        .collect();
    seed.push(FileChange { file: TenantFile::MemoryIndex, before: None, after: Some(memory_index(&seeded)) });
    let lock = tenant.lock().expect("lock");
    tenant.commit(&lock, &meta("seed", 1_700_000_000_000, &seed), &seed, VERDICTS).expect("seed");
    let after = [entry("keep", "stays"), entry("edit", "new body"), entry("new-1", "one"), entry("new-2", "two")];
    vec![
        FileChange { file: TenantFile::Entry("new-1".into()), before: None, after: Some(after[2].to_markdown()) },
        FileChange { file: TenantFile::Entry("new-2".into()), before: None, after: Some(after[3].to_markdown()) },
        FileChange {
            file: TenantFile::Entry("edit".into()),
            before: Some(seeded[1].to_markdown()),
            after: Some(after[1].to_markdown()),
        },
        FileChange { file: TenantFile::Entry("gone".into()), before: Some(seeded[2].to_markdown()), after: None },
        FileChange {
            file: TenantFile::MemoryIndex,
            before: Some(memory_index(&seeded)),
            after: Some(memory_index(&after)),
        },
    ]
}

/// Every file and directory under `root` (but the lock), with contents.
fn tree(root: &Path) -> BTreeMap<String, Option<String>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(&dir).expect("read dir").flatten() {
            let path = item.path();
            let relative = path.strip_prefix(root).expect("under root").display().to_string();
            // Spare files are free space, not content (see `spares`).
            if relative == ".lock" || relative.contains(".tmp-spare-") {
                continue;
            }
            if item.file_type().expect("type").is_dir() {
                found.insert(format!("{relative}/"), None);
                stack.push(path);
            } else {
                found.insert(relative, Some(fs::read_to_string(&path).unwrap_or_else(|_| "<binary>".into())));
            }
        }
    }
    found
}

/// The live files of the store: what a reader sees.
fn live(tenant: &TenantDir, changes: &[FileChange]) -> Vec<Option<String>> {
    changes.iter().map(|c| tenant.read_file(&c.file).expect("read")).collect()
}

/// A tmpfs mounted on a temp dir, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = temp_dir();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,nr_inodes=4096", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root), so the full-disk test did not run");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn inodes_used(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.path()).expect("statvfs");
        stat.f_files - stat.f_ffree
    }

    fn limit_inodes(&self, nr_inodes: u64) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,nr_inodes={nr_inodes}")])
            .arg(self.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "remount with nr_inodes={nr_inodes}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn issue9_2_a_commit_on_a_full_file_system_is_all_or_nothing() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let (mut failed, mut succeeded) = (0, 0);
    // Each round leaves the commit `extra` free inodes, so it runs out at
    // every step in turn: marker, snapshot, staged files, undo links.
    for extra in 0..40 {
        tmpfs.limit_inodes(4096);
        let root = tmpfs.path().join(format!("round-{extra}"));
        let data = DataDir::open(&root).expect("open");
        let tenant = data.tenant("acme").expect("tenant");
        let changes = seed_and_plan(&tenant);
        let tenant_root = root.join("tenants/acme");
        let before_tree = tree(&tenant_root);
        let before_live = live(&tenant, &changes);
        let lock = tenant.lock().expect("lock");
        let job = meta("job-2", 1_700_000_000_500, &changes);
        tmpfs.limit_inodes(tmpfs.inodes_used() + extra);
        let result = tenant.commit(&lock, &job, &changes, VERDICTS);
        tmpfs.limit_inodes(4096);
        match result {
            Ok(_) => {
                succeeded += 1;
                let after: Vec<_> = changes.iter().map(|c| c.after.clone()).collect();
                assert_eq!(live(&tenant, &changes), after, "round {extra}: fully after");
                assert_eq!(tenant.snapshots().expect("history").len(), 2, "round {extra}");
                tenant.read_snapshot(&job.id).expect("the snapshot reads");
            }
            Err(err) => {
                failed += 1;
                assert_eq!(err.code(), "store_io", "round {extra}: {err}");
                assert!(err.to_string().contains("was undone"), "round {extra}: {err}");
                assert_eq!(live(&tenant, &changes), before_live, "round {extra}: fully before ({err})");
                assert_eq!(tree(&tenant_root), before_tree, "round {extra}: not a trace left ({err})");
                // The disk has room again: the retry commits.
                tenant.commit(&lock, &job, &changes, VERDICTS).expect("the retry commits");
                let after: Vec<_> = changes.iter().map(|c| c.after.clone()).collect();
                assert_eq!(live(&tenant, &changes), after, "round {extra}: retried");
            }
        }
        drop(lock);
        fs::remove_dir_all(&root).expect("clean round");
    }
    assert!(failed >= 5 && succeeded >= 1, "failed {failed} times, succeeded {succeeded} times");
}

/// Sets `chattr +i` on paths, and clears it when dropped.
pub struct Immutable(Vec<PathBuf>);

impl Immutable {
    /// `None` (after saying the test was skipped) where unsupported.
    pub fn set(path: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: `chattr +i` is not supported here (needs root), so the read-only test did not run");
            return None;
        }
        Some(Immutable(vec![path.to_path_buf()]))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(path).status();
        }
    }
}

#[test]
fn issue9_2_a_commit_refused_by_an_immutable_file_is_undone() {
    // The index line is the commit point: refused there, every renamed
    // file has to go back.
    for frozen in ["memory/MEMORY.md", "snapshots", "snapshots/index.jsonl", "memory/edit.md"] {
        let dir = temp_dir();
        let data = DataDir::open(dir.path()).expect("open");
        let tenant = data.tenant("acme").expect("tenant");
        let changes = seed_and_plan(&tenant);
        let tenant_root = dir.path().join("tenants/acme");
        let before_tree = tree(&tenant_root);
        let job = meta("job-2", 1_700_000_000_500, &changes);
        let lock = tenant.lock().expect("lock");
        let Some(guard) = Immutable::set(&tenant_root.join(frozen)) else { return };
        let err = tenant.commit(&lock, &job, &changes, VERDICTS).expect_err("refused");
        assert!(err.to_string().contains("was undone; the store is as before it"), "{frozen}: {err}");
        assert_eq!(tree(&tenant_root), before_tree, "{frozen}: fully before");
        drop(guard);
        tenant.commit(&lock, &job, &changes, VERDICTS).expect("commits once writable");
        let after: Vec<_> = changes.iter().map(|c| c.after.clone()).collect();
        assert_eq!(live(&tenant, &changes), after, "{frozen}");
        assert_eq!(tenant.snapshots().expect("history").len(), 2, "{frozen}");
    }
}

#[test]
fn issue9_9_rollbacks_racing_in_one_millisecond_get_distinct_snapshots() {
    let dir = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    let changes = seed_and_plan(&tenant);
    let job = meta("job-2", 1_700_000_000_500, &changes);
    tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
    let now_ms = 1_700_000_001_000;
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let path = dir.path().to_path_buf();
            let target = job.id.clone();
            std::thread::spawn(move || {
                let tenant = DataDir::open(&path).expect("open").tenant("acme").expect("tenant");
                memwarden::rollback::rollback(&tenant, &target, now_ms).expect("rollback")
            })
        })
        .collect();
    let done: Vec<_> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    let mut ids: Vec<&str> = done.iter().map(|d| d.snapshot_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "every rollback has its own snapshot: {ids:?}");
    assert_eq!(tenant.snapshots().expect("history").len(), 14, "seed, job and 12 rollbacks");
    assert_eq!(done.iter().filter(|d| !d.changes.is_empty()).count(), 1, "only the first had anything to restore");
    let before: Vec<_> = changes.iter().map(|c| c.before.clone()).collect();
    assert_eq!(live(&tenant, &changes), before);
}

#[test]
fn issue9_9_a_commit_refuses_a_different_change_set_under_a_taken_id() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let lock = tenant.lock().expect("lock");
    let a = vec![FileChange {
        file: TenantFile::Entry("a".into()),
        before: None,
        after: Some(entry("a", "1").to_markdown()),
    }];
    let b = vec![FileChange {
        file: TenantFile::Entry("b".into()),
        before: None,
        after: Some(entry("b", "2").to_markdown()),
    }];
    let first = meta("rollback", 1_700_000_000_000, &a);
    tenant.commit(&lock, &first, &a, VERDICTS).expect("first");
    assert_eq!(tenant.commit(&lock, &first, &a, VERDICTS).expect("the same again").written, 0);
    let tampered = vec![FileChange { after: Some(entry("a", "other").to_markdown()), ..a[0].clone() }];
    let err = tenant.commit(&lock, &first, &tampered, VERDICTS).expect_err("same meta, other content");
    assert_eq!(err.code(), "snapshot_id_taken", "{err}");
    let other = SnapshotMeta { reasoning: "another change".into(), ..meta("rollback", 1_700_000_000_000, &b) };
    let err = tenant.commit(&lock, &other, &b, VERDICTS).expect_err("refused, not skipped");
    assert_eq!(err.code(), "snapshot_id_taken", "{err}");
    assert_eq!(tenant.entry("b").expect("read"), None);
}

#[test]
fn issue9_10_a_lost_or_damaged_snapshot_file_is_never_restored_from() {
    // Torn, a stranger's bytes, or gone: refused by `show` and rollback,
    // and nothing is deleted or restored.
    for (damage, code) in
        [("torn", "snapshot_damaged"), ("garbage", "snapshot_damaged"), ("lost", "snapshot_not_found")]
    {
        let dir = temp_dir();
        let data = DataDir::open(dir.path()).expect("open");
        let tenant = data.tenant("acme").expect("tenant");
        let changes = seed_and_plan(&tenant);
        let job = meta("job-2", 1_700_000_000_500, &changes);
        tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
        let live_before = live(&tenant, &changes);
        let file = dir.path().join(format!("tenants/acme/snapshots/{}.json", job.id));
        let whole = fs::read(&file).expect("one snapshot file");
        match damage {
            "torn" => fs::write(&file, &whole[..whole.len() - 40]).expect("damage"),
            "garbage" => fs::write(&file, "{\"meta\": 7}").expect("damage"),
            _ => fs::remove_file(&file).expect("damage"),
        }
        let err = tenant.read_snapshot(&job.id).expect_err("damaged");
        assert_eq!(err.code(), code, "{damage}: {err}");
        let err = memwarden::rollback::rollback(&tenant, &job.id, 1_700_000_001_000).expect_err("refused");
        assert_eq!(err.code(), code, "{damage}: {err}");
        let (output, _, stderr) = run(memwarden().arg("--data-dir").arg(dir.path()).args(["show", "acme", &job.id]));
        assert_eq!(output.status.code(), Some(2), "{damage}");
        assert!(stderr.contains(&format!("[{code}]")), "{damage}: {stderr}");
        assert_eq!(live(&tenant, &changes), live_before, "{damage}: nothing deleted or restored");
        assert_eq!(tenant.snapshots().expect("history").len(), 2, "{damage}: no rollback recorded");
    }
}

/// Writes `changes` as a snapshot of the layout earlier versions wrote —
/// `snapshots/<id>/` with `before/` and `after/` copies and a `meta.json`
/// recording which exist, plus its index line — and applies them to the
/// live files, as that version's commit did.
fn write_old_layout_snapshot(tenant_root: &Path, job: &SnapshotMeta, changes: &[FileChange]) {
    let base = tenant_root.join(format!("snapshots/{}", job.id));
    let mut copies = Vec::new();
    for change in changes {
        let path = change.file.path();
        for (side, content) in [("before", &change.before), ("after", &change.after)] {
            if let Some(text) = content {
                let copy = base.join(side).join(&path);
                fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir");
                fs::write(copy, text).expect("copy");
            }
        }
        copies.push(serde_json::json!({
            "file": change.file, "before": change.before.is_some(), "after": change.after.is_some(),
        }));
        let live = tenant_root.join(&path);
        match &change.after {
            Some(text) => fs::write(live, text).expect("apply"),
            None => fs::remove_file(live).expect("apply"),
        }
    }
    let mut stored = serde_json::to_value(job).expect("meta");
    stored["copies"] = serde_json::Value::Array(copies);
    fs::write(base.join("meta.json"), serde_json::to_string_pretty(&stored).expect("json")).expect("meta.json");
    let line = serde_json::json!({
        "id": job.id, "job_id": job.job_id, "kind": job.kind, "created_at_ms": job.created_at_ms,
        "accepted": 1, "rejected": 0, "files": changes.len(),
        "memory_writes": changes.iter().filter(|c| matches!(c.file, TenantFile::Entry(_))).count(), "pieces": [],
    });
    let mut index = fs::read_to_string(tenant_root.join("snapshots/index.jsonl")).unwrap_or_default();
    index.push_str(&format!("{line}\n"));
    fs::write(tenant_root.join("snapshots/index.jsonl"), index).expect("index");
}

/// A tenant whose first two snapshots an earlier version wrote in the old
/// layout (seed `a`; add `b` and edit `a`), and a third, new-layout one
/// on top (edit `b`). Returns the three metas and change sets.
fn tenant_with_old_layout_snapshots(tenant: &TenantDir, tenant_root: &Path) -> Vec<(SnapshotMeta, Vec<FileChange>)> {
    let (a1, a2, b1, b2) = (entry("a", "one"), entry("a", "two"), entry("b", "first"), entry("b", "second"));
    let seed = vec![
        FileChange { file: TenantFile::Entry("a".into()), before: None, after: Some(a1.to_markdown()) },
        FileChange {
            file: TenantFile::MemoryIndex,
            before: None,
            after: Some(memory_index(std::slice::from_ref(&a1))),
        },
    ];
    let second = vec![
        FileChange {
            file: TenantFile::Entry("a".into()),
            before: Some(a1.to_markdown()),
            after: Some(a2.to_markdown()),
        },
        FileChange { file: TenantFile::Entry("b".into()), before: None, after: Some(b1.to_markdown()) },
        FileChange {
            file: TenantFile::MemoryIndex,
            before: Some(memory_index(&[a1])),
            after: Some(memory_index(&[a2.clone(), b1.clone()])),
        },
    ];
    let third = vec![FileChange {
        file: TenantFile::Entry("b".into()),
        before: Some(b1.to_markdown()),
        after: Some(b2.to_markdown()),
    }];
    let jobs = vec![
        (meta("seed", 1_700_000_000_000, &seed), seed),
        (meta("job-2", 1_700_000_000_500, &second), second),
        (meta("job-3", 1_700_000_000_900, &third), third),
    ];
    write_old_layout_snapshot(tenant_root, &jobs[0].0, &jobs[0].1);
    write_old_layout_snapshot(tenant_root, &jobs[1].0, &jobs[1].1);
    tenant.commit(&tenant.lock().expect("lock"), &jobs[2].0, &jobs[2].1, VERDICTS).expect("a new-layout commit");
    jobs
}

#[test]
fn issue12_6_old_layout_snapshots_are_shown_listed_and_rolled_back() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let tenant_root = dir.path().join("tenants/acme");
    let jobs = tenant_with_old_layout_snapshots(&tenant, &tenant_root);
    assert!(tenant_root.join(format!("snapshots/{}/meta.json", jobs[1].0.id)).is_file());
    assert!(tenant_root.join(format!("snapshots/{}.json", jobs[2].0.id)).is_file());
    for (job, changes) in &jobs {
        assert_eq!(tenant.read_snapshot(&job.id).expect("reads"), (job.clone(), changes.clone()), "{}", job.id);
    }
    let cli = |args: &[&str]| run(memwarden().arg("--data-dir").arg(dir.path()).args(args));
    let (output, stdout, stderr) = cli(&["history", "acme"]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 4, "a header and three snapshots:\n{stdout}");
    let (output, stdout, stderr) = cli(&["show", "acme", &jobs[1].0.id]);
    assert!(output.status.success(), "{stderr}");
    for expected in ["reason   job job-2", "--- /dev/null\n+++ b/memory/b.md", "\n-one", "\n+two"] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }

    // Back to before the old-layout job-2: it and the new-layout job-3 undone.
    let (output, stdout, stderr) = cli(&["rollback", "acme", &jobs[1].0.id]);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("undid 2 snapshots"), "{stdout}");
    let files: Vec<FileChange> = jobs[1].1.clone();
    let live: Vec<Option<String>> = files.iter().map(|c| tenant.read_file(&c.file).expect("read")).collect();
    assert_eq!(live, files.iter().map(|c| c.before.clone()).collect::<Vec<_>>());
    let history = tenant.snapshots().expect("history");
    assert_eq!(history.len(), 4);
    let (rollback, restored) = tenant.read_snapshot(&history[3].id).expect("the rollback reads");
    assert_eq!(rollback.restores.as_deref(), Some(jobs[1].0.id.as_str()));
    assert_eq!(restored.len(), 3, "{restored:?}");
}

#[test]
fn issue9_10_a_missing_copy_of_an_old_layout_snapshot_is_damage_not_a_deletion() {
    for lost in ["before", "after"] {
        let dir = temp_dir();
        let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
        let tenant_root = dir.path().join("tenants/acme");
        let jobs = tenant_with_old_layout_snapshots(&tenant, &tenant_root);
        let live_before = live(&tenant, &jobs[1].1);
        fs::remove_dir_all(tenant_root.join(format!("snapshots/{}/{lost}", jobs[1].0.id))).expect("damage");
        let err = tenant.read_snapshot(&jobs[1].0.id).expect_err("damaged");
        assert_eq!(err.code(), "snapshot_damaged", "{lost}: {err}");
        let err = memwarden::rollback::rollback(&tenant, &jobs[1].0.id, 1_700_000_001_000).expect_err("refused");
        assert_eq!(err.code(), "snapshot_damaged", "{lost}: {err}");
        assert_eq!(live(&tenant, &jobs[1].1), live_before, "{lost}: nothing deleted or restored");
        assert_eq!(tenant.snapshots().expect("history").len(), 3, "{lost}: no rollback recorded");
    }
}

#[test]
fn issue9_22_temp_files_a_killed_writer_left_are_swept_under_the_lock() {
    let dir = temp_dir();
    let tenant_root = dir.path().join("tenants/acme");
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    // A real writer, killed between creating its temporary file and
    // renaming it.
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg("echo partial > .tmp-4242-0-note.md && exec sleep 60")
        .current_dir(tenant_root.join("memory"))
        .spawn()
        .expect("writer");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !tenant_root.join("memory/.tmp-4242-0-note.md").exists() {
        assert!(std::time::Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
    writer.kill().expect("SIGKILL");
    writer.wait().expect("reaped");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let age = |path: &Path| {
        fs::File::options().write(true).open(path).expect("open").set_modified(hour_ago).expect("mtime");
    };
    age(&tenant_root.join("memory/.tmp-4242-0-note.md"));
    for stale in ["pieces/.tmp-4242-1-research.yaml", ".tmp-4242-2-.commit-pending", "memory/.tmp-commit-x.md"] {
        fs::write(tenant_root.join(stale), "left behind").expect("plant");
        if !stale.contains("commit-x") {
            age(&tenant_root.join(stale));
        }
    }
    // One being written right now by an unlocked tool is left alone.
    fs::write(tenant_root.join("memory/.tmp-4243-0-fresh.md"), "in flight").expect("plant");
    let lock = tenant.lock().expect("lock");
    let mut swept = lock.recovery().swept.clone();
    swept.sort();
    assert_eq!(
        swept,
        [
            "tenants/acme/.tmp-4242-2-.commit-pending",
            "tenants/acme/memory/.tmp-4242-0-note.md",
            "tenants/acme/memory/.tmp-commit-x.md",
            "tenants/acme/pieces/.tmp-4242-1-research.yaml",
        ]
    );
    assert!(!tenant_root.join("memory/.tmp-4242-0-note.md").exists());
    assert!(tenant_root.join("memory/.tmp-4243-0-fresh.md").exists());
}

#[test]
fn issue9_23_a_symlinked_tenant_directory_is_store_symlink() {
    let dir = temp_dir();
    let outside = temp_dir();
    fs::create_dir_all(dir.path().join("tenants")).expect("mkdir");
    symlink(outside.path(), dir.path().join("tenants/acme")).expect("plant");
    let data = DataDir::open(dir.path()).expect("open");
    let err = data.tenant("acme").err().expect("refused");
    assert_eq!(err.code(), "store_symlink", "{err}");
    let (output, _, stderr) = run(memwarden().arg("--data-dir").arg(dir.path()).args(["history", "acme"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("[store_symlink]"), "{stderr}");
    assert_eq!(fs::read_dir(outside.path()).expect("outside").count(), 0);
}

#[test]
fn issue9_23_doctor_reports_and_quarantines_files_that_fail_every_job() {
    let dir = temp_dir();
    let outside = temp_dir();
    let data = DataDir::open(dir.path()).expect("open");
    let tenant = data.tenant("acme").expect("tenant");
    let good = entry("good", "fine");
    tenant.write_file(&TenantFile::Entry("good".into()), Some(&good.to_markdown())).expect("good");
    let memory = dir.path().join("tenants/acme/memory");
    fs::write(memory.join("broken.md"), "no front matter").expect("broken");
    fs::write(memory.join("binary.md"), [0xff, 0xfe, 0x00]).expect("binary");
    fs::write(outside.path().join("secret.md"), "outside").expect("target");
    symlink(outside.path().join("secret.md"), memory.join("linked.md")).expect("symlink");
    let err = tenant.entries().expect_err("a bad file fails the tenant");
    assert!(err.to_string().contains("`memwarden doctor acme --fix`"), "{err}");

    let doctor = |fix: bool| {
        let mut command = memwarden();
        command.arg("--data-dir").arg(dir.path()).args(["doctor", "acme"]);
        if fix {
            command.arg("--fix");
        }
        run(&mut command)
    };
    let (output, stdout, stderr) = doctor(false);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "bad       tenants/acme/memory/binary.md: entry `binary` is not valid: it is not UTF-8",
        "bad       tenants/acme/memory/broken.md: entry `broken` is not valid: it does not start with `---`",
        "bad       tenants/acme/memory/linked.md: `tenants/acme/memory/linked.md` is a symlink",
        "3 bad files; `memwarden doctor acme --fix` moves them to quarantine/",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
    assert!(memory.join("broken.md").exists(), "reporting moves nothing");

    let (output, stdout, stderr) = doctor(true);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("fixed     3 files moved to tenants/acme/quarantine/"), "{stdout}");
    let stored: Vec<_> = tenant.entries().expect("the tenant reads again").into_iter().map(|s| s.entry).collect();
    assert_eq!(stored, [good]);
    let quarantined: Vec<String> = fs::read_dir(dir.path().join("tenants/acme/quarantine"))
        .expect("quarantine")
        .map(|e| e.expect("item").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(quarantined.len(), 3, "{quarantined:?}");
    assert!(quarantined.iter().any(|name| name.ends_with("-broken.md")), "{quarantined:?}");
    assert_eq!(fs::read_to_string(outside.path().join("secret.md")).expect("target"), "outside");
    let (output, stdout, _) = doctor(false);
    assert!(output.status.success() && stdout.contains("ok "), "{stdout}");
}

/// A crash after the commit point (the synced marker) and before the
/// renames were synced, on a file system that kept the index line and lost
/// the renames (btrfs can): the marker (the snapshot file) and the line are
/// there, the files as before. `memwarden doctor` takes the lock, finishes
/// the commit and writes its files.
#[test]
fn doctor_rolls_forward_a_finished_commit_whose_renames_were_lost() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let changes = seed_and_plan(&tenant);
    let job = meta("job-2", 1_700_000_000_500, &changes);
    tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
    let root = dir.path().join("tenants/acme");
    let snapshot = root.join(format!("snapshots/{}.json", job.id));
    fs::remove_file(root.join("snapshots/.last-commit-done")).expect("not marked applied");
    fs::hard_link(&snapshot, root.join("snapshots/.last-commit")).expect("the marker, as before it was");
    for change in &changes {
        let path = root.join(change.file.path());
        match &change.before {
            Some(text) => fs::write(&path, text).expect("as before"),
            None => fs::remove_file(&path).expect("never created"),
        }
    }
    let (output, stdout, stderr) = run(memwarden().arg("--data-dir").arg(dir.path()).args(["doctor", "acme"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("finished  commit {}: it was cut off after its commit point", job.id)),
        "{stdout}"
    );
    for file in ["memory/MEMORY.md", "memory/edit.md", "memory/gone.md", "memory/new-1.md", "memory/new-2.md"] {
        let line = format!("rewrote   tenants/acme/{file}: the commit had not written it yet");
        assert!(stdout.contains(&line), "missing `{line}` in:\n{stdout}");
    }
    let live: Vec<Option<String>> = changes.iter().map(|c| tenant.read_file(&c.file).expect("read")).collect();
    let after: Vec<Option<String>> = changes.iter().map(|c| c.after.clone()).collect();
    assert_eq!(live, after);
    assert!(!root.join("snapshots/.last-commit").exists() && root.join("snapshots/.last-commit-done").exists());
}

/// Where the child of the crash test commits; set only in that child.
const CHILD_ENV: &str = "MEMWARDEN_TEST_COMMIT_CHILD";

/// The child process of the crash test: commits one new entry after
/// another, each with its index, until it is killed. A no-op in a normal
/// run.
#[test]
fn issue9_2_child_commits_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let tenant = DataDir::open(Path::new(&path)).expect("open").tenant("acme").expect("tenant");
    loop {
        let lock = tenant.lock().expect("lock");
        let n = tenant.snapshots().expect("history").len();
        let mut entries: Vec<Entry> = tenant.entries().expect("entries").into_iter().map(|s| s.entry).collect();
        let before = tenant.read_file(&TenantFile::MemoryIndex).expect("index");
        let new = entry(&format!("e{n:04}"), &"body ".repeat(200));
        entries.push(new.clone());
        let changes = vec![
            FileChange { file: TenantFile::Entry(new.name.clone()), before: None, after: Some(new.to_markdown()) },
            FileChange { file: TenantFile::MemoryIndex, before, after: Some(memory_index(&entries)) },
        ];
        let job = meta(&format!("job-{n}"), 1_700_000_000_000 + n as u64, &changes);
        tenant.commit(&lock, &job, &changes, VERDICTS).expect("commit");
        println!("committed {n}");
    }
}

#[test]
fn issue9_2_a_commit_killed_at_any_point_is_finished_or_undone_by_the_next_lock_holder() {
    let dir = temp_dir();
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let tenant_root = dir.path().join("tenants/acme");
    let (mut finished, mut swept) = (0, 0);
    for round in 0..30u64 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "store_hardening::issue9_2_child_commits_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child");
        // Kills land anywhere in a commit: a varying delay after the
        // child's first few commits.
        std::thread::sleep(Duration::from_millis(40 + (round * 7) % 23));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let lock = tenant.lock().expect("the next holder repairs");
        let recovery = lock.recovery().clone();
        assert_eq!(recovery.undone, None, "round {round}: only commits of earlier versions are undone");
        finished += usize::from(recovery.finished.is_some());
        swept += usize::from(recovery.finished.is_none() && !recovery.swept.is_empty());
        // Fully before or fully after every commit: each indexed snapshot's
        // entry exists, no other does, and the index lists exactly them.
        let indexed = tenant.snapshots().expect("history").len();
        let names: Vec<String> = tenant.entries().expect("entries").into_iter().map(|s| s.entry.name).collect();
        let expected: Vec<String> = (0..indexed).map(|n| format!("e{n:04}")).collect();
        assert_eq!(names, expected, "round {round}: {recovery:?}");
        let index = tenant.read_file(&TenantFile::MemoryIndex).expect("index");
        let entries: Vec<Entry> = tenant.entries().expect("entries").into_iter().map(|s| s.entry).collect();
        if indexed > 0 {
            assert_eq!(index, Some(memory_index(&entries)), "round {round}");
        }
        let leftovers: Vec<String> =
            tree(&tenant_root).into_keys().filter(|p| p.contains(".tmp-") || p.ends_with(".last-commit")).collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
        for line in tenant.snapshots().expect("history") {
            tenant.read_snapshot(&line.id).expect("every indexed snapshot reads");
        }
    }
    eprintln!("crash test: {finished} commits finished and {swept} cut off before their commit point");
    assert!(finished + swept > 0, "no kill landed inside a commit in 30 rounds");
}
