//! The consolidation flow: keep one tenant's memory compact. Reflections
//! mark the tenant dirty; a consolidation claims it (at most one at a time
//! per tenant, see [`crate::jobs::consolidation`]), shows an LLM the entries
//! and the notes of the reflections since the last success, and passes the
//! proposed merges, removals and rewrites through the tenant's rule pack
//! exactly as a reflection's.
//!
//! Read [`Consolidator::run`] first: it claims, calls `steps` (the recipe,
//! one numbered step per line) and records the outcome — status counter,
//! job-store row, metrics row, progress event, log line — in one place.
//! A run that loses its lease writes nothing: ownership is confirmed under
//! the tenant lock, right before the commit.

mod inputs;
mod prompt;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

pub use inputs::{InputLimits, Inputs, NoteChange, RawNote};
pub use prompt::WindowLimits;

use crate::flow::commit::Origin;
use crate::flow::context::{IndexCache, RunView, policy_view};
use crate::flow::{FlowError, Recorded, RecordedInputs, commit, heartbeating, now_ms, plan, review, take_lock};
use crate::jobs::metric_names as jobs_metrics;
use crate::jobs::{ConsolidationClaim, ConsolidationLease, FailOutcome, JobId, JobKind, JobStore, MetricsRow};
use crate::llm::{ChatRequest, LlmClient};
use crate::packs::Packs;
use crate::policy::{Proposal, RunOutcome};
use crate::reflection::proposal_schema;
use crate::store::DataDir;

/// Counters of the flow, through the `metrics` facade.
pub mod metric_names {
    /// Every exit of a consolidation attempt. Tags: `status` (`claimed`,
    /// `skipped_not_dirty`, `skipped_running`, `succeeded`,
    /// `succeeded_no_input`, `failed_<code>`).
    pub const STATUS: &str = "memwarden_consolidation_total";
}

/// Knobs of the flow.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This worker's name in leases.
    pub worker: String,
    /// Lease per claim and per heartbeat.
    pub lease: Duration,
    /// Heartbeat period while the LLM works.
    pub heartbeat: Duration,
    /// Delay before a failed consolidation is retried.
    pub retry_delay: Duration,
    /// Caps on entries and notes shown.
    pub inputs: InputLimits,
    /// The model's window.
    pub window: WindowLimits,
    /// Keep the LLM's raw answer in the snapshot.
    pub keep_raw_output: bool,
    /// How long a change a policy held waits in the review queue before it
    /// expires as denied.
    pub review_expire_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            worker: format!("worker-{}", std::process::id()),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            retry_delay: Duration::from_secs(60),
            inputs: InputLimits::default(),
            window: WindowLimits { context_window_tokens: 128_000, max_output_tokens: 4096 },
            keep_raw_output: false,
            review_expire_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Everything a consolidation needs; cheap to share between tasks.
pub struct Consolidator<S> {
    /// The job store.
    pub jobs: S,
    /// The data directory.
    pub data: Arc<DataDir>,
    /// Rule packs per tenant.
    pub packs: Arc<Packs>,
    /// The LLM.
    pub llm: Arc<LlmClient>,
    /// Each tenant's last policy index, shared with reflection.
    pub indexes: Arc<IndexCache>,
    /// Knobs.
    pub settings: Settings,
}

/// A stage of a consolidation, as the CLI shows it and the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// This worker owns the run.
    Claimed {
        /// The tenant's run number.
        run: u64,
    },
    /// Nothing new since the last success (or retries spent, or backing off).
    UpToDate,
    /// Another worker holds the lease.
    AlreadyRunning,
    /// The LLM is working on these inputs.
    Running {
        /// Entries shown.
        entries: usize,
        /// Notes shown.
        notes: usize,
    },
    /// Done.
    Complete {
        /// Memory changes applied.
        applied: usize,
        /// Changes the rule pack rejected.
        rejected: usize,
    },
    /// The run failed.
    Failed {
        /// Stable code.
        code: String,
    },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Claimed { run } => write!(f, "consolidation: claimed (run {run})"),
            Event::UpToDate => write!(f, "consolidation: up to date"),
            Event::AlreadyRunning => write!(f, "consolidation: already running"),
            Event::Running { entries, notes } => {
                write!(f, "consolidation: running ({entries} entries, {notes} notes)")
            }
            Event::Complete { applied, rejected } => {
                write!(f, "consolidation: complete ({applied} changes applied, {rejected} rejected)")
            }
            Event::Failed { code } => write!(f, "consolidation: failed ({code})"),
        }
    }
}

/// How a consolidation attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Nothing to do: not dirty, retries spent, or in backoff.
    SkippedNotDirty,
    /// Another worker holds the lease.
    SkippedRunning,
    /// The run finished (with or without changes).
    Succeeded,
    /// The tenant had no entries and no notes.
    SucceededNoInput,
    /// The run failed.
    Failed {
        /// Stable code.
        code: String,
        /// One line.
        message: String,
        /// Whether it will be retried.
        retrying: bool,
    },
}

impl Status {
    /// The status counter's label.
    pub fn label(&self) -> String {
        match self {
            Status::SkippedNotDirty => "skipped_not_dirty".into(),
            Status::SkippedRunning => "skipped_running".into(),
            Status::Succeeded => "succeeded".into(),
            Status::SucceededNoInput => "succeeded_no_input".into(),
            Status::Failed { code, .. } => format!("failed_{code}"),
        }
    }
}

/// What one consolidation attempt did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The tenant.
    pub tenant: String,
    /// How it ended.
    pub status: Status,
    /// The run number, when claimed.
    pub run: Option<u64>,
    /// What was decided, when the run got that far.
    pub recorded: Option<Recorded>,
    /// The snapshot written.
    pub snapshot_id: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// What the steps ended with.
enum Done {
    NoInput { notes_cursor: u64 },
    Committed { recorded: Box<Recorded>, snapshot_id: String, notes_cursor: u64 },
}

impl<S: JobStore> Consolidator<S> {
    /// Runs one consolidation of `tenant` if it is due, telling `progress`
    /// each stage, and records the outcome — here, and only here.
    pub async fn run(&self, tenant: &str, progress: &(dyn Fn(&Event) + Sync)) -> Report {
        let span = tracing::info_span!("consolidation", tenant = %tenant);
        self.run_recorded(tenant, progress).instrument(span).await
    }

    async fn run_recorded(&self, tenant: &str, progress: &(dyn Fn(&Event) + Sync)) -> Report {
        let started = Instant::now();
        let emit = |event: Event| {
            tracing::info!(%event);
            progress(&event);
        };
        let lease_ms = self.settings.lease.as_millis() as u64;
        let claim = self.jobs.claim_consolidation(tenant, &self.settings.worker, lease_ms, now_ms()).await;
        let (status, run, recorded, snapshot_id) = match claim {
            Ok(ConsolidationClaim::SkippedNotDirty) => (Status::SkippedNotDirty, None, None, None),
            Ok(ConsolidationClaim::SkippedRunning) => (Status::SkippedRunning, None, None, None),
            Err(err) => (failed(&FlowError::Jobs(err), true), None, None, None),
            Ok(ConsolidationClaim::Claimed(lease)) => {
                metrics::counter!(metric_names::STATUS, "status" => "claimed").increment(1);
                emit(Event::Claimed { run: lease.run });
                let result = self.steps(&lease, &emit).await;
                let (status, recorded, snapshot_id) = self.finish(&lease, result).await;
                (status, Some(lease.run), recorded, snapshot_id)
            }
        };

        let elapsed = started.elapsed();
        metrics::counter!(metric_names::STATUS, "status" => status.label()).increment(1);
        if run.is_some() {
            let outcome = match &status {
                Status::Failed { code, .. } if code == "lost_ownership" => "lost_ownership".to_string(),
                Status::Failed { .. } => "failed".to_string(),
                other => other.label(),
            };
            metrics::counter!(jobs_metrics::JOBS, "kind" => "consolidation", "outcome" => outcome.clone()).increment(1);
            if outcome == "lost_ownership" {
                metrics::counter!(jobs_metrics::LEASE_LOSSES, "kind" => "consolidation").increment(1);
            }
        }
        match &status {
            Status::SkippedNotDirty => emit(Event::UpToDate),
            Status::SkippedRunning => emit(Event::AlreadyRunning),
            Status::Succeeded | Status::SucceededNoInput => {
                let applied = recorded.as_ref().map_or(0, |r| r.plan.memory_applied);
                let rejected =
                    recorded.as_ref().map_or(0, |r| r.decision.proposed_count() - r.decision.accepted_count());
                emit(Event::Complete { applied, rejected });
            }
            Status::Failed { code, message, retrying } => {
                tracing::warn!(code = %code, retrying, error = %message, "consolidation failed");
                emit(Event::Failed { code: code.clone() });
            }
        }
        if let Some(run) = run {
            self.record_metrics(tenant, run, &status, recorded.as_ref(), elapsed).await;
        }
        Report { tenant: tenant.to_string(), status, run, recorded, snapshot_id, elapsed }
    }

    /// The recipe, once the run is claimed.
    async fn steps(&self, lease: &ConsolidationLease, emit: &(dyn Fn(Event) + Sync)) -> Result<Done, FlowError> {
        let tenant = self.data.tenant(&lease.tenant)?;
        let job_id = lease.job_id();
        // 1. Load: entries, most recently changed first, and the raw notes
        //    of the reflections since the last success.
        let inputs = inputs::load(&tenant, lease.notes_cursor, &self.settings.inputs)?;
        // 2. Keep what the LLM is shown in `consolidation/`.
        let summaries: Vec<(String, String)> =
            inputs.notes.iter().map(|note| (note.snapshot_id.clone(), note.to_markdown())).collect();
        tenant.sync_consolidation_notes(&summaries, &raw_notes(&inputs))?;
        // 3. Nothing to consolidate.
        if inputs.is_empty() {
            return Ok(Done::NoInput { notes_cursor: inputs.notes_cursor });
        }
        // 4. The prompt, within the context window.
        let prompt = prompt::build(&inputs, &self.settings.window)?;
        emit(Event::Running { entries: inputs.shown.len(), notes: inputs.notes.len() });
        // 5. Ask the LLM, heartbeating while it works.
        let request = ChatRequest {
            tenant: lease.tenant.clone(),
            purpose: "consolidation",
            piece: String::new(),
            system: prompt.system,
            user: prompt.user,
            schema: proposal_schema(),
        };
        let lease_ms = self.settings.lease.as_millis() as u64;
        let beat = || self.jobs.heartbeat_consolidation(&lease.tenant, &lease.token, lease_ms, now_ms());
        let completion = heartbeating(self.settings.heartbeat, beat, self.llm.complete(&request)).await??;
        // 6. Parse, strictly; a consolidation never edits a piece.
        let proposal = Proposal::from_json(&completion.text)?;
        if let Some(edit) = &proposal.piece_edit {
            return Err(FlowError::PieceEditInConsolidation { piece: edit.piece.clone() });
        }
        // 7. Under the tenant lock, still the owner, on the store as it is
        //    now: the rule pack decides.
        let lock = take_lock(&self.jobs, &tenant).await?;
        if !self.jobs.heartbeat_consolidation(&lease.tenant, &lease.token, lease_ms, now_ms()).await? {
            return Err(FlowError::LostOwnership);
        }
        let entries = tenant.entries()?;
        let history = tenant.snapshots()?;
        let now = now_ms();
        let run = RunView { piece: "", outcome: RunOutcome::Consolidation, job_id: &job_id, now_ms: now };
        let (context, index) = policy_view(&self.indexes, &tenant, &entries, &history, &run, None)?;
        let decision = self.packs.current().pack_for(&lease.tenant).evaluate(&proposal, &context, &index);
        // 8. Plan the writes (the entries and a regenerated `MEMORY.md`).
        let plan = plan::build(&tenant, &entries, &proposal, &decision)?;
        let recorded = Recorded {
            created_at_ms: now,
            proposal: decision.amend(&proposal),
            // An amendment may have redacted what the raw answer still holds.
            raw_output: (self.settings.keep_raw_output && decision.amended_count() == 0).then_some(completion.text),
            decision,
            plan,
            model: completion.model,
            tokens_in: completion.tokens_in,
            tokens_out: completion.tokens_out,
            trimmed: prompt.trimmed,
            inputs: Some(RecordedInputs::new(&context, &index)),
        };
        // 9. Apply and snapshot, as one commit.
        let origin =
            Origin { kind: JobKind::Consolidation.as_str(), job_id: &job_id, source_run: None, reviewer: None };
        let snapshot_id = commit::commit(&tenant, &lock.file, &origin, &recorded)?;
        // 10. Queue what a policy held for a person, as the reflection flow
        //     does: a held change must wait for a reviewer, not vanish.
        let job = (JobKind::Consolidation, JobId(i64::try_from(lease.run).unwrap_or(i64::MAX)));
        let expire_after = self.settings.review_expire_after;
        let reviews = review::held(&lease.tenant, job, &snapshot_id, &recorded, now_ms(), expire_after);
        if !reviews.is_empty() {
            self.jobs.add_reviews(&reviews).await?;
            metrics::counter!(jobs_metrics::REVIEWS, "outcome" => "held").increment(reviews.len() as u64);
            tracing::info!(reviews = reviews.len(), "held changes queued for review");
        }
        Ok(Done::Committed { recorded: Box::new(recorded), snapshot_id, notes_cursor: inputs.notes_cursor })
    }

    /// Reports the steps' result to the job store: succeed with the claimed
    /// watermark, or fail (retried when another attempt could succeed).
    async fn finish(
        &self,
        lease: &ConsolidationLease,
        result: Result<Done, FlowError>,
    ) -> (Status, Option<Recorded>, Option<String>) {
        let now = now_ms();
        let (status, notes_cursor, recorded, snapshot_id) = match result {
            Ok(Done::NoInput { notes_cursor }) => (Status::SucceededNoInput, notes_cursor, None, None),
            Ok(Done::Committed { recorded, snapshot_id, notes_cursor }) => {
                // An answer that changed nothing writes an empty snapshot:
                // it still records what was proposed and rejected.
                (Status::Succeeded, notes_cursor, Some(*recorded), Some(snapshot_id))
            }
            Err(err) => {
                let delay = err.is_retryable().then_some(self.settings.retry_delay.as_millis() as u64);
                let message = err.to_string();
                let fail = self.jobs.fail_consolidation(&lease.tenant, &lease.token, err.code(), &message, delay, now);
                let status = match fail.await {
                    _ if matches!(err, FlowError::LostOwnership) => failed(&err, false),
                    Ok(FailOutcome::Retrying { .. }) => failed(&err, true),
                    Ok(FailOutcome::Dead) => failed(&err, false),
                    Ok(FailOutcome::LostOwnership) => failed(&FlowError::LostOwnership, false),
                    Err(store_err) => {
                        tracing::error!(error = %store_err, "could not record the failure");
                        failed(&err, true)
                    }
                };
                return (status, None, None);
            }
        };
        let succeeded = self
            .jobs
            .succeed_consolidation(&lease.tenant, &lease.token, lease.input_watermark, notes_cursor, now)
            .await;
        match succeeded {
            Ok(true) => (status, recorded, snapshot_id),
            // The commit happened under a confirmed lease; only the
            // bookkeeping was lost, and the next run will find nothing new.
            Ok(false) => (failed(&FlowError::LostOwnership, false), recorded, snapshot_id),
            Err(err) => (failed(&FlowError::Jobs(err), true), recorded, snapshot_id),
        }
    }

    async fn record_metrics(
        &self,
        tenant: &str,
        run: u64,
        status: &Status,
        recorded: Option<&Recorded>,
        elapsed: Duration,
    ) {
        let (outcome, reason_code) = match status {
            Status::Failed { code, .. } => ("failed", Some(code.clone())),
            Status::SucceededNoInput => ("succeeded_no_input", None),
            _ => ("succeeded", None),
        };
        let mut rejections = std::collections::BTreeMap::new();
        for rejection in recorded.iter().flat_map(|r| r.decision.all_rejections()) {
            *rejections.entry(rejection.code.clone()).or_default() += 1;
        }
        let row = MetricsRow {
            job_id: JobId(i64::try_from(run).unwrap_or(i64::MAX)),
            tenant: tenant.to_string(),
            kind: JobKind::Consolidation,
            outcome: outcome.to_string(),
            reason_code,
            changes_applied: recorded.map_or(0, |r| r.plan.memory_applied as u32),
            piece_edited: false,
            tokens_in: recorded.map_or(0, |r| r.tokens_in),
            tokens_out: recorded.map_or(0, |r| r.tokens_out),
            duration_ms: elapsed.as_millis() as u64,
            rejections,
            created_at_ms: now_ms(),
        };
        if let Err(err) = self.jobs.record_metrics(&row).await {
            tracing::error!(error = %err, "could not record the metrics row");
        }
    }
}

fn failed(err: &FlowError, retrying: bool) -> Status {
    Status::Failed { code: err.code().to_string(), message: err.to_string(), retrying }
}

/// `raw_notes.md`: every note this run is shown, newest first.
fn raw_notes(inputs: &Inputs) -> String {
    let mut text = format!("# Raw notes since the last consolidation ({} runs", inputs.notes.len());
    if inputs.notes_dropped > 0 {
        text.push_str(&format!("; {} older runs beyond the cap left out", inputs.notes_dropped));
    }
    text.push_str(")\n");
    for note in &inputs.notes {
        text.push('\n');
        text.push_str(&note.to_markdown());
    }
    text
}
