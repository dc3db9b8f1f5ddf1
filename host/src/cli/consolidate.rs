//! `memwarden consolidate`: one consolidation of one tenant, in the
//! foreground, with its progress.

use std::process::ExitCode;

use clap::Args;
use memwarden::config::RawConfig;
use memwarden::consolidation::{Report, Status};
use memwarden::jobs::JobStore;
use memwarden::reflection::now_ms;

use super::policy::print_table;

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
    let report = consolidator.run(&args.tenant, &|event| println!("{event}")).await;
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
            println!("skipped {}: {} ({})", skipped.name, skipped.message, skipped.code);
        }
    }
    if let Status::Failed { message, retrying, .. } = &report.status {
        println!("{message}{}", if *retrying { " (will be retried)" } else { "" });
    }
    if let Some(id) = &report.snapshot_id {
        println!("snapshot {}", data_dir.join("tenants").join(&report.tenant).join("snapshots").join(id).display());
    }
}
