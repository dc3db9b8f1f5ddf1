//! Command-line arguments and dispatch. Each subcommand lives in its own
//! file; this one owns the argument types, the error-to-code mapping and
//! the shared engine setup.

mod cases;
mod consolidate;
mod demo;
mod doctor;
mod history;
mod jobs;
mod policy;
mod scaffold;
mod score;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use memwarden::policy::{LoadError, PackError, PolicyEngine, ProposalError, SandboxLimits};

/// memwarden: safe self-improvement for LLM agents.
#[derive(Debug, Parser)]
#[command(name = "memwarden", version, about, long_about = None)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
    /// Configuration file (YAML); environment variables override it.
    #[arg(long, global = true, env = "MEMWARDEN_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (overrides the config).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// The job store URL, e.g. `sqlite://jobs.db` (overrides the config).
    #[arg(long, global = true)]
    db: Option<String>,
    /// Where compiled policy modules are cached between runs.
    #[arg(long, global = true, env = "MEMWARDEN_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-module cache.
    #[arg(long, global = true)]
    no_cache: bool,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole reflection path on bundled examples (temporary store,
    /// scripted LLM, default pack).
    Demo(demo::DemoArgs),
    /// Queue a job.
    #[command(subcommand)]
    Enqueue(jobs::EnqueueCommand),
    /// Reflect on one run now, in the foreground, and print the decisions.
    Reflect(jobs::RunArgs),
    /// List the snapshots of a tenant, with verdict counts.
    History(history::HistoryArgs),
    /// Show one snapshot: its decisions and the diff of every file.
    Show(history::ShowArgs),
    /// Restore a tenant's memory and pieces to their state before a snapshot.
    Rollback(history::RollbackArgs),
    /// Find the files that fail a tenant's jobs; `--fix` moves them aside.
    Doctor(doctor::DoctorArgs),
    /// Consolidate one tenant's memory now, in the foreground.
    Consolidate(consolidate::ConsolidateArgs),
    /// Claim and run queued jobs until stopped (SIGINT/SIGTERM finish the
    /// jobs in flight first).
    Worker(jobs::WorkerArgs),
    /// Serve the HTTP API, with a worker beside it, until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Manage tenants' API keys.
    #[command(subcommand)]
    Tenant(serve::TenantCommand),
    /// Evaluate, test, inspect and scaffold policy modules.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Print the verdict of a rule pack on every change of a proposal.
    Eval(policy::EvalArgs),
    /// Run table-driven cases against compiled modules.
    Test(cases::TestArgs),
    /// Describe a component and say whether it would load.
    Inspect(policy::InspectArgs),
    /// Scaffold a new policy crate that builds and passes its own cases.
    New(scaffold::NewArgs),
    /// Build a policy crate into a component (cargo + componentize).
    Build(scaffold::BuildArgs),
    /// List every rejection code: the host's and those of the built-in modules.
    Codes,
    /// Run a labelled corpus through a pack and report how well it judges it.
    Score(score::ScoreArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum Format {
    #[default]
    Table,
    Json,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = || engine(&args);
    let config = || -> anyhow::Result<memwarden::config::RawConfig> {
        let mut config = memwarden::config::RawConfig::load(args.config.as_deref())?;
        if let Some(dir) = &args.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(db) = &args.db {
            config.database = Some(db.clone());
        }
        if let Some(cache) = &args.cache_dir {
            config.module_cache = Some(cache.clone());
        }
        Ok(config)
    };
    let runtime =
        || tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime");
    match &args.command {
        Command::Demo(demo) => runtime()?.block_on(demo::demo(demo)),
        Command::Enqueue(enqueue) => runtime()?.block_on(jobs::enqueue(&config()?, enqueue)),
        Command::Reflect(run) => runtime()?.block_on(jobs::reflect(&config()?, run)),
        Command::Doctor(args) => runtime()?.block_on(doctor::doctor(&config()?, args)),
        Command::Consolidate(args) => runtime()?.block_on(consolidate::consolidate(&config()?, args)),
        Command::Worker(worker) => runtime()?.block_on(jobs::worker(&config()?, worker)),
        Command::Serve(args) => runtime()?.block_on(serve::serve(&config()?, args)),
        Command::Tenant(tenant) => runtime()?.block_on(serve::tenant(&config()?, tenant)),
        Command::History(history) => history::history(&config()?, history),
        Command::Show(show) => history::show(&config()?, show),
        Command::Rollback(rollback) => runtime()?.block_on(history::rollback(&config()?, rollback)),
        Command::Policy(PolicyCommand::Eval(eval)) => policy::eval(&engine()?, eval),
        Command::Policy(PolicyCommand::Test(test)) => cases::test(&engine()?, test),
        Command::Policy(PolicyCommand::Inspect(inspect)) => policy::inspect(&engine()?, inspect),
        Command::Policy(PolicyCommand::New(new)) => scaffold::new(new),
        Command::Policy(PolicyCommand::Build(build)) => scaffold::build(&engine()?, build),
        Command::Policy(PolicyCommand::Codes) => policy::codes(&engine()?),
        Command::Policy(PolicyCommand::Score(args)) => score::score(&engine()?, args),
    }
}

fn engine(args: &Args) -> anyhow::Result<PolicyEngine> {
    let cache_dir = match (&args.cache_dir, args.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => default_cache_dir(),
    };
    PolicyEngine::with_options(SandboxLimits::default(), cache_dir.as_deref()).context("cannot start the policy engine")
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("memwarden").join("modules"))
}

pub(crate) fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

/// The error chain on one line, causes joined by `: `.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

/// The stable code of the first typed error in the chain.
pub(crate) fn error_code(err: &anyhow::Error) -> &'static str {
    err.chain()
        .find_map(|cause| {
            cause
                .downcast_ref::<PackError>()
                .map(PackError::code)
                .or_else(|| cause.downcast_ref::<LoadError>().map(LoadError::code))
                .or_else(|| cause.downcast_ref::<ProposalError>().map(|_| ProposalError::CODE))
                .or_else(|| cause.downcast_ref::<cases::CasesError>().map(|_| "cases_invalid"))
                .or_else(|| cause.downcast_ref::<score::CorpusError>().map(|_| "corpus_invalid"))
                .or_else(|| {
                    cause.downcast_ref::<memwarden::store::StoreError>().map(memwarden::store::StoreError::code)
                })
                .or_else(|| {
                    cause.downcast_ref::<memwarden::jobs::JobStoreError>().map(memwarden::jobs::JobStoreError::code)
                })
                .or_else(|| cause.downcast_ref::<memwarden::llm::LlmError>().map(memwarden::llm::LlmError::code))
                .or_else(|| cause.downcast_ref::<std::io::Error>().map(|_| "io_error"))
        })
        .unwrap_or("error")
}

/// `text` with its control and invisible characters escaped (`\u{1b}`),
/// for printing text that came from an LLM or a corpus to a terminal.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| if unsafe_char(c) { c.escape_unicode().to_string() } else { c.to_string() })
        .collect::<String>()
        .into()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
