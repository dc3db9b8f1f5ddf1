//! `memwarden history` and `memwarden show`: what changed a tenant's store,
//! and the diff of one change. A snapshot holds LLM text (reasoning, model
//! name, entry bodies, messages): everything printed from it goes through
//! [`printable`], so no escape sequence reaches the terminal (issue 9).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::config::RawConfig;
use memwarden::jobs::{AnyJobStore, JobStore};
use memwarden::store::DataDir;
use similar::TextDiff;

use super::printable;

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// The tenant.
    tenant: String,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The tenant.
    tenant: String,
    /// The entry.
    entry: String,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The tenant.
    tenant: String,
    /// The snapshot id, as `history` lists it.
    snapshot: String,
}

fn open(config: &RawConfig, tenant: &str) -> anyhow::Result<memwarden::store::TenantDir> {
    let data = DataDir::open(&config.data_dir)
        .with_context(|| format!("cannot open the data directory `{}`", config.data_dir.display()))?;
    Ok(data.tenant(tenant)?)
}

pub(crate) fn history(config: &RawConfig, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let tenant = open(config, &args.tenant)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<36} {:<13} {:>8} {:>8} {:>5} {:>5}  PIECES",
        "SNAPSHOT", "KIND", "ACCEPTED", "REJECTED", "HELD", "FILES"
    )?;
    for line in tenant.snapshots()? {
        writeln!(
            out,
            "{:<36} {:<13} {:>8} {:>8} {:>5} {:>5}  {}",
            printable(&line.id),
            printable(&line.kind),
            line.accepted,
            line.rejected,
            line.held,
            line.files,
            printable(&line.pieces.join(", "))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Every version of one entry, newest first: where it came from, the
/// verdicts on it, and its diff.
pub(crate) fn log(config: &RawConfig, args: &LogArgs) -> anyhow::Result<ExitCode> {
    let tenant = open(config, &args.tenant)?;
    let versions = tenant.entry_history(&args.entry)?;
    if versions.is_empty() {
        anyhow::bail!("no snapshot of `{}` touches an entry `{}` [entry_not_found]", args.tenant, args.entry);
    }
    let mut out = std::io::stdout().lock();
    let path = format!("memory/{}.md", args.entry);
    for version in &versions {
        let what = match (&version.before, &version.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "removed",
            _ => "changed",
        };
        writeln!(out, "version {} ({}, {what})", printable(&version.snapshot_id), printable(&version.kind))?;
        writeln!(out, "job     {}", printable(&version.job_id))?;
        if let Some(run) = &version.source_run {
            writeln!(out, "run     {}", printable(run))?;
        }
        if let Some(reviewer) = &version.reviewer {
            writeln!(out, "approved by {}", printable(reviewer))?;
        }
        if let Some(id) = &version.decision_id {
            writeln!(out, "decision {}", printable(id))?;
        }
        let codes = version.verdicts.as_ref().map(verdict_codes).unwrap_or_default();
        if !codes.is_empty() {
            writeln!(out, "verdicts {}", printable(&codes.join(", ")))?;
        }
        let (before, after) = (version.before.as_deref(), version.after.as_deref());
        let old = if before.is_some() { format!("a/{path}") } else { "/dev/null".to_string() };
        let new = if after.is_some() { format!("b/{path}") } else { "/dev/null".to_string() };
        let diff = TextDiff::from_lines(before.unwrap_or(""), after.unwrap_or(""));
        write!(out, "{}", printable(&diff.unified_diff().header(&old, &new).to_string()))?;
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `advisory reject schema/x`, `amend content-guard/secret_redacted`, …:
/// the codes a decision recorded on one change.
fn verdict_codes(verdicts: &serde_json::Value) -> Vec<String> {
    let mut codes = Vec::new();
    for (list, kind) in [("rejections", "reject"), ("holds", "hold"), ("amendments", "amend")] {
        for verdict in verdicts[list].as_array().into_iter().flatten() {
            let advisory = if verdict["advisory"] == true { "advisory " } else { "" };
            let (module, code) = (verdict["module"].as_str().unwrap_or("?"), verdict["code"].as_str().unwrap_or("?"));
            codes.push(format!("{advisory}{kind} {module}/{code}"));
        }
    }
    codes
}

pub(crate) fn show(config: &RawConfig, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let tenant = open(config, &args.tenant)?;
    let (meta, changes) = tenant.read_snapshot(&args.snapshot)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "snapshot {} ({}, {})", printable(&meta.id), printable(&meta.kind), printable(&meta.job_id))?;
    writeln!(
        out,
        "model    {} ({} tokens in, {} out)",
        printable(meta.model.as_deref().unwrap_or("-")),
        meta.tokens_in,
        meta.tokens_out
    )?;
    writeln!(out, "reason   {}", printable(&meta.reasoning))?;
    if let Some(restores) = &meta.restores {
        writeln!(out, "restores {}", printable(restores))?;
    }
    if let Some(decision) = &meta.decision {
        if let Some(refused) = decision["refused"].as_object() {
            let text = |key: &str| refused.get(key).and_then(|v| v.as_str()).unwrap_or("?");
            let changes = refused.get("changes").and_then(|v| v.as_u64()).unwrap_or(0);
            writeln!(
                out,
                "refused  all {changes} changes: {} {} ({})",
                printable(text("module")),
                printable(text("code")),
                printable(text("message"))
            )?;
        }
        for change in decision["memory"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(decision["piece"].as_object().map(|_| &decision["piece"]))
        {
            let verdict = match change["rejections"].as_array().map(Vec::len).unwrap_or(0) {
                0 => "accepted".to_string(),
                _ => {
                    let codes: Vec<String> = change["rejections"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            format!("{} {}", r["module"].as_str().unwrap_or("?"), r["code"].as_str().unwrap_or("?"))
                        })
                        .collect();
                    format!("rejected ({})", codes.join(", "))
                }
            };
            writeln!(
                out,
                "change   {} {}: {}",
                printable(change["op"].as_str().unwrap_or("piece")),
                printable(change["name"].as_str().unwrap_or("?")),
                printable(&verdict)
            )?;
        }
    }
    for change in &changes {
        let path = change.file.path();
        let (before, after) = (change.before.as_deref().unwrap_or(""), change.after.as_deref().unwrap_or(""));
        let old = if change.before.is_some() { format!("a/{path}") } else { "/dev/null".to_string() };
        let new = if change.after.is_some() { format!("b/{path}") } else { "/dev/null".to_string() };
        let diff = TextDiff::from_lines(before, after).unified_diff().header(&old, &new).to_string();
        write!(out, "{}", printable(&diff))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The tenant.
    tenant: String,
    /// Restore the state before this snapshot (undoing it and every later one).
    snapshot: String,
}

pub(crate) async fn rollback(config: &RawConfig, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let tenant = open(config, &args.tenant)?;
    // With PostgreSQL, hosts sharing the data directory exclude each other.
    let jobs = AnyJobStore::open(&config.database_url()).await.context("cannot open the job store")?;
    let _db_lock = jobs.lock_tenant(&args.tenant).await?;
    let done = memwarden::rollback::rollback(&tenant, &args.snapshot, memwarden::reflection::now_ms())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "undid {} snapshots: {}", done.undone.len(), printable(&done.undone.join(", ")))?;
    for change in &done.changes {
        let what = match (&change.before, &change.after) {
            (Some(_), None) => "removed",
            (None, Some(_)) => "restored",
            _ => "reverted",
        };
        writeln!(out, "{what:<9} {}", printable(&change.file.path()))?;
    }
    writeln!(out, "recorded as snapshot {}", printable(&done.snapshot_id))?;
    Ok(ExitCode::SUCCESS)
}
