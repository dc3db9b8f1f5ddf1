//! `memwarden consolidate`: one consolidation of one tenant, in the
//! foreground, with its progress. What it reports may hold LLM text; it is
//! printed through [`printable`] (issue 9).

use std::process::ExitCode;

use clap::Args;
use memwarden::config::RawConfig;
use memwarden::consolidation::{Report, Status};
use memwarden::jobs::JobStore;
use memwarden::reflection::now_ms;

use super::policy::print_table;
use super::printable;

#[derive(Debug, Args)]
pub(crate) struct ConsolidateArgs {
    /// The tenant.
    tenant: String,
    /// Consolidate even if nothing changed since the last consolidation.
    #[arg(long)]
    force: bool,
}

pub(crate) async fn consolidate(config: &RawConfig, args: &ConsolidateArgs) -> anyhow::Result<ExitCode> {
    memwarden::store::safe_name_of("tenant", &args.tenant)?;
    let reflector = config.resolve().await?;
    let consolidator = config.consolidator(&reflector);
    if args.force {
        let attempts = config.consolidation.max_attempts.max(1);
        consolidator.jobs.enqueue_consolidation(&args.tenant, now_ms(), attempts, now_ms()).await?;
    }
    let report = consolidator.run(&args.tenant, &|event| println!("{}", printable(&event.to_string()))).await;
    print_report(&report, &config.data_dir);
    Ok(match report.status {
        Status::Failed { .. } => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// The decision table and where the snapshot is.
pub(crate) fn print_report(report: &Report, data_dir: &std::path::Path) {
    if let Some(recorded) = &report.recorded {
        let mut out = std::io::stdout().lock();
        let _ = print_table(&mut out, &recorded.decision);
        for skipped in &recorded.plan.skipped {
            let (name, message, code) = (&skipped.name, &skipped.message, &skipped.code);
            println!("skipped {}: {} ({})", printable(name), printable(message), printable(code));
        }
    }
    if let Status::Failed { message, retrying, .. } = &report.status {
        println!("{}{}", printable(message), if *retrying { " (will be retried)" } else { "" });
    }
    if let Some(id) = &report.snapshot_id {
        let path = data_dir.join("tenants").join(&report.tenant).join("snapshots").join(format!("{id}.json"));
        println!("snapshot {}", printable(&path.display().to_string()));
    }
}
