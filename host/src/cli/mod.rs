//! Command-line arguments and dispatch. Each subcommand lives in its own
//! file; this one owns the top-level argument types, the flag groups the
//! subcommands share (store, module cache), the error-to-code mapping and
//! the shared engine setup. Read [`run`] first.

mod bench;
mod cases;
mod consolidate;
mod demo;
mod doctor;
mod history;
mod jobs;
mod mcp;
mod pack;
mod policy;
mod replay;
mod review;
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
#[command(after_help = "The store and cache flags may also follow the subcommand that uses them \
(`memwarden history --data-dir D T`); there they win.")]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
    /// Configuration file (YAML); environment variables override it.
    #[arg(long, env = "MEMWARDEN_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (overrides the config).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The job store URL, e.g. `sqlite://jobs.db` (overrides the config).
    #[arg(long)]
    db: Option<String>,
    /// Where compiled policy modules are cached between runs.
    #[arg(long, env = "MEMWARDEN_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-module cache.
    #[arg(long)]
    no_cache: bool,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

// Each subcommand declares the flags it uses, so that its `--help` shows
// only those (issue 11): a subcommand's own arguments come with one of the
// flag groups below through `With`. The environment variables are read by
// the top-level flags alone, so that a flag after the subcommand beats a
// flag before it, and both beat the environment.

/// A subcommand's own arguments `T` plus the flag group `F` it takes.
#[derive(Debug, clap::Args)]
pub(crate) struct With<F: clap::Args, T: clap::Args> {
    #[command(flatten)]
    args: T,
    #[command(flatten)]
    flags: F,
}

/// Where the job store and the tenants' files are.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// Configuration file (YAML; default `$MEMWARDEN_CONFIG`); environment
    /// variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory (overrides the config).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The job store URL, e.g. `sqlite://jobs.db` (overrides the config).
    #[arg(long)]
    db: Option<String>,
}

/// The store, for the commands that also run the rule packs.
#[derive(Debug, clap::Args)]
pub(crate) struct RunnerArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Where compiled policy modules are cached (default
    /// `$MEMWARDEN_CACHE_DIR`, else the config's `module_cache`).
    #[arg(long, help_heading = "Store")]
    cache_dir: Option<PathBuf>,
}

/// The compiled-module cache of the `policy` commands.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Module cache")]
pub(crate) struct CacheArgs {
    /// Where compiled policy modules are cached between runs (default
    /// `$MEMWARDEN_CACHE_DIR`, else `~/.cache/memwarden/modules`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-module cache.
    #[arg(long)]
    no_cache: bool,
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
    Reflect(With<RunnerArgs, jobs::RunArgs>),
    /// List the snapshots of a tenant, with verdict counts.
    History(With<StoreArgs, history::HistoryArgs>),
    /// Show one snapshot: its decisions and the diff of every file.
    Show(With<StoreArgs, history::ShowArgs>),
    /// Every version of one entry, newest first, with where it came from.
    Log(With<StoreArgs, history::LogArgs>),
    /// Restore a tenant's memory and pieces to their state before a snapshot.
    Rollback(With<StoreArgs, history::RollbackArgs>),
    /// Find the files that fail a tenant's jobs; `--fix` moves them aside.
    Doctor(With<StoreArgs, doctor::DoctorArgs>),
    /// Consolidate one tenant's memory now, in the foreground.
    Consolidate(With<RunnerArgs, consolidate::ConsolidateArgs>),
    /// Claim and run queued jobs until stopped (SIGINT/SIGTERM finish the
    /// jobs in flight first).
    Worker(With<RunnerArgs, jobs::WorkerArgs>),
    /// Serve the HTTP API, with a worker beside it, until SIGINT/SIGTERM.
    Serve(With<RunnerArgs, serve::ServeArgs>),
    /// Serve one tenant's memory to a local agent over MCP (stdio).
    Mcp(With<RunnerArgs, mcp::McpArgs>),
    /// Manage tenants' API keys.
    #[command(subcommand)]
    Tenant(serve::TenantCommand),
    /// Take back every entry version one agent run produced, through the
    /// pack, as one snapshot.
    Forget(With<RunnerArgs, review::ForgetArgs>),
    /// Make an entry a merge superseded live again, as it was.
    Unmerge(With<RunnerArgs, review::UnmergeArgs>),
    /// The changes policies held for a person: list, show, approve, deny.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Evaluate, test, inspect and scaffold policy modules.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Sign rule packs: make a key pair, sign a pack.
    #[command(subcommand)]
    Pack(PackCommand),
}

#[derive(Debug, Subcommand)]
enum PackCommand {
    /// Make a signing key pair: `PREFIX.key` (secret) and `PREFIX.pub`.
    Keygen(pack::KeygenArgs),
    /// Sign a pack, its parents and its modules: writes `<pack>.sig`.
    Sign(pack::SignArgs),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Print the verdict of a rule pack on every change of a proposal.
    Eval(With<CacheArgs, policy::EvalArgs>),
    /// Run table-driven cases against compiled modules.
    Test(With<CacheArgs, cases::TestArgs>),
    /// Describe a component and say whether it would load.
    Inspect(With<CacheArgs, policy::InspectArgs>),
    /// Scaffold a new policy crate that builds and passes its own cases.
    New(scaffold::NewArgs),
    /// Build a policy crate into a component (cargo + componentize).
    Build(With<CacheArgs, scaffold::BuildArgs>),
    /// List every rejection code: the host's and those of the built-in modules.
    Codes(CacheArgs),
    /// Run a labelled corpus through a pack and report how well it judges it.
    Score(With<CacheArgs, score::ScoreArgs>),
    /// Time a pack on one proposal: per evaluation and per module, with fuel.
    Bench(With<CacheArgs, bench::BenchArgs>),
    /// Decide recorded proposals again under a candidate pack and show what
    /// would change. Reads only.
    Replay(With<RunnerArgs, replay::ReplayArgs>),
    /// Decide recorded proposals again under the packs that decided them
    /// (from the policy archive) and report any verdict that differs.
    Verify(With<RunnerArgs, replay::VerifyArgs>),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum Format {
    #[default]
    Table,
    Json,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime =
        || tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime");
    match &args.command {
        Command::Demo(demo) => runtime()?.block_on(demo::demo(demo)),
        Command::Enqueue(jobs::EnqueueCommand::Reflection(run)) => {
            runtime()?.block_on(jobs::enqueue(&args.host_config(&run.flags, None)?, &run.args))
        }
        Command::Reflect(run) => runtime()?.block_on(jobs::reflect(&args.runner_config(&run.flags)?, &run.args)),
        Command::Doctor(cmd) => runtime()?.block_on(doctor::doctor(&args.host_config(&cmd.flags, None)?, &cmd.args)),
        Command::Consolidate(cmd) => {
            runtime()?.block_on(consolidate::consolidate(&args.runner_config(&cmd.flags)?, &cmd.args))
        }
        Command::Worker(cmd) => runtime()?.block_on(jobs::worker(&args.runner_config(&cmd.flags)?, &cmd.args)),
        Command::Serve(cmd) => runtime()?.block_on(serve::serve(&args.runner_config(&cmd.flags)?, &cmd.args)),
        Command::Mcp(cmd) => runtime()?.block_on(mcp::mcp(&args.runner_config(&cmd.flags)?, &cmd.args)),
        Command::Tenant(serve::TenantCommand::AddKey(cmd)) => {
            runtime()?.block_on(serve::add_key(&args.host_config(&cmd.flags, None)?, &cmd.args))
        }
        Command::Forget(cmd) => runtime()?.block_on(review::forget(&args.runner_config(&cmd.flags)?, &cmd.args)),
        Command::Unmerge(cmd) => runtime()?.block_on(review::unmerge(&args.runner_config(&cmd.flags)?, &cmd.args)),
        Command::Review(command) => {
            let flags = match command {
                review::ReviewCommand::List(cmd) => &cmd.flags,
                review::ReviewCommand::Show(cmd) => &cmd.flags,
                review::ReviewCommand::Approve(cmd) | review::ReviewCommand::Deny(cmd) => &cmd.flags,
            };
            runtime()?.block_on(review::run(&args.runner_config(flags)?, command))
        }
        Command::History(cmd) => history::history(&args.host_config(&cmd.flags, None)?, &cmd.args),
        Command::Show(cmd) => history::show(&args.host_config(&cmd.flags, None)?, &cmd.args),
        Command::Log(cmd) => history::log(&args.host_config(&cmd.flags, None)?, &cmd.args),
        Command::Rollback(cmd) => {
            runtime()?.block_on(history::rollback(&args.host_config(&cmd.flags, None)?, &cmd.args))
        }
        Command::Policy(PolicyCommand::Eval(cmd)) => policy::eval(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::Test(cmd)) => cases::test(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::Inspect(cmd)) => policy::inspect(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::New(new)) => scaffold::new(new),
        Command::Policy(PolicyCommand::Build(cmd)) => scaffold::build(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::Codes(cache)) => policy::codes(&args.engine(cache)?),
        Command::Policy(PolicyCommand::Score(cmd)) => score::score(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::Bench(cmd)) => bench::bench(&args.engine(&cmd.flags)?, &cmd.args),
        Command::Policy(PolicyCommand::Replay(cmd)) => {
            runtime()?.block_on(replay::replay(&args.runner_config(&cmd.flags)?, &cmd.args))
        }
        Command::Policy(PolicyCommand::Verify(cmd)) => {
            runtime()?.block_on(replay::verify(&args.runner_config(&cmd.flags)?, &cmd.args))
        }
        Command::Pack(PackCommand::Keygen(keygen)) => pack::keygen(keygen),
        Command::Pack(PackCommand::Sign(sign)) => pack::sign(sign),
    }
}

impl Args {
    /// The host config: the file, then the flags, those after the
    /// subcommand (`store`, `cache_dir`) before those ahead of it.
    fn host_config(
        &self,
        store: &StoreArgs,
        cache_dir: Option<&PathBuf>,
    ) -> anyhow::Result<memwarden::config::RawConfig> {
        let mut config =
            memwarden::config::RawConfig::load(store.config.as_ref().or(self.config.as_ref()).map(PathBuf::as_path))?;
        if let Some(dir) = store.data_dir.as_ref().or(self.data_dir.as_ref()) {
            config.data_dir = dir.clone();
        }
        if let Some(db) = store.db.as_ref().or(self.db.as_ref()) {
            config.database = Some(db.clone());
        }
        if let Some(cache) = cache_dir.or(self.cache_dir.as_ref()) {
            config.module_cache = Some(cache.clone());
        }
        Ok(config)
    }

    fn runner_config(&self, runner: &RunnerArgs) -> anyhow::Result<memwarden::config::RawConfig> {
        self.host_config(&runner.store, runner.cache_dir.as_ref())
    }

    /// The policy engine of the `policy` commands, with its module cache.
    fn engine(&self, cache: &CacheArgs) -> anyhow::Result<PolicyEngine> {
        let cache_dir = match (cache.cache_dir.as_ref().or(self.cache_dir.as_ref()), cache.no_cache || self.no_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(dir.clone()),
            (None, false) => default_cache_dir(),
        };
        PolicyEngine::with_options(SandboxLimits::default(), cache_dir.as_deref())
            .context("cannot start the policy engine")
    }
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
