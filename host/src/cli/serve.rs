//! `memwarden serve` and `memwarden tenant add-key`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use memwarden::config::RawConfig;
use memwarden::jobs::{AnyJobStore, JobStore, KeyRole};
use memwarden::reflection::now_ms;
use memwarden::serve::{self, Api};

use super::jobs::{concurrency, print_summary, wait_for_signal};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default from the config, 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Reflection jobs run at once by this process's worker.
    #[arg(long, value_parser = concurrency())]
    concurrency: Option<usize>,
    /// Serve the API only; run no worker in this process.
    #[arg(long)]
    no_workers: bool,
}

pub(crate) async fn serve(config: &RawConfig, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let prometheus = serve::install_prometheus().context("cannot install the Prometheus recorder")?;
    let reflector = config.resolve().await?;
    memwarden::packs::reload_on_sighup(reflector.packs.clone());
    if config.packs.watch {
        let period = std::time::Duration::from_secs(config.packs.watch_seconds.max(1));
        memwarden::packs::watch(reflector.packs.clone(), period);
    }
    let consolidator = Arc::new(config.consolidator(&reflector));
    let admin_key = serve::key_from_env(&config.serve.admin_key_env);
    if admin_key.is_none() {
        eprintln!("note: ${} is not set, so only tenant keys are accepted", config.serve.admin_key_env);
    }
    let api = Arc::new(Api {
        reflector: Arc::new(reflector),
        consolidator,
        admin_key_sha256: admin_key.as_deref().map(serve::key_sha256),
        prometheus: Some(prometheus),
        max_attempts: config.max_attempts(),
        consolidation_attempts: config.consolidation.max_attempts.max(1),
        max_body_bytes: config.serve.max_body_bytes,
        shard: config.shard()?,
        gate: config.serve.gate(),
        http: config.serve.http_limits(),
        mcp: config.mcp_settings(),
    });
    let listen = args.listen.clone().unwrap_or_else(|| config.serve.listen.clone());
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on `{listen}`"))?;
    let workers = (config.serve.workers && !args.no_workers).then(|| config.worker_options(args.concurrency, false));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("stopping: finishing the requests and jobs in flight");
        let _ = stop_tx.send(true);
    });
    // The first line names the bound address (useful with port 0).
    println!("memwarden serve: listening on http://{}", listener.local_addr()?);
    serve::run(api, listener, workers, stop_rx, Arc::new(print_summary)).await.context("the server failed")?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Create an API key for a tenant; it is printed once and stored hashed.
    AddKey(super::With<super::StoreArgs, AddKeyArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct AddKeyArgs {
    /// The tenant.
    tenant: String,
    /// A note on what the key is for (a reviewer key's label names the
    /// reviewer in the records).
    #[arg(long)]
    label: Option<String>,
    /// `agent` (enqueue and read; the default) or `reviewer` (also approve
    /// and deny held changes).
    #[arg(long, default_value = "agent", value_parser = ["agent", "reviewer"])]
    role: String,
}

pub(crate) async fn add_key(config: &RawConfig, args: &AddKeyArgs) -> anyhow::Result<ExitCode> {
    memwarden::store::safe_name_of("tenant", &args.tenant)?;
    let jobs = AnyJobStore::open(&config.database_url()).await.context("cannot open the job store")?;
    let key = serve::new_key();
    let role = KeyRole::parse(&args.role).unwrap_or(KeyRole::Agent);
    jobs.add_api_key(&args.tenant, &serve::key_sha256(&key), role, args.label.as_deref(), now_ms()).await?;
    eprintln!("{} API key for `{}` (shown once; only its hash is stored):", role.as_str(), args.tenant);
    println!("{key}");
    Ok(ExitCode::SUCCESS)
}
