//! Approving and denying held changes (issue 12). An approval is not a
//! bypass: the change is decided again, by the host checks and the
//! tenant's pack, on the store as it is *now* — a name taken since, a
//! store grown full, is refused with that rule's code — and only the holds
//! are waived, which is what the reviewer decided. It is then applied and
//! snapshotted like a job, naming the reviewer.
//!
//! A flow of numbered steps under the tenant lock; the review is marked
//! decided only after the commit, and denials take the same lock, so one
//! review is never both applied and denied.

use crate::policy::{MemoryChange, PieceEdit, Proposal, RunOutcome};

use crate::flow::commit::{self, Origin};
use crate::flow::context::{RunView, policy_view};
use crate::flow::{FlowError, Recorded, plan, take_lock};
use crate::jobs::{JobStore, JobStoreError, Resolution, Review, ReviewId, ReviewStatus, metric_names};
use crate::reflection::Reflector;

/// Why a review could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No review has this id.
    #[error("there is no review {0}")]
    Unknown(ReviewId),
    /// Someone decided it already, or it expired.
    #[error("review {id} is {status}, not pending")]
    NotPending {
        /// The review.
        id: ReviewId,
        /// Where it stands.
        status: &'static str,
    },
    /// Decided again on the store as it is now, the change is refused.
    #[error("review {id} cannot be approved: {module} rejects it now: {code}: {message}")]
    Refused {
        /// The review.
        id: ReviewId,
        /// Who refuses.
        module: String,
        /// The rule's code.
        code: String,
        /// Why.
        message: String,
    },
    /// The stored change does not parse.
    #[error("review {id} holds a change that does not parse: {reason}")]
    Damaged {
        /// The review.
        id: ReviewId,
        /// The parse error.
        reason: String,
    },
    /// The job database failed.
    #[error(transparent)]
    Jobs(#[from] JobStoreError),
    /// The flow failed (store, lock).
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl ReviewError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::Unknown(_) => "review_not_found",
            ReviewError::NotPending { .. } => "review_not_pending",
            ReviewError::Refused { .. } => "review_refused",
            ReviewError::Damaged { .. } => "review_damaged",
            ReviewError::Jobs(err) => err.code(),
            ReviewError::Flow(err) => err.code(),
        }
    }
}

/// The held change of a review, as it was proposed: one memory change, or
/// the changes of a held merge, which are decided together.
enum Held {
    Memory(Vec<MemoryChange>),
    Piece(PieceEdit),
}

impl<S: JobStore> Reflector<S> {
    /// Approves review `id` for `by`: decides the change again on the store
    /// as it is, waives only its holds, applies it; returns the snapshot.
    pub async fn approve(&self, id: ReviewId, by: &str, now_ms: u64) -> Result<String, ReviewError> {
        // 1. The review, still pending, and its change.
        let review = self.pending(id).await?;
        let held = parse(&review)?;
        let tenant = self.data.tenant(&review.tenant).map_err(FlowError::from)?;
        // 2. Under the tenant lock, on the store as it is now: pending still,
        //    and the pack decides once more.
        let lock = take_lock(&self.jobs, &tenant).await?;
        self.pending(id).await?;
        let entries = tenant.entries().map_err(FlowError::from)?;
        let history = tenant.snapshots().map_err(FlowError::from)?;
        let job_id = format!("review-{id}");
        let proposal = Proposal {
            reasoning: format!("review {id} of {} job {} approved by {by}", review.job_kind, review.job_id),
            memory_changes: match &held {
                Held::Memory(changes) => changes.clone(),
                Held::Piece(_) => Vec::new(),
            },
            piece_edit: match &held {
                Held::Piece(edit) => Some(edit.clone()),
                Held::Memory(_) => None,
            },
        };
        let edited = proposal.piece_edit.as_ref().map(|edit| edit.piece.as_str());
        // A consolidation's change is decided again as a consolidation's, under
        // the rules that decided it (cooldowns spare consolidations).
        let outcome = match review.job_kind.as_str() {
            "consolidation" => RunOutcome::Consolidation,
            _ => RunOutcome::Succeeded,
        };
        let run = RunView { piece: edited.unwrap_or(""), outcome, job_id: &job_id, now_ms };
        let (context, index) = policy_view(&self.indexes, &tenant, &entries, &history, &run, edited)?;
        let mut decision = self.packs.current().pack_for(&review.tenant).evaluate(&proposal, &context, &index);
        // 3. Any rejection stands (of any change of a merge: it is one
        //    decision); the holds are what the reviewer waives.
        if decision.memory.is_empty() && decision.piece.is_none() {
            return Err(ReviewError::Damaged { id, reason: "no change to decide".to_string() });
        }
        for verdict in decision.memory.iter_mut().chain(decision.piece.as_mut()) {
            if let Some(rejection) = verdict.rejections.iter().find(|r| !r.advisory) {
                let (module, code, message) =
                    (rejection.module.clone(), rejection.code.clone(), rejection.message.clone());
                return Err(ReviewError::Refused { id, module, code, message });
            }
            if verdict.held {
                verdict.held = false;
                verdict.accepted = true;
            }
        }
        // 4. Plan and commit, as a snapshot naming the reviewer.
        let plan = plan::build(&tenant, &entries, &proposal, &decision)?;
        if let Some(skipped) = plan.skipped.first() {
            let (module, code, message) = ("host".to_string(), skipped.code.clone(), skipped.message.clone());
            return Err(ReviewError::Refused { id, module, code, message });
        }
        // The run the held change came from, as its job's snapshot names it.
        let source_run = tenant.read_snapshot(&review.store_version).ok().and_then(|(meta, _)| meta.source_run);
        let recorded = Recorded::by_operator(now_ms, proposal, decision, plan);
        let origin = Origin { kind: "review", job_id: &job_id, source_run: source_run.as_deref(), reviewer: Some(by) };
        let snapshot = commit::commit(&tenant, &lock.file, &origin, &recorded)?;
        // 5. Only now is the review decided.
        let resolution =
            Resolution { status: ReviewStatus::Approved, by, reason: None, snapshot_id: Some(&snapshot), now_ms };
        if !self.jobs.resolve_review(id, &resolution).await? {
            // Only expiry decides without the tenant lock: it ran out in the
            // moment between our check and now. The change is applied; say so.
            tracing::warn!(review = id, tenant = %review.tenant, snapshot = %snapshot, "review expired while it was being approved; the change was applied");
        }
        metrics::counter!(metric_names::REVIEWS, "outcome" => "approved").increment(1);
        tracing::info!(review = id, tenant = %review.tenant, by, snapshot = %snapshot, "review approved and applied");
        Ok(snapshot)
    }

    /// Denies review `id` for `by`: nothing is written.
    pub async fn deny(&self, id: ReviewId, by: &str, reason: Option<&str>, now_ms: u64) -> Result<(), ReviewError> {
        let review = self.pending(id).await?;
        let tenant = self.data.tenant(&review.tenant).map_err(FlowError::from)?;
        let _lock = take_lock(&self.jobs, &tenant).await?;
        let resolution = Resolution { status: ReviewStatus::Denied, by, reason, snapshot_id: None, now_ms };
        if !self.jobs.resolve_review(id, &resolution).await? {
            return Err(self.pending(id).await.err().unwrap_or(ReviewError::Unknown(id)));
        }
        metrics::counter!(metric_names::REVIEWS, "outcome" => "denied").increment(1);
        tracing::info!(review = id, tenant = %review.tenant, by, "review denied");
        Ok(())
    }

    /// Expires every review whose time is up, as denied.
    pub async fn expire_reviews(&self, now_ms: u64) -> Result<usize, ReviewError> {
        let expired = self.jobs.expire_reviews(now_ms).await?;
        for tenant in &expired {
            tracing::info!(tenant = %tenant, "review expired");
        }
        metrics::counter!(metric_names::REVIEWS, "outcome" => "expired").increment(expired.len() as u64);
        Ok(expired.len())
    }

    async fn pending(&self, id: ReviewId) -> Result<Review, ReviewError> {
        let review = self.jobs.review(id).await?.ok_or(ReviewError::Unknown(id))?;
        match review.status {
            ReviewStatus::Pending => Ok(review),
            status => Err(ReviewError::NotPending { id, status: status.as_str() }),
        }
    }
}

fn parse(review: &Review) -> Result<Held, ReviewError> {
    let damaged = |err: serde_json::Error| ReviewError::Damaged { id: review.id, reason: err.to_string() };
    let value: serde_json::Value = serde_json::from_str(&review.change).map_err(damaged)?;
    if value.is_array() {
        serde_json::from_value(value).map(Held::Memory).map_err(damaged)
    } else if value.get("yaml").is_some() {
        serde_json::from_value(value).map(Held::Piece).map_err(damaged)
    } else {
        serde_json::from_value(value).map(|change| Held::Memory(vec![change])).map_err(damaged)
    }
}
