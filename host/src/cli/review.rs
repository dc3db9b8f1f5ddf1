//! `memwarden review list|show|approve|deny`: the review queue from the
//! command line. What a review holds came from an LLM: everything printed
//! from it goes through [`printable`] (issue 9).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use memwarden::config::RawConfig;
use memwarden::jobs::{ReviewQueue, ReviewStatus};
use memwarden::reflection::now_ms;

use super::printable;

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// List a tenant's reviews (pending ones unless `--all`).
    List(super::With<super::RunnerArgs, ListArgs>),
    /// Show one review: the held change and why it was held.
    Show(super::With<super::RunnerArgs, IdArgs>),
    /// Approve: decide the change again on the store as it is, waive its
    /// holds, apply it.
    Approve(super::With<super::RunnerArgs, DecideArgs>),
    /// Deny: nothing is written.
    Deny(super::With<super::RunnerArgs, DecideArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The tenant.
    tenant: String,
    /// Every review, decided ones included.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The review id, as `list` shows it.
    id: i64,
}

#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// The review id, as `list` shows it.
    id: i64,
    /// Who decides, as the record names them.
    #[arg(long)]
    by: String,
    /// Why (kept with a denial).
    #[arg(long)]
    reason: Option<String>,
}

pub(crate) async fn run(config: &RawConfig, command: &ReviewCommand) -> anyhow::Result<ExitCode> {
    let reflector = config.resolve().await?;
    match command {
        ReviewCommand::List(cmd) => {
            memwarden::store::safe_name_of("tenant", &cmd.args.tenant)?;
            let status = (!cmd.args.all).then_some(ReviewStatus::Pending);
            println!("{:<6} {:<9} {:<18} {:<22} CHANGE", "ID", "STATUS", "JOB", "DECISION");
            for review in reflector.jobs.reviews(&cmd.args.tenant, status).await? {
                let change = summary(&review.change);
                println!(
                    "{:<6} {:<9} {:<18} {:<22} {}",
                    review.id,
                    review.status.as_str(),
                    job_label(&review),
                    printable(&review.decision_id),
                    printable(&change)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Show(cmd) => {
            let Some(review) = reflector.jobs.review(cmd.args.id).await? else {
                anyhow::bail!("there is no review {} [review_not_found]", cmd.args.id);
            };
            println!("review   {} ({}) of tenant {}", review.id, review.status.as_str(), printable(&review.tenant));
            println!(
                "job      {} (decision {}, store at {})",
                job_label(&review),
                printable(&review.decision_id),
                printable(&review.store_version)
            );
            println!("change   {}", printable(&review.change));
            println!("verdicts {}", printable(&review.decision));
            if let Some(by) = &review.resolved_by {
                let reason = review.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                println!("decided  by {}{}", printable(by), printable(&reason));
            }
            if let Some(snapshot) = &review.snapshot_id {
                println!("snapshot {}", printable(snapshot));
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Approve(cmd) => {
            let args = &cmd.args;
            match reflector.approve(args.id, &args.by, now_ms()).await {
                Ok(snapshot) => {
                    println!("approved review {}: applied as snapshot {}", args.id, printable(&snapshot));
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => {
                    println!("{} [{}]", printable(&err.to_string()), err.code());
                    Ok(ExitCode::from(1))
                }
            }
        }
        ReviewCommand::Deny(cmd) => {
            let args = &cmd.args;
            match reflector.deny(args.id, &args.by, args.reason.as_deref(), now_ms()).await {
                Ok(()) => {
                    println!("denied review {}", args.id);
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => {
                    println!("{} [{}]", printable(&err.to_string()), err.code());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// `17` for reflection job 17, `consolidation-3` for a consolidation's
/// third run.
fn job_label(review: &memwarden::jobs::Review) -> String {
    match review.job_kind.as_str() {
        "reflection" => review.job_id.to_string(),
        kind => format!("{}-{}", printable(kind), review.job_id),
    }
}

/// `add deploy-order`, `piece research`: what a change is about; a held
/// merge, reviewed as one, is `update a + remove b`.
fn summary(change: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(change).unwrap_or_default();
    if let Some(group) = value.as_array() {
        return group.iter().map(|member| summary(&member.to_string())).collect::<Vec<_>>().join(" + ");
    }
    match (value["op"].as_str(), value["name"].as_str(), value["piece"].as_str()) {
        (Some(op), Some(name), _) => format!("{op} {name}"),
        (_, _, Some(piece)) => format!("piece {piece}"),
        _ => "?".to_string(),
    }
}

#[derive(Debug, Args)]
pub(crate) struct ForgetArgs {
    /// The tenant.
    tenant: String,
    /// The agent run whose entry versions are taken back.
    #[arg(long)]
    source_run: String,
}

/// `memwarden forget T --source-run R`.
pub(crate) async fn forget(config: &RawConfig, args: &ForgetArgs) -> anyhow::Result<ExitCode> {
    memwarden::store::safe_name_of("tenant", &args.tenant)?;
    let reflector = config.resolve().await?;
    let done = reflector.forget(&args.tenant, &args.source_run, now_ms()).await?;
    let list =
        |names: &[String]| if names.is_empty() { "-".to_string() } else { printable(&names.join(", ")).into_owned() };
    println!("removed  {}", list(&done.removed));
    println!("restored {}", list(&done.restored));
    println!("kept     {} (changed by a later run since)", list(&done.kept));
    let refused: Vec<String> = done
        .decision
        .iter()
        .flat_map(|d| d.memory.iter())
        .filter(|change| !change.accepted)
        .map(|change| {
            let codes: Vec<&str> = change.rejections.iter().map(|r| r.code.as_str()).collect();
            format!("{} ({})", change.name, codes.join(", "))
        })
        .collect();
    if !refused.is_empty() {
        println!("refused  {}", printable(&refused.join("; ")));
    }
    match &done.snapshot_id {
        Some(id) => println!("snapshot {}", printable(id)),
        None => println!("nothing of run {} is left to undo", printable(&args.source_run)),
    }
    Ok(if refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Debug, Args)]
pub(crate) struct UnmergeArgs {
    /// The tenant.
    tenant: String,
    /// The superseded entry to make live again.
    entry: String,
}

/// `memwarden unmerge T ENTRY`.
pub(crate) async fn unmerge(config: &RawConfig, args: &UnmergeArgs) -> anyhow::Result<ExitCode> {
    memwarden::store::safe_name_of("tenant", &args.tenant)?;
    memwarden::store::safe_name_of("entry", &args.entry)?;
    let reflector = config.resolve().await?;
    match reflector.unmerge(&args.tenant, &args.entry, now_ms()).await {
        Ok(snapshot) => {
            println!("`{}` is live again; snapshot {}", printable(&args.entry), printable(&snapshot));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!("{} [{}]", printable(&err.to_string()), err.code());
            Ok(ExitCode::from(1))
        }
    }
}
