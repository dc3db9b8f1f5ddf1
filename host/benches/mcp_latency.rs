//! MCP latency (issue 14): `memory_propose` of one change on a 200-entry
//! tenant, over stdio (the real `memwarden mcp`) and over HTTP (the real
//! `memwarden serve`, `/mcp`), p50 and p99 over `MEMWARDEN_BENCH_CALLS`
//! calls (default 1,000) after a warm-up; and `memory_search` on a
//! 2,000-entry tenant, over stdio and in process. Targets: propose p50 ≤
//! 5 ms, search p50 ≤ 2 ms. Clients: the official Rust SDK (rmcp).
//!
//! Each propose updates one of the 200 entries with a new body, so the
//! tenant stays at 200 entries and every call writes (a commit, a
//! snapshot and the job rows); the pack is the default one with the
//! cooldowns relaxed so that a thousand writes in a minute pass.
//!
//! Compare runs a minute or more apart. On ext4 without a journal (this
//! project's VMs) an inode freed in the last minute is skipped, one by
//! one, by every allocation in its block group, and a run's cleanup frees
//! thousands: the next run started at once pays for that scan in every
//! commit (see the store's `spares`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memwarden::mcp::search::SearchIndex;
use memwarden::store::{DataDir, Entry, TenantFile, memory_index};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

const WORDS: &[&str] = &[
    "deploy",
    "migrate",
    "database",
    "cache",
    "queue",
    "worker",
    "retry",
    "timeout",
    "index",
    "schema",
    "backup",
    "restore",
    "release",
    "branch",
    "review",
    "test",
    "flaky",
    "build",
    "docker",
    "image",
    "secret",
    "vault",
    "token",
    "login",
    "user",
    "prefers",
    "tabs",
    "spaces",
    "logs",
    "metrics",
    "alert",
    "oncall",
    "pager",
    "runbook",
    "latency",
    "budget",
    "region",
    "bucket",
    "upload",
    "export",
    "report",
    "weekly",
    "monday",
    "friday",
    "staging",
    "production",
    "rollback",
    "feature",
    "flag",
    "config",
    "python",
    "rust",
    "typescript",
    "lint",
    "format",
    "style",
    "naming",
    "module",
    "crate",
    "package",
    "version",
    "pin",
    "upgrade",
    "security",
    "audit",
    "license",
    "customer",
    "invoice",
    "billing",
    "support",
    "ticket",
    "triage",
    "label",
    "milestone",
    "sprint",
    "planning",
    "estimate",
];

/// A body of `n` pseudo-random words from `seed`: distinct bodies, so no
/// near-duplicate rule fires.
fn body(seed: u64, n: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
    format!("{} (note {seed}).", words.join(" "))
}

fn seed_tenant(data: &Path, tenant: &str, entries: usize) {
    let dir = DataDir::open(data).unwrap().tenant(tenant).unwrap();
    let mut all = Vec::new();
    for i in 0..entries {
        let entry = Entry {
            name: format!("note-{i}"),
            description: format!("Note {i} about {}", WORDS[i % WORDS.len()]),
            entry_type: "project".to_string(),
            body: body(i as u64, 40),
        };
        dir.write_file(&TenantFile::Entry(entry.name.clone()), Some(&entry.to_markdown())).unwrap();
        all.push(entry);
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    dir.write_file(&TenantFile::MemoryIndex, Some(&memory_index(&all))).unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{what:<48} n={:<5} p50 {:>8.3} ms  p99 {:>8.3} ms  mean {:>8.3} ms",
        times.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3
    );
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap()
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &'static str, arguments: Value) -> Value {
    let result = client.call_tool(CallToolRequestParams::new(tool).with_arguments(args(arguments))).await.unwrap();
    assert_ne!(result.is_error, Some(true), "{tool} failed: {result:?}");
    result.structured_content.unwrap_or_default()
}

/// `calls` proposals, each updating one of the 200 entries; returns the times.
async fn proposals(client: &RunningService<RoleClient, ()>, calls: usize, salt: u64) -> Vec<Duration> {
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let change = json!({"op": "update", "name": format!("note-{}", i % 200), "body": body(salt + i as u64, 40)});
        let started = Instant::now();
        let answer = call(client, "memory_propose", json!({"reason": "bench", "changes": [change]})).await;
        times.push(started.elapsed());
        assert_eq!(answer["outcome"], "succeeded", "{answer}");
    }
    times
}

fn memwarden(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memwarden"));
    command.arg("--config").arg(config).env_remove("RUST_LOG");
    command
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("MEMWARDEN_BENCH_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pack = dir.path().join("bench-pack.yaml");
    std::fs::write(
        &pack,
        "extends: default\nmodules:\n  - module: cooldown\n    config: { entry_update_cooldown_ms: 0, max_writes_per_window: 1000000 }\n",
    )
    .unwrap();
    let config = dir.path().join("memwarden.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {}\npack: {}\nllm: {{api_key_env: MEMWARDEN_BENCH_NO_KEY}}\nconsolidation: {{enabled: false}}\nmcp: {{proposals_per_minute: 0}}\nmodule_cache: {}\n",
            data.display(),
            pack.display(),
            dir.path().join("cache").display()
        ),
    )
    .unwrap();
    seed_tenant(&data, "stdio", 200);
    seed_tenant(&data, "http", 200);
    seed_tenant(&data, "search", 2000);
    println!("memory_propose: one update on a 200-entry tenant, default pack (cooldowns relaxed), SQLite job store");

    // stdio: the real `memwarden mcp` as a child process.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_memwarden"));
    command.arg("--config").arg(&config).args(["mcp", "--tenant", "stdio"]).env_remove("RUST_LOG");
    let stdio = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    proposals(&stdio, 20, 1_000_000).await;
    report("memory_propose over stdio", proposals(&stdio, calls, 2_000_000).await);
    stdio.cancel().await.unwrap();

    // HTTP: the real `memwarden serve` with a tenant key.
    let key = memwarden(&config).args(["tenant", "add-key", "http"]).output().unwrap();
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let mut child = memwarden(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-workers"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap().rsplit(' ').next().unwrap().to_string();
    std::thread::spawn(move || for _ in lines {});
    let _serve = Serve(child);
    // reqwest is built without a default TLS provider (plain HTTP here).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp")).auth_header(key),
    );
    let http = ().serve(transport).await.unwrap();
    proposals(&http, 20, 3_000_000).await;
    report("memory_propose over HTTP (/mcp)", proposals(&http, calls, 4_000_000).await);
    http.cancel().await.unwrap();

    // Search: 2,000 entries, one query per word pair, over stdio and in process.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_memwarden"));
    command.arg("--config").arg(&config).args(["mcp", "--tenant", "search"]).env_remove("RUST_LOG");
    let search = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let query = |i: usize| format!("{} {}", WORDS[i % WORDS.len()], WORDS[(i * 7 + 3) % WORDS.len()]);
    // The first query builds the tenant's index; its time is printed apart.
    let started = Instant::now();
    call(&search, "memory_search", json!({"query": query(0)})).await;
    println!(
        "memory_search: first query (builds the index of 2,000 entries): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    // The directory must be older than the settle time for the cache to hold.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    call(&search, "memory_search", json!({"query": query(0)})).await;
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let started = Instant::now();
        let answer = call(&search, "memory_search", json!({"query": query(i)})).await;
        times.push(started.elapsed());
        assert!(answer["count"].as_u64().unwrap_or(0) > 0, "{answer}");
    }
    report("memory_search over stdio, 2,000 entries", times);
    search.cancel().await.unwrap();

    let index = SearchIndex::default();
    let tenant = DataDir::open(&data).unwrap().tenant("search").unwrap();
    index.search(&tenant, &query(0), 10).unwrap();
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let started = Instant::now();
        let hits = index.search(&tenant, &query(i), 10).unwrap();
        times.push(started.elapsed());
        assert!(!hits.is_empty());
    }
    report("memory_search in process, 2,000 entries", times);
}
