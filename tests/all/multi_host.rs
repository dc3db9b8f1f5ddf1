//! Two `memwarden serve` processes on one PostgreSQL database and one data
//! directory: 500 reflections over 20 tenants through the HTTP API, one
//! process killed with SIGKILL midway. Every job ends exactly once, no
//! `index.jsonl` is torn, and every job has its one snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memwarden::jobs::{JobId, JobStore, PgJobStore};
use reqwest::Method;
use serde_json::json;

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, files_under, proposal};
use crate::serve::{Server, call, client, write_config};
use crate::util::postgres::fresh_schema;
use crate::util::temp_dir;

const JOBS: usize = 500;
const TENANTS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_share_the_work_and_survive_a_sigkill() {
    let Some((schema, options)) = fresh_schema().await else { return };
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(|n| {
        proposal(json!([add(
            &format!("fact-{n}"),
            &format!("Fact {n}: service alpha{n} beta{n} gamma{n} delta{n} listens on port {}.", 10_000 + n)
        )]))
    }))]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &schema.url());
    // Both hosts use this one data dir; without saying so, a host on a
    // shared database refuses to start (issue 9, item 3).
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("data_dir_shared: true\n");
    std::fs::write(&config, text).expect("config");
    let mut a = Server::start(&config);
    let b = Server::start(&config);
    let http = client();

    // Enqueue through both hosts, eight requests at a time.
    let bases = [a.url.clone(), b.url.clone()];
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for lane in 0..8 {
        let (http, next, base) = (http.clone(), next.clone(), bases[lane % 2].clone());
        tasks.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= JOBS {
                    return ids;
                }
                let tenant = format!("tenant-{:02}", n % TENANTS);
                let body = json!({"piece": "research", "outcome": "failed", "activity_log": format!("run {n}"),
                                  "idempotency_key": format!("run-{n}")});
                let url = format!("{base}/v1/tenants/{tenant}/reflections");
                let (status, answer) = call(&http, Method::POST, &url, Some(crate::serve::ADMIN_KEY), Some(body)).await;
                assert!(status.is_success(), "{status} {answer}");
                ids.push((tenant, answer["job_id"].as_i64().expect("job id")));
            }
        });
    }
    let mut jobs: Vec<(String, i64)> = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        jobs.extend(ids.expect("enqueuer"));
    }
    assert_eq!(jobs.len(), JOBS);

    // Midway, host A dies without a word.
    let deadline = Instant::now() + Duration::from_secs(120);
    while llm.requests().len() < JOBS / 3 {
        assert!(Instant::now() < deadline, "the hosts never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();

    // Host B finishes everything, taking over A's leases once they expire.
    let store = PgJobStore::open_with(options).await.expect("job store");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut open = 0;
        for (_, id) in &jobs {
            let status = store.job(JobId(*id)).await.expect("query").expect("job");
            if status.outcome.is_none() {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} jobs never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(b);

    // Every job ended once, with one snapshot line in its tenant's index.
    let files = files_under(&dir.path().join("data"));
    let mut taken_over = 0;
    let mut per_tenant: BTreeMap<&str, usize> = BTreeMap::new();
    for (tenant, id) in &jobs {
        let status = store.job(JobId(*id)).await.expect("query").expect("job");
        assert_eq!((status.status.as_str(), status.outcome.as_deref()), ("succeeded", Some("succeeded")), "{status:?}");
        taken_over += usize::from(status.attempts > 1);
        *per_tenant.entry(tenant).or_default() += 1;
        let snapshot = status.snapshot_id.expect("snapshot id");
        assert!(files.contains_key(&format!("tenants/{tenant}/snapshots/{snapshot}.json")), "{snapshot}");
    }
    for (tenant, count) in per_tenant {
        let index = &files[&format!("tenants/{tenant}/snapshots/index.jsonl")];
        let lines: Vec<serde_json::Value> =
            index.lines().map(|line| serde_json::from_str(line).expect("a whole JSON line")).collect();
        assert_eq!(lines.len(), count, "{tenant}: one snapshot per job");
        let mut job_ids: Vec<&str> = lines.iter().map(|line| line["job_id"].as_str().expect("job id")).collect();
        job_ids.sort();
        job_ids.dedup();
        assert_eq!(job_ids.len(), count, "{tenant}: no job snapshotted twice");
    }
    assert!(taken_over > 0, "host A held leases when it died");
    eprintln!("{JOBS} jobs, {taken_over} taken over after SIGKILL, {} LLM requests", llm.requests().len());
}
