//! `memwarden policy replay` and `memwarden policy verify`: recorded
//! proposals decided again, under a candidate pack or under the packs that
//! decided them. Both read only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::config::RawConfig;
use memwarden::jobs::{AnyJobStore, DecisionFilter, DecisionLog};
use memwarden::policy::{PackMap, PolicyEngine, RulePack, SandboxLimits};
use memwarden::replay::{self, ArchivedPacks, Judge, Report};
use memwarden::store::DataDir;

use super::{Format, now_ms, printable};

/// Which recorded jobs to decide again.
#[derive(Debug, Args)]
pub(crate) struct Selection {
    /// Only this tenant's jobs.
    #[arg(long)]
    tenant: Option<String>,
    /// Only jobs of the last … (`90m`, `24h`, `7d`).
    #[arg(long, value_parser = replay::parse_age)]
    since: Option<u64>,
    /// At most this many jobs, newest first.
    #[arg(long, default_value_t = 10_000)]
    limit: u32,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The candidate pack: a built-in name or a YAML file.
    #[arg(long, required_unless_present = "pack_map", conflicts_with = "pack_map")]
    pack: Option<String>,
    /// A candidate tenant → pack mapping file instead.
    #[arg(long)]
    pack_map: Option<PathBuf>,
    #[command(flatten)]
    selection: Selection,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    selection: Selection,
}

pub(crate) async fn replay(config: &RawConfig, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let engine = engine(config)?;
    let rules = config.policy.host_rules();
    let candidate = match (&args.pack, &args.pack_map) {
        (_, Some(map)) => PackMap::load_with(&engine, map, rules)?,
        (Some(pack), None) => PackMap::uniform(RulePack::load_with(&engine, pack, rules)?),
        (None, None) => anyhow::bail!("name a candidate pack: --pack or --pack-map"),
    };
    let (data, jobs) = decided_jobs(config, &args.selection).await?;
    let report = replay::run(&data, &jobs, &mut Judge::Candidate(&candidate));
    print(&report, args.selection.format)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn verify(config: &RawConfig, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let engine = engine(config)?;
    let (data, jobs) = decided_jobs(config, &args.selection).await?;
    let archive = data.policy_archive().context("cannot open the policy archive")?;
    let archived = ArchivedPacks::new(&engine, config.policy.host_rules(), &archive);
    let report = replay::run(&data, &jobs, &mut Judge::Recorded(archived));
    print(&report, args.selection.format)?;
    Ok(if report.failed_verification() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn engine(config: &RawConfig) -> anyhow::Result<PolicyEngine> {
    let cache = config.module_cache.clone().unwrap_or_else(|| config.data_dir.join("cache").join("modules"));
    PolicyEngine::with_options(SandboxLimits::default(), Some(&cache)).context("cannot start the policy engine")
}

/// The data directory and the jobs `selection` picks from the job store.
async fn decided_jobs(
    config: &RawConfig,
    selection: &Selection,
) -> anyhow::Result<(DataDir, Vec<memwarden::jobs::DecidedJob>)> {
    if let Some(tenant) = &selection.tenant {
        memwarden::store::safe_name_of("tenant", tenant)?;
    }
    let data = DataDir::open(&config.data_dir)
        .with_context(|| format!("cannot open the data directory `{}`", config.data_dir.display()))?;
    let url = config.database_url();
    let jobs = AnyJobStore::open_read_only(&url).await.with_context(|| format!("cannot open the job store `{url}`"))?;
    let filter = DecisionFilter {
        tenant: selection.tenant.clone(),
        since_ms: selection.since.map_or(0, |age| now_ms().saturating_sub(age)),
        limit: selection.limit,
    };
    Ok((data, jobs.decided_jobs(&filter).await?))
}

fn print(report: &Report, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(report)?)?,
        Format::Table => print_table(&mut out, report)?,
    }
    Ok(())
}

/// Every name and code may come from an LLM or a module: through
/// [`printable`].
fn print_table(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    if !report.differences.is_empty() {
        writeln!(out, "{:<8} {:<16} {:<28} {:<36} NOW", "JOB", "TENANT", "CHANGE", "RECORDED")?;
        for d in &report.differences {
            let (tenant, change) = (printable(&d.tenant), printable(&d.change));
            let (before, after) = (d.before.to_string(), d.after.to_string());
            let (before, after) = (printable(&before), printable(&after));
            writeln!(out, "{:<8} {tenant:<16} {change:<28} {before:<36} {after}", d.job_id)?;
        }
        writeln!(out)?;
    }
    let t = &report.totals;
    writeln!(
        out,
        "{}: {} of {} jobs decided again ({} changes) in {} ms",
        report.kind, report.replayed, report.jobs, report.changes, report.elapsed_ms
    )?;
    writeln!(
        out,
        "newly rejected {}, newly accepted {}, newly held {}, reason changed {}, unchanged {}",
        t.newly_rejected, t.newly_accepted, t.newly_held, t.reason_changed, t.unchanged
    )?;
    if !report.tenants.is_empty() {
        let most: Vec<String> =
            report.tenants.iter().take(5).map(|t| format!("{} ({})", printable(&t.tenant), t.differences)).collect();
        writeln!(out, "most affected: {}", most.join(", "))?;
    }
    if !report.skipped.is_empty() {
        let mut codes = std::collections::BTreeMap::<&str, usize>::new();
        for skip in &report.skipped {
            *codes.entry(skip.code).or_default() += 1;
        }
        let counts: Vec<String> = codes.iter().map(|(code, n)| format!("{code} {n}")).collect();
        writeln!(out, "skipped {}: {}", report.skipped.len(), counts.join(", "))?;
        for skip in report.skipped.iter().filter(|s| s.code == "pack_mismatch").take(20) {
            writeln!(out, "  job {} ({}): {}", skip.job_id, printable(&skip.tenant), printable(&skip.reason))?;
        }
    }
    Ok(())
}
