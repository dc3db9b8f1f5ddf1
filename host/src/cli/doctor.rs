//! `memwarden doctor`: find what keeps a tenant's jobs failing in its
//! files, and with `--fix` move it aside.
//!
//! Taking the tenant lock already finishes or undoes a commit that was cut
//! off and removes stale temporary files; doctor reports that, then lists
//! every file of `memory/` that does not read as an entry (which fails
//! every job of the tenant) and, with `--fix`, moves each to
//! `<tenant>/quarantine/` (#9, 23). It never deletes a file.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::config::RawConfig;
use memwarden::jobs::{AnyJobStore, JobStore};
use memwarden::store::DataDir;

use super::printable;

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The tenant.
    tenant: String,
    /// Move every bad file of `memory/` to `<tenant>/quarantine/`.
    #[arg(long)]
    fix: bool,
}

/// Exits 0 when the tenant's files are sound (or were fixed), 1 when bad
/// files remain.
pub(crate) async fn doctor(config: &RawConfig, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let data = DataDir::open(&config.data_dir)
        .with_context(|| format!("cannot open the data directory `{}`", config.data_dir.display()))?;
    let tenant = data.tenant(&args.tenant)?;
    // With PostgreSQL, hosts sharing the data directory exclude each other.
    let jobs = AnyJobStore::open(&config.database_url()).await.context("cannot open the job store")?;
    let _db_lock = jobs.lock_tenant(&args.tenant).await?;
    let lock = tenant.lock()?;
    let mut out = std::io::stdout().lock();
    let recovery = lock.recovery();
    if let Some(id) = &recovery.undone {
        writeln!(out, "undone    commit {id}: it was cut off before it completed")?;
    }
    if let Some(id) = &recovery.finished {
        writeln!(out, "finished  commit {id}: it was cut off after its commit point")?;
    }
    for path in &recovery.rolled_forward {
        writeln!(out, "rewrote   {}: the commit had not written it yet", printable(path))?;
    }
    for path in &recovery.swept {
        writeln!(out, "removed   {}: a stale temporary file", printable(path))?;
    }
    let problems = tenant.memory_problems()?;
    for problem in &problems {
        let why = format!("{} [{}]", problem.error, problem.error.code());
        if args.fix {
            let moved = tenant.quarantine(&lock, &problem.file_name, memwarden::reflection::now_ms())?;
            writeln!(out, "moved     {} to {}: {}", printable(&moved.from), printable(&moved.to), printable(&why))?;
        } else {
            let path = format!("tenants/{}/memory/{}", args.tenant, problem.file_name);
            writeln!(out, "bad       {}: {}", printable(&path), printable(&why))?;
        }
    }
    match (problems.len(), args.fix) {
        (0, _) => writeln!(out, "ok        every file of `{}`'s memory reads", args.tenant)?,
        (n, true) => writeln!(out, "fixed     {n} files moved to tenants/{}/quarantine/", args.tenant)?,
        (n, false) => {
            writeln!(out, "{n} bad files; `memwarden doctor {} --fix` moves them to quarantine/", args.tenant)?;
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
