//! `memwarden demo`: a temporary data directory and tenant, a handful of
//! bundled runs answered by the scripted LLM, all through the default pack —
//! the whole reflection path, then one consolidation, with nothing to set
//! up.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::config::RawConfig;
use memwarden::jobs::{JobStore, NewReflection, ReflectionPayload};
use memwarden::policy::RunOutcome;
use memwarden::reflection::now_ms;
use serde::Deserialize;

use super::consolidate::print_report as print_consolidation;
use super::jobs::print_report;
use super::printable;

const RUNS: &str = include_str!("demo.yaml");

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files here instead of a new temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    tenant: String,
    runs: Vec<DemoRun>,
    consolidation: DemoConsolidation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoConsolidation {
    title: String,
    answer: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRun {
    title: String,
    piece: String,
    outcome: RunOutcome,
    activity_log: String,
    answer: serde_json::Value,
}

pub(crate) async fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let demo: DemoFile = serde_norway::from_str(RUNS).context("the bundled demo does not parse")?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("memwarden-demo-{}-{}", std::process::id(), now_ms())));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;

    // A real config and script on disk, so the demo's store can be explored
    // with the other commands afterwards.
    let mut responses: Vec<serde_json::Value> = demo.runs.iter().map(|run| run.answer.clone()).collect();
    let mut consolidation_answer = demo.consolidation.answer.clone();
    consolidation_answer["purpose"] = "consolidation".into();
    responses.push(consolidation_answer);
    let script = serde_json::json!({ "responses": responses });
    std::fs::write(dir.join("script.yaml"), serde_norway::to_string(&script)?)
        .context("cannot write the demo script")?;
    let config_text = format!(
        "data_dir: {0}/data\nllm:\n  provider: scripted\n  script: {0}/script.yaml\nworker:\n  max_attempts: 1\n",
        dir.display()
    );
    let config_path = dir.join("memwarden.yaml");
    std::fs::write(&config_path, config_text).context("cannot write the demo config")?;
    let config = RawConfig::load(Some(&config_path))?;
    let reflector = config.resolve().await?;

    println!("memwarden demo: tenant `{}`, default rule pack, scripted LLM\n", demo.tenant);
    for (number, run) in demo.runs.iter().enumerate() {
        println!("── run {} of {}: {} ({}, {:?})", number + 1, demo.runs.len(), run.title, run.piece, run.outcome);
        let job = NewReflection {
            tenant: demo.tenant.clone(),
            payload: ReflectionPayload {
                piece: run.piece.clone(),
                outcome: run.outcome,
                activity_log: run.activity_log.clone(),
                source_run: None,
            },
            idempotency_key: None,
            max_attempts: config.max_attempts(),
        };
        let id = reflector.jobs.enqueue_reflection(&job, now_ms()).await?.id;
        let lease = reflector.settings.lease.as_millis() as u64;
        let claim = reflector
            .jobs
            .claim_id(id, &reflector.settings.worker, lease, now_ms())
            .await?
            .context("the demo job could not be claimed")?;
        let report = reflector.run(claim).await;
        print_report(&report, &config.data_dir);
        println!();
    }

    println!("── consolidation: {}", demo.consolidation.title);
    let report =
        config.consolidator(&reflector).run(&demo.tenant, &|event| println!("{}", printable(&event.to_string()))).await;
    print_consolidation(&report, &config.data_dir);
    println!();

    let tenant = reflector.data.tenant(&demo.tenant)?;
    println!("memory of `{}` now:", demo.tenant);
    for stored in tenant.entries()? {
        let entry = &stored.entry;
        let (name, entry_type) = (printable(&entry.name), printable(&entry.entry_type));
        println!("  {name:<20} {entry_type:<9} {}", printable(&entry.description));
    }
    println!("\nsnapshots: {}", config.data_dir.join("tenants").join(&demo.tenant).join("snapshots").display());
    println!("explore:   memwarden --config {} history {}", config_path.display(), demo.tenant);
    Ok(ExitCode::SUCCESS)
}
