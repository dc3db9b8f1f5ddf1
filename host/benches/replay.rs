//! Replay and verification speed (issue 13): recorded jobs decided again
//! per second, on one thread. Records `MEMWARDEN_BENCH_JOBS` jobs (default
//! 10,000) over 50 tenants through the whole reflection flow (default pack,
//! SQLite, a zero-latency loopback LLM), then times, one after another:
//! a replay under the same pack, a replay under a tightened pack, and a
//! verification on the archived packs.
//!
//! Target: 10,000 jobs in under 10 s on one core. Run with
//! `cargo bench --bench replay`.

mod common;

use std::sync::Arc;
use std::time::Instant;

use memwarden::jobs::{DecisionFilter, DecisionLog, SqliteJobStore};
use memwarden::policy::{HostRules, PackMap, PolicyEngine, RulePack};
use memwarden::reflection::{Reflector, Settings};
use memwarden::replay::{self, ArchivedPacks, Judge};
use memwarden::store::DataDir;

const TENANTS: usize = 50;

fn main() {
    let jobs: usize = std::env::var("MEMWARDEN_BENCH_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|err| panic!("runtime: {err}"));
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
    let engine = PolicyEngine::new().unwrap_or_else(|err| panic!("engine: {err}"));
    let data = DataDir::open(&dir.path().join("data")).unwrap_or_else(|err| panic!("data: {err}"));
    let store = runtime.block_on(async {
        let recording = Instant::now();
        let store = record(&engine, &dir.path().join("jobs.db"), &dir.path().join("data"), jobs).await;
        println!("recorded {jobs} jobs over {TENANTS} tenants in {:.1} s", recording.elapsed().as_secs_f64());
        store
    });

    let read = Instant::now();
    let filter = DecisionFilter { limit: jobs as u32, ..DecisionFilter::default() };
    let decided = runtime.block_on(store.decided_jobs(&filter)).unwrap_or_else(|err| panic!("log: {err}"));
    println!("read {} decided jobs from the job store in {:.2} s", decided.len(), read.elapsed().as_secs_f64());

    println!("{:<34} {:>8} {:>10} {:>10} {:>9}", "", "jobs", "seconds", "jobs/s", "changed");
    let same = PackMap::uniform(RulePack::load(&engine, "default").unwrap_or_else(|err| panic!("pack: {err}")));
    let tight_file = dir.path().join("tight.yaml");
    let tight = "extends: default\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 60 }\n";
    std::fs::write(&tight_file, tight).unwrap_or_else(|err| panic!("pack: {err}"));
    let tight = RulePack::load(&engine, &tight_file.display().to_string()).unwrap_or_else(|err| panic!("pack: {err}"));
    let tight = PackMap::uniform(tight);
    let archive = data.policy_archive().unwrap_or_else(|err| panic!("archive: {err}"));
    let runs: [(&str, Judge<'_>); 3] = [
        ("replay, same pack", Judge::Candidate(&same)),
        ("replay, body limit 60 bytes", Judge::Candidate(&tight)),
        ("verify, archived packs", Judge::Recorded(ArchivedPacks::new(&engine, HostRules::default(), &archive))),
    ];
    for (name, mut judge) in runs {
        let started = Instant::now();
        let report = replay::run(&data, &decided, &mut judge);
        let seconds = started.elapsed().as_secs_f64();
        assert!(report.skipped.is_empty(), "{name}: {:?}", report.skipped.first());
        let changed = report.changes - report.totals.unchanged;
        println!(
            "{name:<34} {:>8} {seconds:>10.2} {:>10.0} {changed:>9}",
            report.replayed,
            report.replayed as f64 / seconds
        );
    }
}

/// Runs `jobs` reflections through the whole flow and returns the store.
async fn record(engine: &PolicyEngine, db: &std::path::Path, data: &std::path::Path, jobs: usize) -> SqliteJobStore {
    let pack = RulePack::load(engine, "default").unwrap_or_else(|err| panic!("pack: {err}"));
    let map = PackMap::uniform(pack);
    let data = DataDir::open(data).unwrap_or_else(|err| panic!("data: {err}"));
    replay::archive_packs(&data, &map).unwrap_or_else(|err| panic!("archive: {err}"));
    let reflector = Arc::new(Reflector {
        jobs: SqliteJobStore::open(&db.display().to_string()).await.unwrap_or_else(|err| panic!("jobs: {err}")),
        data: Arc::new(data),
        packs: Arc::new(map.into()),
        llm: Arc::new(common::loopback_llm().await),
        indexes: Default::default(),
        settings: Settings::default(),
    });
    common::enqueue(&reflector, jobs, TENANTS).await;
    common::drain(&reflector, 2).await;
    reflector.jobs.clone()
}
