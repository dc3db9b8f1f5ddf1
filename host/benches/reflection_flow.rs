//! Reflection throughput: jobs per second through the whole flow — claim,
//! load, prompt, LLM over HTTP, parse, default pack, plan, record, apply,
//! snapshot, metrics row — against a zero-latency loopback LLM, with SQLite
//! and a real data directory; and the pipeline's own overhead per job (wall
//! time minus the LLM's), p50 and p99.
//!
//! Then the tenant store's share of a job alone: one commit of a job's
//! change set (a new entry and `MEMORY.md`) with its snapshot, p50 and p99,
//! and the inodes a commit adds to the tenant directory (issue 12, 6).
//!
//! Targets: ≥ 500 jobs/s, ≤ 2 ms p50 overhead. Run with
//! `cargo bench --bench reflection_flow`.
//!
//! Compare runs a minute or more apart. On ext4 without a journal (this
//! project's VMs) an inode freed in the last minute is skipped, one by
//! one, by every allocation in its block group, and a run's cleanup frees
//! thousands: the next run started at once pays for that scan in every
//! commit (see the store's `spares`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use memwarden::jobs::SqliteJobStore;
use memwarden::policy::{PackMap, PolicyEngine, RulePack};
use memwarden::reflection::{Reflector, Report, ReportOutcome, Settings};
use memwarden::store::{
    DataDir, Entry, FileChange, SnapshotMeta, TenantFile, VerdictCounts, memory_index, snapshot_id,
};
use serde_json::json;

// 40 jobs per tenant: under the default write rate (60 per hour), so every
// job applies its change.
const TENANTS: usize = 25;
const JOBS: usize = 1000;

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|err| panic!("runtime: {err}"));
    runtime.block_on(async {
        println!("reflection flow: {JOBS} jobs over {TENANTS} tenants, default pack, SQLite, zero-latency loopback LLM, {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));
        println!("{:<26} {:>9} {:>13} {:>13} {:>12}", "", "jobs/s", "overhead p50", "overhead p99", "LLM p50");
        // `MEMWARDEN_BENCH_CONCURRENCY=1` runs one level alone, for runs
        // compared back to back on a noisy disk.
        let levels: Vec<usize> = std::env::var("MEMWARDEN_BENCH_CONCURRENCY")
            .map(|list| list.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|_| vec![1, 4, 16]);
        // Removed only after the commits below are timed: removing them
        // frees thousands of inodes (see above).
        let mut kept = Vec::new();
        for concurrency in levels {
            let (jobs_per_second, reports, dir) = run(concurrency).await;
            kept.push(dir);
            let mut overhead: Vec<Duration> = reports.iter().map(|r| r.elapsed.saturating_sub(r.llm_elapsed)).collect();
            let mut llm: Vec<Duration> = reports.iter().map(|r| r.llm_elapsed).collect();
            overhead.sort();
            llm.sort();
            let at = |v: &[Duration], q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
            let ok = reports.iter().filter(|r| r.outcome == ReportOutcome::Succeeded).count();
            assert_eq!(ok, JOBS, "every job succeeds");
            println!(
                "{:<26} {:>9.0} {:>10.2} ms {:>10.2} ms {:>9.2} ms",
                format!("concurrency {concurrency}"),
                jobs_per_second,
                at(&overhead, 0.5).as_secs_f64() * 1e3,
                at(&overhead, 0.99).as_secs_f64() * 1e3,
                at(&llm, 0.5).as_secs_f64() * 1e3
            );
        }
        commit_only();
    });
}

/// Commits like a job's, one after another on one tenant, timed alone.
fn commit_only() {
    const COMMITS: usize = 400;
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
    let data = DataDir::open(dir.path()).unwrap_or_else(|err| panic!("data: {err}"));
    let tenant = data.tenant("bench").unwrap_or_else(|err| panic!("tenant: {err}"));
    let inodes = || {
        let mut count = 0;
        let mut stack = vec![dir.path().join("tenants/bench")];
        while let Some(path) = stack.pop() {
            for item in std::fs::read_dir(&path).unwrap_or_else(|err| panic!("list: {err}")).flatten() {
                count += 1;
                if item.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(item.path());
                }
            }
        }
        count
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut index = None;
    let mut times = Vec::with_capacity(COMMITS);
    let start_inodes = inodes();
    for n in 0..COMMITS {
        let entry = Entry {
            name: format!("fact-{n}"),
            description: format!("Fact {n}"),
            entry_type: "project".into(),
            body: format!("Service {n} listens on port {} and logs to /var/log/svc{n}.", 8000 + n),
        };
        entries.push(entry.clone());
        let after = memory_index(&entries);
        let changes = vec![
            FileChange { file: TenantFile::Entry(entry.name.clone()), before: None, after: Some(entry.to_markdown()) },
            FileChange { file: TenantFile::MemoryIndex, before: index.replace(after.clone()), after: Some(after) },
        ];
        let at_ms = 1_700_000_000_000 + n as u64;
        let meta = SnapshotMeta {
            id: snapshot_id(at_ms, &format!("job-{n}")),
            tenant: "bench".into(),
            job_id: format!("job-{n}"),
            kind: "reflection".into(),
            created_at_ms: at_ms,
            reasoning: "the run found a fact".into(),
            model: Some("loopback".into()),
            tokens_in: 900,
            tokens_out: 80,
            decision: Some(json!({"memory": [{"op": "add", "name": entry.name, "rejections": []}]})),
            files: changes.iter().map(|c| c.file.clone()).collect(),
            raw_llm_output: None,
            restores: None,
            source_run: None,
            reviewer: None,
        };
        let lock = tenant.lock().unwrap_or_else(|err| panic!("lock: {err}"));
        let started = Instant::now();
        tenant
            .commit(&lock, &meta, &changes, VerdictCounts { accepted: 1, rejected: 0, held: 0 })
            .unwrap_or_else(|err| panic!("commit: {err}"));
        times.push(started.elapsed());
    }
    let added = (inodes() - start_inodes) as f64 / COMMITS as f64;
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{:<26} {:>9.0} {:>10.2} ms {:>10.2} ms   {added:.1} files a commit leaves",
        "store commit alone",
        COMMITS as f64 / times.iter().map(Duration::as_secs_f64).sum::<f64>(),
        at(0.5),
        at(0.99)
    );
}

async fn run(concurrency: usize) -> (f64, Vec<Report>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
    let engine = PolicyEngine::new().unwrap_or_else(|err| panic!("engine: {err}"));
    let pack = RulePack::load(&engine, "default").unwrap_or_else(|err| panic!("pack: {err}"));
    let reflector = Arc::new(Reflector {
        jobs: SqliteJobStore::open(&dir.path().join("jobs.db").display().to_string())
            .await
            .unwrap_or_else(|err| panic!("jobs: {err}")),
        data: Arc::new(DataDir::open(&dir.path().join("data")).unwrap_or_else(|err| panic!("data: {err}"))),
        packs: Arc::new(PackMap::uniform(pack).into()),
        llm: Arc::new(common::loopback_llm().await),
        indexes: Default::default(),
        settings: Settings::default(),
    });
    common::enqueue(&reflector, JOBS, TENANTS).await;
    let started = Instant::now();
    let reports = common::drain(&reflector, concurrency).await;
    (JOBS as f64 / started.elapsed().as_secs_f64(), reports, dir)
}
