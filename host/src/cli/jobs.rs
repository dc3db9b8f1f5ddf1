//! `memwarden enqueue`, `reflect` and `worker`. What a job reports may hold
//! LLM text; it is printed through [`printable`] (issue 9).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use memwarden::config::RawConfig;
use memwarden::jobs::{AnyJobStore, IdempotencyKey, IdempotencyKeyError, JobStore, NewReflection, ReflectionPayload};
use memwarden::policy::RunOutcome;
use memwarden::reflection::{self, Report, ReportOutcome, now_ms};
use memwarden::worker::{self, Finished};

use super::policy::print_table;
use super::printable;

#[derive(Debug, Subcommand)]
pub(crate) enum EnqueueCommand {
    /// Queue a reflection on one finished agent run.
    Reflection(super::With<super::StoreArgs, RunArgs>),
}

/// An agent run to reflect on.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The piece the agent ran.
    #[arg(long)]
    piece: String,
    /// How the run ended.
    #[arg(long, value_enum)]
    outcome: Outcome,
    /// The run's activity log (a file; `-` for standard input).
    #[arg(long)]
    activity_log: PathBuf,
    /// A retried enqueue with the same key adds no second job (1 to 256
    /// bytes, scoped to the tenant, as the API scopes it).
    #[arg(long, value_parser = idempotency_key)]
    idempotency_key: Option<String>,
    /// The agent platform's id of the run, kept with every entry version
    /// the job writes (`memwarden log`).
    #[arg(long, value_parser = source_run)]
    source_run: Option<String>,
}

/// Refuses an empty, overlong or unprintable run id while parsing.
fn source_run(run: &str) -> Result<String, String> {
    match memwarden::jobs::source_run_problem(run) {
        Some(problem) => Err(problem),
        None => Ok(run.to_string()),
    }
}

/// Refuses an empty or overlong key while parsing, as the API does.
fn idempotency_key(key: &str) -> Result<String, IdempotencyKeyError> {
    IdempotencyKey::check(key).map(|()| key.to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Outcome {
    Succeeded,
    Failed,
    Aborted,
}

impl RunArgs {
    fn job(&self, config: &RawConfig) -> anyhow::Result<NewReflection> {
        let activity_log = match self.activity_log.to_str() {
            Some("-") => {
                std::io::read_to_string(std::io::stdin()).context("cannot read the activity log from standard input")?
            }
            _ => std::fs::read_to_string(&self.activity_log)
                .with_context(|| format!("cannot read activity log `{}`", self.activity_log.display()))?,
        };
        let outcome = match self.outcome {
            Outcome::Succeeded => RunOutcome::Succeeded,
            Outcome::Failed => RunOutcome::Failed,
            Outcome::Aborted => RunOutcome::Aborted,
        };
        memwarden::store::safe_name_of("tenant", &self.tenant)?;
        let payload =
            ReflectionPayload { piece: self.piece.clone(), outcome, activity_log, source_run: self.source_run.clone() };
        let (max_attempts, log_max_bytes) = (config.max_attempts(), config.reflection.activity_log_max_bytes);
        Ok(reflection::request(&self.tenant, payload, self.idempotency_key.as_deref(), max_attempts, log_max_bytes)?)
    }
}

pub(crate) async fn enqueue(config: &RawConfig, run: &RunArgs) -> anyhow::Result<ExitCode> {
    let jobs = AnyJobStore::open(&config.database_url()).await.context("cannot open the job store")?;
    let enqueued = jobs.enqueue_reflection(&run.job(config)?, now_ms()).await?;
    match enqueued.created {
        true => println!("queued {}", enqueued.id),
        false => println!("already queued as {} (same idempotency key)", enqueued.id),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn reflect(config: &RawConfig, run: &RunArgs) -> anyhow::Result<ExitCode> {
    let reflector = config.resolve().await?;
    let enqueued = reflector.jobs.enqueue_reflection(&run.job(config)?, now_ms()).await?;
    let lease = reflector.settings.lease.as_millis() as u64;
    let claim = reflector
        .jobs
        .claim_id(enqueued.id, &reflector.settings.worker, lease, now_ms())
        .await?
        .with_context(|| format!("{} is already running or finished", enqueued.id))?;
    eprintln!("reflecting on {} for tenant `{}`…", enqueued.id, run.tenant);
    let report = reflector.run(claim).await;
    print_report(&report, &config.data_dir);
    Ok(match report.outcome {
        ReportOutcome::Failed { .. } | ReportOutcome::LostOwnership => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// The decision table and the outcome of one job.
pub(crate) fn print_report(report: &Report, data_dir: &std::path::Path) {
    if let Some(recorded) = &report.recorded {
        let mut out = std::io::stdout().lock();
        let _ = print_table(&mut out, &recorded.decision);
        for skipped in &recorded.plan.skipped {
            let (name, message, code) = (&skipped.name, &skipped.message, &skipped.code);
            println!("skipped {}: {} ({})", printable(name), printable(message), printable(code));
        }
    }
    let line = match &report.outcome {
        ReportOutcome::Succeeded => {
            let applied = report.recorded.as_ref().map_or(0, |r| r.plan.memory_applied);
            let piece = report.recorded.as_ref().is_some_and(|r| r.plan.piece_edited);
            format!("succeeded: {applied} memory changes applied{}", if piece { ", piece edited" } else { "" })
        }
        ReportOutcome::Abstained => "abstained: nothing applied".to_string(),
        ReportOutcome::Held { reviews } => {
            let applied = report.recorded.as_ref().map_or(0, |r| r.plan.memory_applied);
            format!(
                "held: {reviews} changes wait for review (`memwarden review list`), {applied} memory changes applied"
            )
        }
        ReportOutcome::Failed { code, message, retrying } => {
            format!("failed [{code}]: {message}{}", if *retrying { " (will be retried)" } else { "" })
        }
        ReportOutcome::LostOwnership => "lost ownership: another worker took the job over".to_string(),
    };
    println!("{} ({} ms): {}", report.job, report.elapsed.as_millis(), printable(&line));
    if let Some(id) = &report.snapshot_id {
        let path = data_dir.join("tenants").join(&report.tenant).join("snapshots").join(format!("{id}.json"));
        println!("snapshot {}", printable(&path.display().to_string()));
    }
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Jobs run at once (default from the config).
    #[arg(long, value_parser = concurrency())]
    concurrency: Option<usize>,
    /// Exit when the queue is empty instead of waiting for more.
    #[arg(long)]
    drain: bool,
}

/// `--concurrency`: the range `worker.concurrency` accepts (issue 9).
pub(crate) fn concurrency() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=memwarden::config::limits::CONCURRENCY_MAX)
}

pub(crate) async fn worker(config: &RawConfig, args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    let reflector = config.resolve().await?;
    memwarden::packs::reload_on_sighup(reflector.packs.clone());
    if config.packs.watch {
        let period = std::time::Duration::from_secs(config.packs.watch_seconds.max(1));
        memwarden::packs::watch(reflector.packs.clone(), period);
    }
    let consolidator = Arc::new(config.consolidator(&reflector));
    let reflector = Arc::new(reflector);
    let options = config.worker_options(args.concurrency, args.drain);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("stopping: finishing the jobs in flight");
        let _ = stop_tx.send(true);
    });
    eprintln!("worker {} running {} at a time; Ctrl-C stops", reflector.settings.worker, options.concurrency);
    worker::run(reflector, consolidator, options, stop_rx, Arc::new(print_summary)).await;
    Ok(ExitCode::SUCCESS)
}

/// One line per finished job.
pub(crate) fn print_summary(finished: Finished<'_>) {
    let report = match finished {
        Finished::Reflection(report) => report,
        Finished::Consolidation(report) => {
            let applied = report.recorded.as_ref().map_or(0, |r| r.plan.memory_applied);
            let (tenant, status, ms) = (&report.tenant, report.status.label(), report.elapsed.as_millis());
            println!("consolidation {}: {}, {applied} changes, {ms} ms", printable(tenant), printable(&status));
            return;
        }
    };
    let detail = match &report.outcome {
        ReportOutcome::Failed { code, retrying, .. } => {
            format!("failed [{}]{}", printable(code), if *retrying { ", will retry" } else { "" })
        }
        other => other.as_str().to_string(),
    };
    let changes = report.recorded.as_ref().map_or(0, |r| r.plan.changes.len());
    let (job, tenant, ms) = (report.job, printable(&report.tenant), report.elapsed.as_millis());
    println!("{job} {tenant}: {detail}, {changes} files, {ms} ms");
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return ctrl_c.await.unwrap_or_default(),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
