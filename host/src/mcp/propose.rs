//! The direct proposal flow (issue 14): an agent proposes memory changes
//! over MCP and waits for the answer. No LLM takes part, so the flow is the
//! reflection's steps 5–10 run at once in the caller, on the same shared
//! pieces ([`policy_view`], [`plan`], [`commit`], [`review`]): the tenant's
//! pack decides under the tenant lock, the decision is recorded in the job
//! store before any write, the accepted changes and a snapshot are one
//! commit, held changes wait in the review queue.
//!
//! Read [`propose`] first: it opens a job of kind `mcp`, runs the numbered
//! steps, and records the outcome — the job row, a metrics row and the
//! counters — in one place. It does not check who may propose for the
//! tenant or how often: the server does ([`super`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::flow::commit::{self, Origin};
use crate::flow::context::{RunView, policy_view};
use crate::flow::{FlowError, Recorded, RecordedInputs, plan, review, take_lock};
use crate::jobs::metric_names as jobs_metrics;
use crate::jobs::{JobId, JobKind, JobOutcome, JobStore, MetricsRow, ReviewId, Started};
use crate::policy::{Proposal, RunOutcome};
use crate::reflection::{Reflector, now_ms};

/// What a direct proposal came to.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The job of kind `mcp` that records it.
    pub job: JobId,
    /// Applied, held or nothing.
    pub outcome: JobOutcome,
    /// The proposal as decided (amended where a module corrected it), the
    /// verdicts and the plan.
    pub recorded: Recorded,
    /// The snapshot the commit wrote.
    pub snapshot_id: String,
    /// The review queued for each held change, in proposal order.
    pub reviews: Vec<ReviewId>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Decides `proposal` for `tenant` with the tenant's pack and applies what
/// it accepts, as one job of kind `mcp` from MCP session `session`.
pub async fn propose<S: JobStore>(
    reflector: &Reflector<S>,
    tenant: &str,
    proposal: Proposal,
    session: &str,
) -> Result<Proposed, FlowError> {
    let started = Instant::now();
    // 1. Open the job: the request is kept with it, and a token proves
    //    ownership to every later update.
    let payload = serde_json::to_string(&proposal).map_err(|err| FlowError::Record(err.to_string()))?;
    let lease_ms = reflector.settings.lease.as_millis() as u64;
    let job = reflector
        .jobs
        .start_direct(JobKind::Mcp, tenant, &payload, &reflector.settings.worker, lease_ms, now_ms())
        .await?;
    let span = tracing::info_span!("mcp_propose", tenant, session, job = %job.id);
    let result = steps(reflector, tenant, proposal, &job).instrument(span).await;
    let now = now_ms();
    let elapsed = started.elapsed();
    match result {
        Ok((recorded, snapshot_id, reviews)) => {
            let outcome = match (recorded.decision.held_count(), recorded.plan.changes.is_empty()) {
                (1.., _) => JobOutcome::Held,
                (0, false) => JobOutcome::Succeeded,
                (0, true) => JobOutcome::Abstained,
            };
            // 8. The job ends with what happened.
            if !reflector.jobs.succeed(job.id, &job.token, outcome, Some(&snapshot_id), now).await? {
                tracing::warn!(job = %job.id, "the mcp job's row was taken over; the commit stands");
            }
            record_metrics(reflector, tenant, job.id, outcome.as_str(), None, Some(&recorded), elapsed, now).await;
            Ok(Proposed { job: job.id, outcome, recorded, snapshot_id, reviews, elapsed })
        }
        Err(err) => {
            // Nothing to retry: the agent sees the error and may propose again.
            if let Err(store_err) =
                reflector.jobs.fail(job.id, &job.token, err.code(), &err.to_string(), None, now).await
            {
                tracing::error!(error = %store_err, job = %job.id, "could not record the failure");
            }
            record_metrics(reflector, tenant, job.id, "failed", Some(err.code()), None, elapsed, now).await;
            Err(err)
        }
    }
}

/// The recipe; returns what was decided, the snapshot and the reviews.
async fn steps<S: JobStore>(
    reflector: &Reflector<S>,
    tenant_name: &str,
    proposal: Proposal,
    job: &Started,
) -> Result<(Recorded, String, Vec<ReviewId>), FlowError> {
    let job_id = job.id.to_string();
    // 2. Under the tenant lock, on the store as it is now: the rule pack
    //    decides, the host checks first.
    let tenant = reflector.data.tenant(tenant_name)?;
    let lock = take_lock(&reflector.jobs, &tenant).await?;
    let now = now_ms();
    let (entries, history) = (tenant.entries()?, tenant.snapshot_history()?);
    // An MCP client runs no piece, so it may edit none (piece_not_own).
    let run = RunView { piece: "", outcome: RunOutcome::Succeeded, job_id: &job_id, now_ms: now };
    let (context, index) = policy_view(&reflector.indexes, &tenant, &entries, &history, &run, None)?;
    let decision = reflector.packs.current().pack_for(tenant_name).evaluate(&proposal, &context, &index);
    // 3. Plan the writes, and record everything before writing.
    let plan = plan::build(&tenant, &entries, &proposal, &decision)?;
    // What the pack saw, so that a replay can decide it again.
    let inputs = Some(RecordedInputs::new(&context, &index));
    let recorded = Recorded { inputs, ..Recorded::by_operator(now, proposal, decision, plan) };
    let text = serde_json::to_string(&recorded).map_err(|err| FlowError::Record(err.to_string()))?;
    if !reflector.jobs.record(job.id, &job.token, &text, now_ms()).await? {
        return Err(FlowError::LostOwnership);
    }
    // 4. Mark the tenant for consolidation, before writing (as a reflection
    //    does: a mark without the commit only costs a consolidation).
    if !recorded.plan.changes.is_empty() {
        let attempts = reflector.settings.consolidation_attempts;
        reflector.jobs.enqueue_consolidation(tenant_name, recorded.created_at_ms, attempts, now_ms()).await?;
    }
    // 5. Apply the plan and 6. snapshot it, as one commit.
    let origin = Origin { kind: JobKind::Mcp.as_str(), job_id: &job_id, source_run: None, reviewer: None };
    let snapshot_id = commit::commit(&tenant, &lock.file, &origin, &recorded)?;
    drop(lock);
    // 7. Queue what a policy held for a person.
    let expire_after = reflector.settings.review_expire_after;
    let held = review::held(tenant_name, (JobKind::Mcp, job.id), &snapshot_id, &recorded, now_ms(), expire_after);
    let reviews = if held.is_empty() { Vec::new() } else { reflector.jobs.add_reviews(&held).await? };
    if !reviews.is_empty() {
        metrics::counter!(jobs_metrics::REVIEWS, "outcome" => "held").increment(reviews.len() as u64);
    }
    Ok((recorded, snapshot_id, reviews))
}

/// The counters, a log line and the metrics row of one direct proposal.
#[allow(clippy::too_many_arguments)]
async fn record_metrics<S: JobStore>(
    reflector: &Reflector<S>,
    tenant: &str,
    job: JobId,
    outcome: &str,
    reason_code: Option<&str>,
    recorded: Option<&Recorded>,
    elapsed: Duration,
    now: u64,
) {
    metrics::counter!(jobs_metrics::JOBS, "kind" => JobKind::Mcp.as_str(), "outcome" => outcome.to_string())
        .increment(1);
    let mut rejections: BTreeMap<String, u32> = BTreeMap::new();
    for rejection in recorded.iter().flat_map(|r| r.decision.all_rejections()) {
        *rejections.entry(rejection.code.clone()).or_default() += 1;
    }
    let row = MetricsRow {
        job_id: job,
        tenant: tenant.to_string(),
        kind: JobKind::Mcp,
        outcome: outcome.to_string(),
        reason_code: reason_code.map(str::to_string),
        changes_applied: recorded.map_or(0, |r| r.plan.memory_applied as u32),
        piece_edited: false,
        tokens_in: 0,
        tokens_out: 0,
        duration_ms: elapsed.as_millis() as u64,
        rejections,
        created_at_ms: now,
    };
    match reason_code {
        Some(code) => tracing::warn!(tenant, job = %job, code, "mcp proposal failed"),
        None => tracing::info!(tenant, job = %job, outcome, changes_applied = row.changes_applied,
            duration_ms = row.duration_ms, "mcp proposal decided"),
    }
    if let Err(err) = reflector.jobs.record_metrics(&row).await {
        tracing::error!(error = %err, "could not record the metrics row");
    }
}
