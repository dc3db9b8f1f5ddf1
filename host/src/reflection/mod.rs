//! The reflection flow: after one agent run, ask an LLM what the run
//! teaches, pass its proposal through the tenant's rule pack, write what is
//! accepted, and record everything.
//!
//! Read [`Reflector::run`] first: it calls `steps` (the recipe, one numbered
//! step per submodule) and records the outcome — success or failure — in one
//! place. Crash safety: the proposal, the verdicts and the file plan are
//! recorded in the job store before any file is written; a job re-claimed
//! after a crash resumes from that record, without calling the LLM again,
//! and its apply is idempotent.

mod inputs;
mod prompt;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

pub use crate::flow::{FlowError, Plan, Recorded, RecordedInputs, Skipped, now_ms};
pub use inputs::Inputs;
pub use prompt::{Prompt, PromptLimits, log_tail, proposal_schema};

use crate::flow::commit::Origin;
use crate::flow::context::IndexCache;
use crate::flow::{commit, heartbeating, plan, review, take_lock};
use crate::jobs::metric_names as jobs_metrics;
use crate::jobs::{
    Claim, FailOutcome, IdempotencyKey, IdempotencyKeyError, JobKind, JobOutcome, JobStore, MetricsRow, NewReflection,
    ReflectionPayload,
};
use crate::llm::{ChatRequest, LlmClient};
use crate::packs::Packs;
use crate::policy::Proposal;
use crate::store::DataDir;

/// Counters of the flow, through the `metrics` facade.
pub mod metric_names {
    /// Reflection jobs finished. Tags: `outcome` (`succeeded`, `abstained`,
    /// `failed`, `lost_ownership`).
    pub const JOBS: &str = "memwarden_reflection_jobs_total";
    /// Failed attempts. Tags: `code`.
    pub const FAILURES: &str = "memwarden_reflection_failures_total";
    /// Jobs resumed from a record after a crash.
    pub const RESUMED: &str = "memwarden_reflection_resumed_total";
}

/// Set to make a worker kill itself (SIGKILL) right after it recorded a
/// decision and before it writes: for crash-safety tests.
pub const FAULT_ENV: &str = "MEMWARDEN_FAULT_KILL_AFTER_RECORD";

/// Knobs of the flow.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This worker's name in leases.
    pub worker: String,
    /// Lease per claim and per heartbeat.
    pub lease: Duration,
    /// Heartbeat period while the LLM works.
    pub heartbeat: Duration,
    /// Delay before a failed job is retried.
    pub retry_delay: Duration,
    /// Prompt limits.
    pub prompt: PromptLimits,
    /// Keep the LLM's raw answer in the snapshot.
    pub keep_raw_output: bool,
    /// Attempts a consolidation gets once a reflection marks the tenant.
    pub consolidation_attempts: u32,
    /// How long a held change waits in the review queue before it expires
    /// as denied.
    pub review_expire_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            worker: format!("worker-{}", std::process::id()),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            retry_delay: Duration::from_secs(30),
            prompt: PromptLimits::default(),
            keep_raw_output: false,
            consolidation_attempts: 3,
            review_expire_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A reflection asked for from outside: the API and the CLI both build
/// their job here, so they agree. The idempotency key is checked and scoped
/// to `tenant`, with the fingerprint of the request as sent; the activity
/// log is cut to its last `activity_log_max_bytes`, all a prompt ever uses,
/// before it is stored (issue 9).
pub fn request(
    tenant: &str,
    mut payload: ReflectionPayload,
    idempotency_key: Option<&str>,
    max_attempts: u32,
    activity_log_max_bytes: usize,
) -> Result<NewReflection, IdempotencyKeyError> {
    let idempotency_key = idempotency_key.map(|key| IdempotencyKey::new(tenant, key, &payload)).transpose()?;
    let tail = log_tail(&payload.activity_log, activity_log_max_bytes);
    if tail.len() < payload.activity_log.len() {
        payload.activity_log = tail.to_string();
    }
    Ok(NewReflection { tenant: tenant.to_string(), payload, idempotency_key, max_attempts })
}

/// Everything a reflection needs; cheap to share between tasks.
pub struct Reflector<S> {
    /// The job store.
    pub jobs: S,
    /// The data directory.
    pub data: Arc<DataDir>,
    /// Rule packs per tenant.
    pub packs: Arc<Packs>,
    /// The LLM.
    pub llm: Arc<LlmClient>,
    /// Each tenant's last policy index, shared with consolidation.
    pub indexes: Arc<IndexCache>,
    /// Knobs.
    pub settings: Settings,
}

/// How one job attempt ended.
#[derive(Debug, Clone)]
pub struct Report {
    /// The job.
    pub job: crate::jobs::JobId,
    /// The tenant.
    pub tenant: String,
    /// Succeeded, abstained or failed.
    pub outcome: ReportOutcome,
    /// What was decided, if the job got that far.
    pub recorded: Option<Recorded>,
    /// The snapshot written.
    pub snapshot_id: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// Time spent waiting for the LLM (zero when resumed or failed before).
    pub llm_elapsed: Duration,
}

/// The outcome part of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// At least one change applied.
    Succeeded,
    /// Nothing proposed, or nothing accepted.
    Abstained,
    /// Some changes wait for a person in the review queue; what else was
    /// accepted is applied.
    Held {
        /// Changes queued.
        reviews: usize,
    },
    /// The attempt failed; the job was retried or is dead.
    Failed {
        /// Stable code.
        code: String,
        /// One line.
        message: String,
        /// Whether the job will be retried.
        retrying: bool,
    },
    /// Another worker owns the job now; this one wrote nothing.
    LostOwnership,
}

impl ReportOutcome {
    /// As a metric label.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReportOutcome::Succeeded => "succeeded",
            ReportOutcome::Abstained => "abstained",
            ReportOutcome::Held { .. } => "held",
            ReportOutcome::Failed { .. } => "failed",
            ReportOutcome::LostOwnership => "lost_ownership",
        }
    }
}

impl<S: JobStore> Reflector<S> {
    /// Runs one claimed job to its outcome and records it: the job row, a
    /// metrics row, a log line and counters — here, and only here.
    pub async fn run(&self, claim: Claim) -> Report {
        let span = tracing::info_span!("reflection", job = %claim.id, tenant = %claim.tenant, attempt = claim.attempt);
        self.run_recorded(claim).instrument(span).await
    }

    async fn run_recorded(&self, claim: Claim) -> Report {
        let started = Instant::now();
        let mut llm_elapsed = Duration::ZERO;
        let result = self.steps(&claim, &mut llm_elapsed).await;
        let now = now_ms();

        let (outcome, recorded, snapshot) = match result {
            Ok((recorded, snapshot)) => {
                let applied = !recorded.plan.changes.is_empty();
                let held = review::count(&recorded);
                let job_outcome = match (held, applied) {
                    (1.., _) => JobOutcome::Held,
                    (0, true) => JobOutcome::Succeeded,
                    (0, false) => JobOutcome::Abstained,
                };
                match self.jobs.succeed(claim.id, &claim.token, job_outcome, Some(&snapshot), now).await {
                    Ok(true) if held > 0 => (ReportOutcome::Held { reviews: held }, Some(recorded), Some(snapshot)),
                    Ok(true) if applied => (ReportOutcome::Succeeded, Some(recorded), Some(snapshot)),
                    Ok(true) => (ReportOutcome::Abstained, Some(recorded), Some(snapshot)),
                    Ok(false) => (ReportOutcome::LostOwnership, Some(recorded), Some(snapshot)),
                    Err(err) => (failed(&FlowError::Jobs(err), false), Some(recorded), Some(snapshot)),
                }
            }
            Err(FlowError::LostOwnership) => (ReportOutcome::LostOwnership, None, None),
            Err(err) => {
                let delay = err.is_retryable().then_some(self.settings.retry_delay.as_millis() as u64);
                let fail = self.jobs.fail(claim.id, &claim.token, err.code(), &err.to_string(), delay, now).await;
                let outcome = match fail {
                    Ok(FailOutcome::Retrying { .. }) => failed(&err, true),
                    Ok(FailOutcome::Dead) => failed(&err, false),
                    Ok(FailOutcome::LostOwnership) => ReportOutcome::LostOwnership,
                    Err(store_err) => {
                        tracing::error!(error = %store_err, "could not record the failure");
                        failed(&err, true)
                    }
                };
                (outcome, None, None)
            }
        };

        let elapsed = started.elapsed();
        self.record_metrics(&claim, &outcome, recorded.as_ref(), elapsed, now).await;
        Report {
            job: claim.id,
            tenant: claim.tenant.clone(),
            outcome,
            recorded,
            snapshot_id: snapshot,
            elapsed,
            llm_elapsed,
        }
    }

    /// The recipe. Returns what was decided and the snapshot id.
    async fn steps(&self, claim: &Claim, llm_elapsed: &mut Duration) -> Result<(Recorded, String), FlowError> {
        let tenant = self.data.tenant(&claim.tenant)?;
        let job_id = claim.id.to_string();
        let lock;
        let recorded = match claim.recorded.as_deref() {
            // 0. An earlier attempt decided and recorded; finish its apply.
            Some(text) => {
                metrics::counter!(metric_names::RESUMED).increment(1);
                tracing::info!("resuming from the recorded decision");
                lock = take_lock(&self.jobs, &tenant).await?;
                serde_json::from_str::<Recorded>(text).map_err(|err| FlowError::Record(err.to_string()))?
            }
            None => {
                // 1. Load the inputs.
                let inputs = inputs::load(&tenant, &claim.payload)?;
                // 2. Build the prompt, within the context window.
                let prompt = prompt::build(&inputs, &self.settings.prompt)?;
                // 3. Ask the LLM, heartbeating while it works.
                let request = ChatRequest {
                    tenant: claim.tenant.clone(),
                    purpose: "reflection",
                    piece: inputs.piece_name.clone(),
                    system: prompt.system.clone(),
                    user: prompt.user.clone(),
                    schema: proposal_schema(),
                };
                let asked = Instant::now();
                let lease = self.settings.lease.as_millis() as u64;
                let beat = || self.jobs.heartbeat(claim.id, &claim.token, lease, now_ms());
                let completion = heartbeating(self.settings.heartbeat, beat, self.llm.complete(&request)).await;
                *llm_elapsed = asked.elapsed();
                let completion = completion??;
                // 4. Parse the proposal, strictly.
                let proposal = Proposal::from_json(&completion.text)?;
                // 5. Under the tenant lock, on the store as it is now: the
                //    rule pack decides.
                lock = take_lock(&self.jobs, &tenant).await?;
                let inputs = inputs::load(&tenant, &claim.payload)?;
                let now = now_ms();
                let edited = proposal.piece_edit.as_ref().map(|edit| edit.piece.as_str());
                let (context, index) = inputs.policy_view(&self.indexes, &tenant, &job_id, now, edited)?;
                let decision = self.packs.current().pack_for(&claim.tenant).evaluate(&proposal, &context, &index);
                // 6. Plan the writes and record everything before writing.
                let plan = plan::build(&tenant, &inputs.entries, &proposal, &decision)?;
                let recorded = Recorded {
                    created_at_ms: now,
                    proposal: decision.amend(&proposal),
                    // An amendment may have redacted what the raw answer still holds.
                    raw_output: (self.settings.keep_raw_output && decision.amended_count() == 0)
                        .then_some(completion.text),
                    decision,
                    plan,
                    model: completion.model,
                    tokens_in: completion.tokens_in,
                    tokens_out: completion.tokens_out,
                    trimmed: prompt.trimmed,
                    inputs: Some(RecordedInputs::new(&context, &index)),
                };
                let text = serde_json::to_string(&recorded).map_err(|err| FlowError::Record(err.to_string()))?;
                if !self.jobs.record(claim.id, &claim.token, &text, now_ms()).await? {
                    return Err(FlowError::LostOwnership);
                }
                crash_here_if_asked();
                recorded
            }
        };
        // 7. Mark the tenant for consolidation, before writing: a commit
        //    without the mark would leave its notes unconsolidated, a mark
        //    without the commit only costs a consolidation that finds less.
        if !recorded.plan.changes.is_empty() {
            let attempts = self.settings.consolidation_attempts;
            self.jobs.enqueue_consolidation(&claim.tenant, recorded.created_at_ms, attempts, now_ms()).await?;
        }
        // 8. Apply the plan and 9. snapshot it, as one idempotent commit.
        let source_run = claim.payload.source_run.as_deref();
        let origin = Origin { kind: JobKind::Reflection.as_str(), job_id: &job_id, source_run, reviewer: None };
        let id = commit::commit(&tenant, &lock.file, &origin, &recorded)?;
        // 10. Queue what a policy held for a person (again, harmlessly, when
        //     a resumed job gets here twice).
        let expire_after = self.settings.review_expire_after;
        let job = (JobKind::Reflection, claim.id);
        let reviews = review::held(&claim.tenant, job, &id, &recorded, now_ms(), expire_after);
        if !reviews.is_empty() {
            self.jobs.add_reviews(&reviews).await?;
            metrics::counter!(jobs_metrics::REVIEWS, "outcome" => "held").increment(reviews.len() as u64);
        }
        Ok((recorded, id))
    }

    async fn record_metrics(
        &self,
        claim: &Claim,
        outcome: &ReportOutcome,
        recorded: Option<&Recorded>,
        elapsed: Duration,
        now: u64,
    ) {
        metrics::counter!(metric_names::JOBS, "outcome" => outcome.as_str()).increment(1);
        metrics::counter!(jobs_metrics::JOBS, "kind" => "reflection", "outcome" => outcome.as_str()).increment(1);
        if *outcome == ReportOutcome::LostOwnership {
            metrics::counter!(jobs_metrics::LEASE_LOSSES, "kind" => "reflection").increment(1);
        }
        let reason_code = match outcome {
            ReportOutcome::Failed { code, message, retrying } => {
                metrics::counter!(metric_names::FAILURES, "code" => code.clone()).increment(1);
                tracing::warn!(code = %code, retrying, error = %message, "reflection failed");
                Some(code.clone())
            }
            ReportOutcome::LostOwnership => {
                tracing::warn!("reflection abandoned: lost ownership");
                return;
            }
            _ => None,
        };
        let mut rejections: BTreeMap<String, u32> = BTreeMap::new();
        for rejection in recorded.iter().flat_map(|r| r.decision.all_rejections()) {
            *rejections.entry(rejection.code.clone()).or_default() += 1;
        }
        let row = MetricsRow {
            job_id: claim.id,
            tenant: claim.tenant.clone(),
            kind: JobKind::Reflection,
            outcome: outcome.as_str().to_string(),
            reason_code,
            changes_applied: recorded.map_or(0, |r| r.plan.memory_applied as u32),
            piece_edited: recorded.is_some_and(|r| r.plan.piece_edited),
            tokens_in: recorded.map_or(0, |r| r.tokens_in),
            tokens_out: recorded.map_or(0, |r| r.tokens_out),
            duration_ms: elapsed.as_millis() as u64,
            rejections,
            created_at_ms: now,
        };
        tracing::info!(
            outcome = outcome.as_str(),
            changes_applied = row.changes_applied,
            piece_edited = row.piece_edited,
            duration_ms = row.duration_ms,
            "reflection finished"
        );
        if let Err(err) = self.jobs.record_metrics(&row).await {
            tracing::error!(error = %err, "could not record the metrics row");
        }
    }
}

fn failed(err: &FlowError, retrying: bool) -> ReportOutcome {
    ReportOutcome::Failed { code: err.code().to_string(), message: err.to_string(), retrying }
}

fn crash_here_if_asked() {
    if std::env::var_os(FAULT_ENV).is_some() {
        tracing::error!("{FAULT_ENV} is set: killing this process now");
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}
