//! What the reflection and consolidation flows share: their error type,
//! the decision they record, the write plan ([`plan`]), the commit that
//! writes it with its snapshot ([`commit`]), and the heartbeat that keeps a
//! lease while the LLM works.

pub mod commit;
pub mod context;
pub mod plan;
pub mod review;

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use plan::{Plan, Skipped};

use crate::jobs::{JobStore, JobStoreError, TenantDbLock};
use crate::llm::LlmError;
use crate::policy::{Context, DecisionRecord, Proposal, ProposalError, TenantIndex};
use crate::store::{StoreError, TenantDir, TenantLock};

/// Why a reflection or consolidation attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The tenant store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job store failed.
    #[error(transparent)]
    Jobs(#[from] JobStoreError),
    /// The LLM gave no answer.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The answer is not a valid proposal.
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    /// The prompt does not fit the model's window, even trimmed.
    #[error("the prompt needs ~{needed} tokens but the window leaves {budget}")]
    ContextOverflow {
        /// Estimated tokens.
        needed: usize,
        /// Tokens available.
        budget: usize,
    },
    /// The run's piece exists neither for the tenant nor built in.
    #[error("there is no piece `{piece}`")]
    UnknownPiece {
        /// The piece.
        piece: String,
    },
    /// Another worker took the job over.
    #[error("lost ownership of the job to another worker")]
    LostOwnership,
    /// A consolidation answer tried to edit a piece.
    #[error("a consolidation may change memory entries only, not the piece `{piece}`")]
    PieceEditInConsolidation {
        /// The piece.
        piece: String,
    },
    /// The record of an earlier attempt does not parse.
    #[error("the recorded decision does not parse: {0}")]
    Record(String),
}

impl FlowError {
    /// Stable code of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            FlowError::Store(err) => err.code(),
            FlowError::Jobs(err) => err.code(),
            FlowError::Llm(err) => err.code(),
            FlowError::Proposal(_) => ProposalError::CODE,
            FlowError::ContextOverflow { .. } => "context_overflow",
            FlowError::UnknownPiece { .. } => "unknown_piece",
            FlowError::LostOwnership => "lost_ownership",
            FlowError::PieceEditInConsolidation { .. } => ProposalError::CODE,
            FlowError::Record(_) => "record_corrupt",
        }
    }

    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FlowError::Llm(err) => err.is_transient(),
            // A model may answer well the next time.
            FlowError::Proposal(_) | FlowError::PieceEditInConsolidation { .. } => true,
            FlowError::Jobs(_) => true,
            FlowError::Store(err) => err.is_retryable(),
            _ => false,
        }
    }
}

/// What an attempt decided: recorded in the job store before a reflection
/// writes anything, and the source of every snapshot's meta.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    /// The job's clock, fixed at the decision.
    pub created_at_ms: u64,
    /// The parsed proposal.
    pub proposal: Proposal,
    /// The verdicts.
    pub decision: DecisionRecord,
    /// The writes.
    pub plan: Plan,
    /// The model that answered.
    pub model: String,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// The raw answer, when kept.
    pub raw_output: Option<String>,
    /// What the context guard trimmed.
    pub trimmed: Vec<String>,
    /// What the pack saw besides the proposal, for a replay (issue 13);
    /// absent in records written before replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<RecordedInputs>,
}

/// The context a pack decided in, and which tenant index it read: a replay
/// rebuilds the index from the tenant's snapshots and checks it against
/// this digest before it trusts a verdict made on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedInputs {
    /// The policy context, as the pack got it.
    pub context: Context,
    /// [`TenantIndex::digest`] of the index the pack read.
    pub index_digest: u64,
}

impl RecordedInputs {
    /// The inputs of a decision on `context` and `index`.
    pub fn new(context: &Context, index: &TenantIndex) -> RecordedInputs {
        RecordedInputs { context: context.clone(), index_digest: index.digest() }
    }
}

impl Recorded {
    /// What an operator's action (an approval, a forget) decided: no LLM
    /// took part.
    pub fn by_operator(now_ms: u64, proposal: Proposal, decision: DecisionRecord, plan: Plan) -> Recorded {
        Recorded {
            created_at_ms: now_ms,
            proposal: decision.amend(&proposal),
            decision,
            plan,
            model: String::new(),
            tokens_in: 0,
            tokens_out: 0,
            raw_output: None,
            trimmed: Vec::new(),
            inputs: None,
        }
    }
}

/// Tokens a text costs, estimated as bytes / 4 (the context guards' unit).
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// Runs `work`, calling `beat` every `period` to extend a lease; ends with
/// [`FlowError::LostOwnership`] as soon as a beat reports the lease lost.
pub async fn heartbeating<F, B, Beat>(period: Duration, mut beat: B, work: F) -> Result<F::Output, FlowError>
where
    F: Future,
    B: FnMut() -> Beat,
    Beat: Future<Output = Result<bool, JobStoreError>>,
{
    // The first beat is one period away. `interval`'s first tick would be
    // due at once, yet tokio's timer wheel rounds it up to its next
    // millisecond: awaiting it cost every job about a millisecond.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(work);
    loop {
        tokio::select! {
            output = &mut work => return Ok(output),
            _ = ticker.tick() => {
                if !beat().await? {
                    tracing::warn!("heartbeat refused: another worker owns the lease");
                    return Err(FlowError::LostOwnership);
                }
            }
        }
    }
}

/// Both locks on a tenant: the database's (hosts sharing a data
/// directory) and the tenant store's (processes on one host).
pub struct Locked {
    // Dropped after `file`: fields drop in declaration order.
    /// The store's lock, which commits take as proof.
    pub file: TenantLock,
    _db: TenantDbLock,
}

/// Takes the database lock, then the store lock, without blocking the
/// async runtime. Always in this order, so two holders cannot deadlock.
pub async fn take_lock<S: JobStore>(jobs: &S, tenant: &TenantDir) -> Result<Locked, FlowError> {
    let db = jobs.lock_tenant(tenant.name()).await?;
    let file = match tenant.try_lock()? {
        Some(file) => file,
        // Held: wait on a thread of its own. Only then, as a hand-off to
        // another thread costs about as much as the lock itself.
        None => {
            let handle = tenant.lock_handle()?;
            tokio::task::spawn_blocking(move || handle.acquire()).await.map_err(|err| {
                FlowError::Store(StoreError::Io { path: "lock".into(), source: std::io::Error::other(err) })
            })??
        }
    };
    Ok(Locked { file, _db: db })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
