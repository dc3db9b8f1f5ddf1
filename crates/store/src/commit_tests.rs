//! The commit on a real directory: one snapshot file a job, and at every
//! step a failure or a kill leaves the store fully before or fully after
//! (issue 12, 6; #9, 2); recovery of a marker an earlier version wrote; the
//! size bound and damage of snapshot files.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::fault::armed::{Fault, arm, disarm};
use super::*;
use crate::{DataDir, Recovery, SNAPSHOT_MAX_BYTES, snapshot_id};

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
        decision: Some(serde_json::json!({"memory": []})),
        files: changes.iter().map(|c| c.file.clone()).collect(),
        raw_llm_output: None,
        restores: None,
        source_run: None,
        reviewer: None,
    }
}

const VERDICTS: VerdictCounts = VerdictCounts { accepted: 1, rejected: 0, held: 0 };

/// Seeds `edit` and `gone` with their index through a first commit, and
/// returns the change set of a second job that adds one entry, edits one,
/// removes one and rewrites the index.
fn seed_and_plan(tenant: &TenantDir) -> Vec<FileChange> {
    let seeded = [entry("edit", "old body"), entry("gone", "to be removed")];
    let mut seed: Vec<FileChange> = seeded
        .iter()
        .map(|e| FileChange { file: TenantFile::Entry(e.name.clone()), before: None, after: Some(e.to_markdown()) })
        .collect();
    seed.push(FileChange { file: TenantFile::MemoryIndex, before: None, after: Some(memory_index(&seeded)) });
    let lock = tenant.lock().expect("lock");
    tenant.commit(&lock, &meta("seed", 1_700_000_000_000, &seed), &seed, VERDICTS).expect("seed");
    let after = [entry("edit", "new body"), entry("new", "one")];
    vec![
        FileChange { file: TenantFile::Entry("new".into()), before: None, after: Some(after[1].to_markdown()) },
        FileChange {
            file: TenantFile::Entry("edit".into()),
            before: Some(seeded[0].to_markdown()),
            after: Some(after[0].to_markdown()),
        },
        FileChange { file: TenantFile::Entry("gone".into()), before: Some(seeded[1].to_markdown()), after: None },
        FileChange {
            file: TenantFile::MemoryIndex,
            before: Some(memory_index(&seeded)),
            after: Some(memory_index(&after)),
        },
    ]
}

/// A seeded tenant in a new directory (see [`seed_and_plan`]): the
/// directory, the tenant, the second job's change set and the tenant's path.
fn seeded() -> (tempfile::TempDir, TenantDir, Vec<FileChange>, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let changes = seed_and_plan(&tenant);
    let root = dir.path().join("tenants/acme");
    (dir, tenant, changes, root)
}

/// Every file and directory under `root` but the lock and spare files, with
/// contents.
fn tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
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
                found.insert(relative, Some(fs::read(&path).expect("read")));
            }
        }
    }
    found
}

/// Temporary files and markers of commits not finished, under `root`.
fn leftovers(root: &Path) -> Vec<String> {
    let unfinished = |p: &String| p.contains(".tmp-") || p.ends_with(".last-commit") || p.contains(".commit-pending");
    tree(root).into_keys().filter(unfinished).collect()
}

fn live(tenant: &TenantDir, changes: &[FileChange]) -> Vec<Option<String>> {
    changes.iter().map(|c| tenant.read_file(&c.file).expect("read")).collect()
}

#[test]
fn a_commit_adds_one_snapshot_file_and_no_directory() {
    let (_dir, tenant, changes, root) = seeded();
    let before = tree(&root);
    let job = meta("job-2", 1_700_000_000_500, &changes);
    tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
    let after = tree(&root);
    let added: Vec<&String> = after.keys().filter(|path| !before.contains_key(*path)).collect();
    assert_eq!(added, [&"memory/new.md".to_string(), &format!("snapshots/{}.json", job.id)]);
    assert!(!root.join(format!("snapshots/{}", job.id)).exists(), "no directory of copies");
    let (read_meta, read_changes) = tenant.read_snapshot(&job.id).expect("reads");
    assert_eq!((read_meta, read_changes), (job, changes));
}

#[test]
fn a_commit_failing_or_killed_at_any_step_is_fully_before_or_fully_after() {
    // A failure is undone, before the commit point (the synced marker) or
    // after it. A kill before the marker is in place leaves staged files to
    // sweep; after, the marker is there for the next holder (only a power
    // cut before the sync could take it back), so it finishes the commit.
    // The renames are reached once per touched file.
    let steps: Vec<(&str, usize, bool, bool)> = vec![
        ("staged", 0, false, false),
        ("marked", 0, false, true),
        ("journaled", 0, false, true),
        ("linked", 0, false, true),
        ("renamed", 0, false, true),
        ("renamed", 2, false, true),
        ("renamed", 3, false, true),
        ("indexed", 0, false, true),
    ];
    for (step, nth, after_failure, after_kill) in steps {
        for fault in [Fault::Fail, Fault::Die] {
            let committed = if fault == Fault::Fail { after_failure } else { after_kill };
            let what = format!("{fault:?} at {step} #{nth}");
            let dir = tempfile::tempdir().expect("tempdir");
            let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
            let changes = seed_and_plan(&tenant);
            let root = dir.path().join("tenants/acme");
            let before_tree = tree(&root);
            let before: Vec<_> = changes.iter().map(|c| c.before.clone()).collect();
            let after: Vec<_> = changes.iter().map(|c| c.after.clone()).collect();
            let job = meta("job-2", 1_700_000_000_500, &changes);
            let lock = tenant.lock().expect("lock");
            arm(step, nth, fault);
            let result = catch_unwind(AssertUnwindSafe(|| tenant.commit(&lock, &job, &changes, VERDICTS)));
            assert!(!disarm(), "{what}: the step was never reached");
            drop(lock);
            match (fault, result) {
                (Fault::Fail, Ok(Err(err))) => {
                    let state = if committed { "reached its commit point" } else { "was undone" };
                    assert!(err.to_string().contains(state), "{what}: {err}");
                }
                (Fault::Die, Err(_)) => {
                    let lock = tenant.lock().expect("the next holder repairs");
                    let recovery = lock.recovery();
                    let expected = Some(job.id.clone());
                    if committed {
                        assert_eq!(recovery.finished, expected, "{what}");
                    } else {
                        // Killed before its marker: only staged files to sweep.
                        assert_eq!((&recovery.undone, &recovery.finished), (&None, &None), "{what}");
                        assert!(!recovery.swept.is_empty(), "{what}");
                    }
                }
                (_, other) => panic!("{what}: {other:?}"),
            }
            if committed {
                assert_eq!(live(&tenant, &changes), after, "{what}: fully after");
                assert_eq!(tenant.snapshots().expect("history").len(), 2, "{what}");
                assert_eq!(tenant.read_snapshot(&job.id).expect("reads").1, changes, "{what}");
                assert_eq!(leftovers(&root), Vec::<String>::new(), "{what}");
                assert!(root.join("snapshots/.last-commit-done").exists(), "{what}: applied, to be synced");
            } else {
                assert_eq!(live(&tenant, &changes), before, "{what}: fully before");
                assert_eq!(tree(&root), before_tree, "{what}: not a trace left");
                let lock = tenant.lock().expect("lock");
                tenant.commit(&lock, &job, &changes, VERDICTS).expect("the retry commits");
                assert_eq!(live(&tenant, &changes), after, "{what}: retried");
                assert_eq!(tenant.read_snapshot(&job.id).expect("reads").1, changes, "{what}");
            }
        }
    }
}

#[test]
fn a_marker_of_an_earlier_version_is_undone_with_its_snapshot_directory() {
    let (_dir, tenant, changes, root) = seeded();
    let before = live(&tenant, &changes);
    let id = snapshot_id(1_700_000_000_500, "job-2");
    // Cut off mid-apply by an earlier version: its marker, its snapshot
    // directory, `edit` replaced (its undo link kept) and `new` created.
    let marker = serde_json::json!({"snapshot": id, "files": [
        {"file": {"kind": "entry", "name": "new"}, "existed": false},
        {"file": {"kind": "entry", "name": "edit"}, "existed": true},
    ]});
    fs::write(root.join(".commit-pending"), marker.to_string()).expect("marker");
    fs::create_dir_all(root.join(format!("snapshots/{id}/after/memory"))).expect("snapshot dir");
    fs::write(root.join(format!("snapshots/{id}/after/memory/new.md")), "x").expect("copy");
    fs::hard_link(root.join("memory/edit.md"), root.join("memory/.tmp-undo-edit.md")).expect("undo link");
    fs::write(root.join("memory/.tmp-commit-edit.md"), changes[1].after.as_deref().unwrap()).expect("staged");
    fs::rename(root.join("memory/.tmp-commit-edit.md"), root.join("memory/edit.md")).expect("applied");
    fs::write(root.join("memory/new.md"), changes[0].after.as_deref().unwrap()).expect("created");

    let lock = tenant.lock().expect("lock");
    assert_eq!(lock.recovery().undone, Some(id.clone()));
    assert_eq!(live(&tenant, &changes), before);
    assert!(!root.join(format!("snapshots/{id}")).exists());
    assert!(!root.join(".commit-pending").exists());
}

#[test]
fn a_snapshot_file_lost_damaged_or_too_large_is_never_read_as_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let changes = seed_and_plan(&tenant);
    let job = meta("job-2", 1_700_000_000_500, &changes);
    tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
    let path = dir.path().join(format!("tenants/acme/snapshots/{}.json", job.id));
    let whole = fs::read(&path).expect("snapshot");
    let code = || tenant.read_snapshot(&job.id).expect_err("refused").code();

    fs::write(&path, &whole[..whole.len() / 2]).expect("torn");
    assert_eq!(code(), "snapshot_damaged");
    fs::write(&path, [0xff, 0xfe]).expect("not UTF-8");
    assert_eq!(code(), "snapshot_damaged");
    let other = String::from_utf8(whole.clone()).unwrap().replace(&job.id, "20231114T221320.500Z-job-3");
    fs::write(&path, other).expect("another snapshot's file");
    assert_eq!(code(), "snapshot_damaged");
    // Sparse: nothing near the limit is read.
    fs::File::create(&path).expect("create").set_len(SNAPSHOT_MAX_BYTES + 1).expect("grow");
    assert_eq!(code(), "snapshot_too_large");
    fs::remove_file(&path).expect("lost");
    assert_eq!(code(), "snapshot_not_found");
    fs::write(&path, &whole).expect("restored");
    assert_eq!(tenant.read_snapshot(&job.id).expect("reads again").1, changes);
}

#[test]
fn a_snapshot_over_the_limit_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let root = dir.path().join("tenants/acme");
    let before = tree(&root);
    let body = "x".repeat(SNAPSHOT_MAX_BYTES as usize);
    let changes = vec![FileChange {
        file: TenantFile::Entry("big".into()),
        before: None,
        after: Some(entry("big", &body).to_markdown()),
    }];
    let job = meta("job-1", 1_700_000_000_000, &changes);
    let err = tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect_err("refused");
    assert_eq!(err.code(), "snapshot_too_large", "{err}");
    assert_eq!(tree(&root), before);
}

/// Commits `changes` as `job`, and dies (a panic, as a killed process
/// would) at `step`; the lock is let go.
fn commit_killed_at(step: &'static str, tenant: &TenantDir, job: &SnapshotMeta, changes: &[FileChange]) {
    arm(step, 0, Fault::Die);
    let died = catch_unwind(AssertUnwindSafe(|| tenant.commit(&tenant.lock().expect("lock"), job, changes, VERDICTS)));
    assert!(!disarm() && died.is_err(), "killed at {step}");
}

#[test]
fn a_marker_killed_before_its_sync_is_finished_and_a_torn_or_staged_one_removed() {
    let (_dir, tenant, changes, root) = seeded();
    let before = live(&tenant, &changes);
    // Killed right after the marker was put in place: the next holder
    // writes every file from it.
    let job = meta("job-2", 1_700_000_000_500, &changes);
    commit_killed_at("marked", &tenant, &job, &changes);
    assert!(root.join("snapshots/.last-commit").exists());
    assert_eq!(live(&tenant, &changes), before);
    let lock = tenant.lock().expect("lock");
    assert_eq!(lock.recovery().finished, Some(job.id.clone()));
    assert_eq!(lock.recovery().rolled_forward.len(), changes.len());
    assert_eq!(live(&tenant, &changes), changes.iter().map(|c| c.after.clone()).collect::<Vec<_>>());
    assert_eq!(tenant.snapshots().expect("history").last().map(|l| l.id.clone()), Some(job.id.clone()));
    drop(lock);

    // A marker whose write never reached the disk changed nothing: removed.
    let after = tree(&root);
    for torn in ["", "\0\0\0\0", "{\"format\":2,\"meta\":{\"id\""] {
        fs::write(root.join("snapshots/.last-commit"), torn).expect("plant");
        let swept = tenant.lock().expect("lock").recovery().swept.clone();
        assert_eq!(swept, ["tenants/acme/snapshots/.last-commit"], "{torn:?}");
        assert_eq!(tree(&root), after, "{torn:?}");
    }
    // One that is whole but not a snapshot is left for a person.
    fs::write(root.join("snapshots/.last-commit"), "{}").expect("plant");
    assert_eq!(tenant.lock().expect_err("refused").code(), "store_io");
    fs::remove_file(root.join("snapshots/.last-commit")).expect("moved away");

    // A marker staged but never renamed is swept by the next lock holder.
    fs::write(root.join("snapshots/.tmp-commit-.last-commit"), "half a marker").expect("plant");
    let swept = tenant.lock().expect("lock").recovery().swept.clone();
    assert_eq!(swept, ["tenants/acme/snapshots/.tmp-commit-.last-commit"]);
    assert!(!root.join("snapshots/.tmp-commit-.last-commit").exists());
}

#[test]
fn a_marker_of_an_earlier_version_in_snapshots_is_undone() {
    let (_dir, tenant, changes, root) = seeded();
    let before = live(&tenant, &changes);
    let id = snapshot_id(1_700_000_000_500, "job-2");
    // Cut off by the version before this one, after replacing `edit` (its
    // undo link kept) and before its index line.
    let journal = serde_json::json!([{"file": {"kind": "entry", "name": "edit"}, "existed": true}]);
    let marker = serde_json::json!({"format": 2, "meta": {"id": id}, "changes": [], "journal": journal});
    fs::write(root.join("snapshots/.commit-pending"), marker.to_string()).expect("marker");
    fs::hard_link(root.join("snapshots/.commit-pending"), root.join(format!("snapshots/{id}.json"))).expect("link");
    fs::hard_link(root.join("memory/edit.md"), root.join("memory/.tmp-undo-edit.md")).expect("undo link");
    fs::write(root.join("memory/.tmp-commit-edit.md"), changes[1].after.as_deref().unwrap()).expect("staged");
    fs::rename(root.join("memory/.tmp-commit-edit.md"), root.join("memory/edit.md")).expect("applied");

    assert_eq!(tenant.lock().expect("lock").recovery().undone, Some(id.clone()));
    assert_eq!(live(&tenant, &changes), before);
    assert!(!root.join(format!("snapshots/{id}.json")).exists());
    assert_eq!(leftovers(&root), Vec::<String>::new());
}

#[test]
fn a_commit_cut_off_after_its_commit_point_is_finished_and_files_changed_since_are_kept() {
    let (_dir, tenant, changes, root) = seeded();
    let (before, after): (Vec<_>, Vec<_>) = changes.iter().map(|c| (c.before.clone(), c.after.clone())).unzip();
    // Killed after the index line, before the marker was marked applied...
    let job = meta("job-2", 1_700_000_000_500, &changes);
    commit_killed_at("indexed", &tenant, &job, &changes);
    // ...on a file system that kept the line and lost the renames: every
    // file as before the commit, but `edit`, which someone changed since.
    for (change, before) in changes.iter().zip(&before) {
        let path = root.join(change.file.path());
        match before {
            Some(text) => fs::write(&path, text).expect("as before"),
            None => fs::remove_file(&path).expect("never created"),
        }
    }
    let by_hand = entry("edit", "edited by hand").to_markdown();
    fs::write(root.join("memory/edit.md"), &by_hand).expect("by hand");

    let lock = tenant.lock().expect("the next holder repairs");
    assert_eq!(lock.recovery().finished, Some(job.id.clone()));
    let mut rolled = lock.recovery().rolled_forward.clone();
    rolled.sort();
    assert_eq!(rolled, ["MEMORY.md", "gone.md", "new.md"].map(|f| format!("tenants/acme/memory/{f}")));
    let mut expected = after.clone();
    expected[1] = Some(by_hand.clone());
    assert_eq!(live(&tenant, &changes), expected, "after, but for the hand edit");
    assert_eq!(tenant.snapshots().expect("history").len(), 2, "the line once");
    drop(lock);
    // As it should be: nothing to finish.
    assert_eq!(tenant.lock().expect("lock").recovery(), &Recovery::default());
}

#[test]
fn a_finished_commit_is_never_redone_over_later_hand_edits() {
    let (dir, tenant, changes, root) = seeded();
    let job = meta("job-2", 1_700_000_000_500, &changes);
    tenant.commit(&tenant.lock().expect("lock"), &job, &changes, VERDICTS).expect("commit");
    // Its durability is left to the next commit; meanwhile a person undoes
    // its removal and edits its new entry, and another process takes the
    // lock.
    fs::write(root.join("memory/gone.md"), changes[2].before.as_deref().unwrap()).expect("restored by hand");
    fs::write(root.join("memory/new.md"), entry("new", "by hand").to_markdown()).expect("edited by hand");
    let hand = tree(&root);
    let other = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    assert_eq!(other.lock().expect("lock").recovery(), &Recovery::default());
    assert_eq!(tree(&root), hand);
}

#[test]
fn replaced_files_are_kept_empty_as_spares_and_reused_and_a_linked_one_is_never_emptied() {
    use std::os::unix::fs::MetadataExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let root = dir.path().join("tenants/acme");
    let ino = |name: &str| fs::metadata(root.join("memory").join(name)).expect("stat").ino();
    let mut entries = vec![entry("a", "first")];
    let commit = |n: u64, entries: &[Entry], changed: &Entry| {
        let lock = tenant.lock().expect("lock");
        let index = tenant.read_file(&TenantFile::MemoryIndex).expect("index");
        let old = tenant.read_file(&TenantFile::Entry(changed.name.clone())).expect("entry");
        let changes = vec![
            FileChange {
                file: TenantFile::Entry(changed.name.clone()),
                before: old,
                after: Some(changed.to_markdown()),
            },
            FileChange { file: TenantFile::MemoryIndex, before: index, after: Some(memory_index(entries)) },
        ];
        tenant
            .commit(&lock, &meta(&format!("job-{n}"), 1_700_000_000_000 + n, &changes), &changes, VERDICTS)
            .expect("commit");
    };
    commit(1, &entries, &entries[0]);
    let (first_index, first_a) = (ino("MEMORY.md"), ino("a.md"));
    // A person keeps a link to `a.md` elsewhere: it is never emptied.
    fs::hard_link(root.join("memory/a.md"), dir.path().join("kept-a.md")).expect("link");
    // A new description: `MEMORY.md` changes too.
    entries[0] = Entry { description: "About a, again".into(), ..entry("a", "second") };
    commit(2, &entries, &entries[0]);
    let spares: Vec<_> = fs::read_dir(root.join("memory"))
        .expect("list")
        .flatten()
        .filter(|item| item.file_name().to_string_lossy().starts_with(".tmp-spare-"))
        .collect();
    assert_eq!(spares.len(), 1, "the old index is parked; the linked entry is not");
    assert_eq!(spares[0].metadata().expect("stat").len(), 0, "parked empty");
    assert_eq!(spares[0].metadata().expect("stat").ino(), first_index);
    assert_eq!(fs::read_to_string(dir.path().join("kept-a.md")).expect("kept"), entry("a", "first").to_markdown());
    assert_ne!(ino("a.md"), first_a);

    entries.push(entry("b", "third"));
    commit(3, &entries, &entries[1]);
    assert!([ino("b.md"), ino("MEMORY.md")].contains(&first_index), "the spare's inode holds a new file");
    assert_eq!(tenant.read_file(&TenantFile::MemoryIndex).expect("index"), Some(memory_index(&entries)));

    // Never more than a few spares a directory.
    for n in 0..(2 * crate::spares::MAX_SPARES as u64) {
        let extra = entry(&format!("x{n}"), "x");
        entries.push(extra.clone());
        commit(10 + n, &entries, &extra);
        let removal = vec![FileChange {
            file: TenantFile::Entry(extra.name.clone()),
            before: Some(extra.to_markdown()),
            after: None,
        }];
        entries.pop();
        let lock = tenant.lock().expect("lock");
        tenant
            .commit(&lock, &meta(&format!("rm-{n}"), 1_800_000_000_000 + n, &removal), &removal, VERDICTS)
            .expect("remove");
    }
    let spares = fs::read_dir(root.join("memory")).expect("list").flatten();
    let spares = spares.filter(|item| item.file_name().to_string_lossy().starts_with(".tmp-spare-")).count();
    assert!(spares <= crate::spares::MAX_SPARES, "{spares} spares");
}

/// `try_lock` answers at once: `None` while another handle holds the lock,
/// and once it is free, the lock with the same recovery `lock` runs.
#[test]
fn try_lock_is_refused_while_held_and_recovers_like_lock() {
    let (dir, tenant, _changes, root) = seeded();
    let other = DataDir::open(dir.path()).expect("open").tenant("acme").expect("tenant");
    let held = other.lock().expect("lock");
    assert!(tenant.try_lock().expect("try").is_none(), "held by the other handle");
    drop(held);

    let staged = root.join("memory/.tmp-commit-left.md");
    fs::write(&staged, "left by a killed commit").expect("write");
    let lock = tenant.try_lock().expect("try").expect("free now");
    assert!(!staged.exists(), "swept, as a lock holder does");
    assert!(lock.recovery().swept.iter().any(|name| name.contains(".tmp-commit-left.md")), "{:?}", lock.recovery());
    assert!(other.try_lock().expect("try").is_none(), "held by this handle");
}
