//! Forgetting one agent run (issue 12): every entry version that run
//! produced is taken back, through the tenant's pack, as one snapshot.
//!
//! For each entry the run wrote, read its versions newest first
//! ([`TenantDir::entry_history`]). If the newest came from the run, the
//! entry goes back to what it was before the run's latest unbroken stretch
//! of versions: removed if the run created it, restored otherwise. If a
//! later run wrote it since, that run confirmed it: it keeps that content.
//! The undo is a proposal like any other — removals and updates — decided
//! by the host checks and the pack, planned and committed as a snapshot of
//! kind `forget`; what the pack refuses stays, and is reported.

use std::collections::BTreeSet;

use crate::flow::commit::{self, Origin};
use crate::flow::context::{RunView, policy_view};
use crate::flow::{FlowError, Recorded, plan, take_lock};
use crate::jobs::JobStore;
use crate::policy::{DecisionRecord, MemoryChange, Op, Proposal, RunOutcome};
use crate::reflection::Reflector;
use crate::store::{Entry, FileChange, SnapshotMeta, TenantDir, TenantFile, VerdictCounts, memory_index, snapshot_id};

/// What forgetting a run did.
#[derive(Debug, Clone)]
pub struct Forgotten {
    /// The snapshot recording it; `None` when the run left nothing to undo.
    pub snapshot_id: Option<String>,
    /// The decision on the undo, with every change the pack refused.
    pub decision: Option<DecisionRecord>,
    /// Entries removed: the run created them.
    pub removed: Vec<String>,
    /// Entries restored to their version before the run.
    pub restored: Vec<String>,
    /// Entries the run wrote that a later run changed since: kept.
    pub kept: Vec<String>,
}

impl<S: JobStore> Reflector<S> {
    /// Takes back every entry version of tenant `tenant` that came from
    /// agent run `source_run`, at `now_ms`.
    pub async fn forget(&self, tenant: &str, source_run: &str, now_ms: u64) -> Result<Forgotten, FlowError> {
        let dir = self.data.tenant(tenant)?;
        let lock = take_lock(&self.jobs, &dir).await?;
        // 1. The entries the run wrote.
        let written = entries_written_by(&dir, source_run)?;
        // 2. What each goes back to.
        let mut undo = Vec::new();
        let mut kept = Vec::new();
        for name in &written {
            let versions = dir.entry_history(name)?;
            let streak: Vec<_> =
                versions.iter().take_while(|version| version.source_run.as_deref() == Some(source_run)).collect();
            let Some(oldest) = streak.last() else {
                kept.push(name.clone());
                continue;
            };
            undo.push(match &oldest.before {
                None => MemoryChange {
                    op: Op::Remove,
                    name: name.clone(),
                    description: None,
                    entry_type: None,
                    body: None,
                    merge_target: None,
                },
                Some(text) => {
                    let entry = Entry::parse(name, text)?;
                    MemoryChange {
                        op: Op::Update,
                        name: name.clone(),
                        description: Some(entry.description),
                        entry_type: Some(entry.entry_type),
                        body: Some(entry.body),
                        merge_target: None,
                    }
                }
            });
        }
        if undo.is_empty() {
            return Ok(Forgotten {
                snapshot_id: None,
                decision: None,
                removed: Vec::new(),
                restored: Vec::new(),
                kept,
            });
        }
        // 3. The pack decides on the undo, on the store as it is.
        let job_id = format!("forget-{}", now_ms);
        let proposal = Proposal {
            reasoning: format!("forget every entry version of agent run {source_run}"),
            memory_changes: undo,
            piece_edit: None,
        };
        let entries = dir.entries()?;
        let history = dir.snapshots()?;
        let run = RunView { piece: "", outcome: RunOutcome::Succeeded, job_id: &job_id, now_ms };
        let (context, index) = policy_view(&self.indexes, &dir, &entries, &history, &run, None)?;
        let decision = self.packs.current().pack_for(tenant).evaluate(&proposal, &context, &index);
        // 4. Plan and commit what it accepts, as one snapshot.
        let plan = plan::build(&dir, &entries, &proposal, &decision)?;
        let applied = |op: Op| -> Vec<String> {
            proposal
                .memory_changes
                .iter()
                .enumerate()
                .filter(|(i, change)| change.op == op && decision.applies_memory(*i))
                .map(|(_, change)| change.name.clone())
                .collect()
        };
        let (removed, restored) = (applied(Op::Remove), applied(Op::Update));
        let recorded = Recorded::by_operator(now_ms, proposal, decision, plan);
        let origin = Origin { kind: "forget", job_id: &job_id, source_run: None, reviewer: None };
        let snapshot = commit::commit(&dir, &lock.file, &origin, &recorded)?;
        tracing::info!(tenant, source_run, removed = removed.len(), restored = restored.len(), kept = kept.len(), snapshot = %snapshot, "forgot a source run");
        Ok(Forgotten { snapshot_id: Some(snapshot), decision: Some(recorded.decision), removed, restored, kept })
    }
}

/// The entries any snapshot of agent run `source_run` wrote.
fn entries_written_by(dir: &TenantDir, source_run: &str) -> Result<BTreeSet<String>, FlowError> {
    let mut names = BTreeSet::new();
    for line in dir.snapshots()?.iter().filter(|line| line.memory_writes > 0) {
        let (meta, changes) = dir.read_snapshot(&line.id)?;
        if meta.source_run.as_deref() != Some(source_run) {
            continue;
        }
        for change in changes {
            if let crate::store::TenantFile::Entry(name) = change.file {
                names.insert(name);
            }
        }
    }
    Ok(names)
}

/// Why an entry could not be un-merged.
#[derive(Debug, thiserror::Error)]
pub enum UnmergeError {
    /// No superseded entry has this name.
    #[error("`{0}` is not an entry a merge superseded")]
    NotSuperseded(String),
    /// A live entry has the name again.
    #[error("`{0}` is a live entry again; remove or rename it first")]
    NameTaken(String),
    /// The store failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl UnmergeError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            UnmergeError::NotSuperseded(_) => "not_superseded",
            UnmergeError::NameTaken(_) => "name_exists",
            UnmergeError::Flow(err) => err.code(),
        }
    }
}

impl<S: JobStore> Reflector<S> {
    /// Undoes one merge for one entry: the superseded entry `name` is live
    /// again, as it was when merged (its target keeps what the merge gave
    /// it). Like a rollback, an operator's restore of content the pack
    /// accepted once; recorded as a snapshot of kind `unmerge`.
    pub async fn unmerge(&self, tenant: &str, name: &str, now_ms: u64) -> Result<String, UnmergeError> {
        let dir = self.data.tenant(tenant).map_err(FlowError::from)?;
        let lock = take_lock(&self.jobs, &dir).await?;
        let superseded = dir.superseded_entries().map_err(FlowError::from)?;
        let Some((stored, target)) = superseded.into_iter().find(|(stored, _)| stored.entry.name == name) else {
            return Err(UnmergeError::NotSuperseded(name.to_string()));
        };
        let mut live: Vec<Entry> = dir.entries().map_err(FlowError::from)?.into_iter().map(|s| s.entry).collect();
        if live.iter().any(|entry| entry.name == name) {
            return Err(UnmergeError::NameTaken(name.to_string()));
        }
        let file = TenantFile::Entry(name.to_string());
        let entry_change = FileChange {
            file: file.clone(),
            before: Some(stored.entry.to_superseded_markdown(&target)),
            after: Some(stored.entry.to_markdown()),
        };
        live.push(stored.entry);
        live.sort_by(|a, b| a.name.cmp(&b.name));
        let index_before = dir.read_file(&TenantFile::MemoryIndex).map_err(FlowError::from)?;
        let index_change =
            FileChange { file: TenantFile::MemoryIndex, before: index_before, after: Some(memory_index(&live)) };
        let changes = vec![entry_change, index_change];
        let job_id = format!("unmerge-{now_ms}");
        let meta = SnapshotMeta {
            id: snapshot_id(now_ms, &job_id),
            tenant: tenant.to_string(),
            job_id,
            kind: "unmerge".to_string(),
            created_at_ms: now_ms,
            reasoning: format!("un-merge `{name}` from `{target}`"),
            model: None,
            tokens_in: 0,
            tokens_out: 0,
            decision: None,
            files: changes.iter().map(|c| c.file.clone()).collect(),
            raw_llm_output: None,
            restores: None,
            source_run: None,
            reviewer: None,
        };
        dir.commit(&lock.file, &meta, &changes, VerdictCounts::default()).map_err(FlowError::from)?;
        tracing::info!(tenant, name, target = %target, snapshot = %meta.id, "un-merged an entry");
        Ok(meta.id)
    }
}
