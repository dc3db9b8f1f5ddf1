//! Past traffic, decided again (issue 13): a what-if **replay** of recorded
//! proposals under a candidate pack, and the **verification** of recorded
//! decisions under the very packs that made them (kept in the policy
//! archive).
//!
//! A decision is a pure function of the pack, the proposal, the context and
//! the tenant index. The job store keeps the first three with each job;
//! the index is rebuilt from the tenant's snapshots ([`rewind`]) and
//! checked against the digest recorded with the job, so no verdict is ever
//! compared on inputs other than those the pack saw. Read [`run`] first.
//! Nothing here writes: not the job store, not the tenant store.

pub mod compare;
mod rewind;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::flow::Recorded;
use crate::jobs::DecidedJob;
use crate::policy::{HostRules, PackManifest, PackMap, PolicyEngine, RulePack};
use crate::store::{DataDir, PolicyArchive, StoreError};
use compare::{Outcome, Verdict, agree, change_labels, verdicts};
use rewind::Rewind;

/// Keeps every pack of `map` and its modules in the policy archive of
/// `data`, so that [`Judge::Recorded`] can run each decision again on the
/// pack that made it, whatever the pack files say by then. Each is written
/// once; an archived one costs a lookup.
pub fn archive_packs(data: &DataDir, map: &PackMap) -> Result<(), StoreError> {
    let archive = data.policy_archive()?;
    for pack in map.packs() {
        let (manifest, modules) = pack.manifest();
        for (sha256, bytes) in modules {
            archive.keep_module(sha256, bytes)?;
        }
        // INVARIANT: a manifest is strings, numbers and bools: it encodes.
        let Ok(text) = serde_json::to_string_pretty(&manifest) else { continue };
        archive.keep_pack(&manifest.revision, &text)?;
    }
    Ok(())
}

/// Which packs decide again.
pub enum Judge<'a> {
    /// What a candidate pack map would have decided.
    Candidate(&'a PackMap),
    /// The packs the decisions were made with.
    Recorded(ArchivedPacks<'a>),
}

impl Judge<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Judge::Candidate(_) => "replay",
            Judge::Recorded(_) => "verify",
        }
    }
}

/// The packs of the policy archive, each rebuilt once.
pub struct ArchivedPacks<'a> {
    engine: &'a PolicyEngine,
    rules: HostRules,
    archive: &'a PolicyArchive,
    rebuilt: HashMap<String, Result<Arc<RulePack>, Skip>>,
}

impl<'a> ArchivedPacks<'a> {
    /// The archive's packs, rebuilt by `engine` under the operator's `rules`.
    pub fn new(engine: &'a PolicyEngine, rules: HostRules, archive: &'a PolicyArchive) -> ArchivedPacks<'a> {
        ArchivedPacks { engine, rules, archive, rebuilt: HashMap::new() }
    }

    fn pack(&mut self, revision: &str) -> Result<Arc<RulePack>, Skip> {
        if let Some(rebuilt) = self.rebuilt.get(revision) {
            return rebuilt.clone();
        }
        let rebuilt = self.rebuild(revision);
        self.rebuilt.insert(revision.to_string(), rebuilt.clone());
        rebuilt
    }

    fn rebuild(&self, revision: &str) -> Result<Arc<RulePack>, Skip> {
        let unavailable = |reason: String| Skip { code: "pack_not_archived", reason };
        let text = self
            .archive
            .pack(revision)
            .map_err(|err| unavailable(err.to_string()))?
            .ok_or_else(|| unavailable(format!("pack revision {revision} is not in the policy archive")))?;
        let manifest: PackManifest = serde_json::from_str(&text)
            .map_err(|err| Skip { code: "pack_mismatch", reason: format!("archived pack {revision}: {err}") })?;
        let bytes = |sha256: &str| self.archive.module(sha256).ok().flatten();
        RulePack::from_manifest(self.engine, &manifest, self.rules, bytes)
            .map(Arc::new)
            .map_err(|err| Skip { code: "pack_mismatch", reason: err.to_string() })
    }
}

/// Why a job was not decided again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Skip {
    code: &'static str,
    reason: String,
}

/// What a replay or a verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `replay` or `verify`.
    pub kind: &'static str,
    /// Decided jobs read from the job store.
    pub jobs: usize,
    /// Jobs decided again.
    pub replayed: usize,
    /// Changes decided again.
    pub changes: usize,
    /// How the verdicts moved.
    pub totals: Totals,
    /// Every change whose verdict differs, newest job first.
    pub differences: Vec<Difference>,
    /// Jobs not decided again, and why.
    pub skipped: Vec<Skipped>,
    /// Tenants by differences, most first.
    pub tenants: Vec<TenantCount>,
    /// Wall time, in ms.
    pub elapsed_ms: u64,
}

/// How the verdicts moved, change by change.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Accepted or held before, rejected now.
    pub newly_rejected: usize,
    /// Rejected or held before, accepted now.
    pub newly_accepted: usize,
    /// Accepted or rejected before, held now.
    pub newly_held: usize,
    /// Same outcome, but another module or code decided it.
    pub reason_changed: usize,
    /// Same verdict.
    pub unchanged: usize,
}

/// One change whose verdict differs.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// The job.
    pub job_id: i64,
    /// Its tenant.
    pub tenant: String,
    /// The change, e.g. `add deploy-order`.
    pub change: String,
    /// As recorded.
    pub before: Verdict,
    /// As decided now.
    pub after: Verdict,
}

/// A job not decided again.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The job.
    pub job_id: i64,
    /// Its tenant.
    pub tenant: String,
    /// Stable code: `no_inputs`, `record_corrupt`, `history_missing`,
    /// `history_changed`, `store_error`, `pack_not_archived`,
    /// `pack_mismatch`.
    pub code: &'static str,
    /// One line.
    pub reason: String,
}

/// Differences in one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct TenantCount {
    /// The tenant.
    pub tenant: String,
    /// Changes whose verdict differs.
    pub differences: usize,
}

impl Report {
    /// Whether a verification found anything wrong: a verdict that differs
    /// or a pack that is not what ran. Jobs that could not be checked for
    /// other reasons (records from before replays, a store changed by
    /// hand) are listed but do not fail it.
    pub fn failed_verification(&self) -> bool {
        !self.differences.is_empty() || self.skipped.iter().any(|s| s.code == "pack_mismatch")
    }
}

/// `90m`, `24h`, `7d` as milliseconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not an age like 90m, 24h or 7d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{text}` is not an age like 90m, 24h or 7d")),
    };
    Ok(number.saturating_mul(unit_ms))
}

/// Decides `jobs` again with `judge` and compares, tenant by tenant, each
/// tenant's store walked back from newest job to oldest.
pub fn run(data: &DataDir, jobs: &[DecidedJob], judge: &mut Judge<'_>) -> Report {
    let started = Instant::now();
    let mut report = Report { kind: judge.kind(), jobs: jobs.len(), ..Report::default() };
    // 1. Group the jobs by tenant.
    let mut by_tenant: BTreeMap<&str, Vec<&DecidedJob>> = BTreeMap::new();
    for job in jobs {
        by_tenant.entry(&job.tenant).or_default().push(job);
    }
    let existing = data.tenant_names().unwrap_or_default();
    for (tenant, jobs) in by_tenant {
        let mut skip_all = |code: &'static str, reason: String| {
            for job in &jobs {
                report.skipped.push(skipped(job, Skip { code, reason: reason.clone() }));
            }
        };
        // 2. Open the tenant's store as it is now (never creating it).
        if !existing.iter().any(|name| name == tenant) {
            skip_all("history_missing", format!("tenant `{tenant}` has no directory in the data dir"));
            continue;
        }
        let dir = match data.tenant(tenant) {
            Ok(dir) => dir,
            Err(err) => {
                skip_all("store_error", err.to_string());
                continue;
            }
        };
        let mut rewind = match Rewind::new(&dir) {
            Ok(rewind) => rewind,
            Err(err) => {
                skip_all("store_error", err.to_string());
                continue;
            }
        };
        // 3. Newest commit first, so the walk only goes back.
        let mut ordered: Vec<(usize, &DecidedJob)> = Vec::with_capacity(jobs.len());
        for job in jobs {
            match rewind.position(&job.snapshot_id) {
                Some(position) => ordered.push((position, job)),
                None => report.skipped.push(skipped(
                    job,
                    Skip {
                        code: "history_missing",
                        reason: format!("snapshot {} is not in the tenant's history", job.snapshot_id),
                    },
                )),
            }
        }
        ordered.sort_by_key(|(position, _)| std::cmp::Reverse(*position));
        for (_, job) in ordered {
            // 4.–6. Rebuild, decide, compare.
            match decide_again(&mut rewind, job, judge) {
                Ok(compared) => {
                    report.replayed += 1;
                    for (change, before, after) in compared {
                        report.changes += 1;
                        count(&mut report.totals, &before, &after);
                        if !agree(&before, &after) {
                            let tenant = job.tenant.clone();
                            report.differences.push(Difference { job_id: job.id.0, tenant, change, before, after });
                        }
                    }
                }
                Err(skip) => report.skipped.push(skipped(job, skip)),
            }
        }
    }
    report.differences.sort_by_key(|d| std::cmp::Reverse(d.job_id));
    report.skipped.sort_by_key(|s| std::cmp::Reverse(s.job_id));
    report.tenants = most_affected(&report.differences);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// One job: its inputs rebuilt and checked, its proposal decided again,
/// each change's verdicts (label, recorded, now).
fn decide_again(
    rewind: &mut Rewind<'_>,
    job: &DecidedJob,
    judge: &mut Judge<'_>,
) -> Result<Vec<(String, Verdict, Verdict)>, Skip> {
    let recorded: Recorded = serde_json::from_str(&job.recorded).map_err(|err| Skip {
        code: "record_corrupt",
        reason: format!("the recorded decision does not parse: {err}"),
    })?;
    let Some(inputs) = &recorded.inputs else {
        let reason = "recorded before decisions kept their inputs; it cannot be decided again".to_string();
        return Err(Skip { code: "no_inputs", reason });
    };
    // 4. The store as the pack saw it, checked against the record.
    let store_error = |err: crate::store::StoreError| Skip { code: "store_error", reason: err.to_string() };
    if !rewind.before(&job.snapshot_id).map_err(store_error)? {
        let reason = format!("snapshot {} is not in the tenant's history", job.snapshot_id);
        return Err(Skip { code: "history_missing", reason });
    }
    let edited = recorded.proposal.piece_edit.as_ref().map(|edit| edit.piece.as_str());
    let index = rewind.index(edited).map_err(store_error)?;
    if index.digest() != inputs.index_digest {
        let reason = "the tenant's store, rebuilt from its snapshots, is not what the pack saw \
                      (changed outside memwarden, or snapshots from before replays)"
            .to_string();
        return Err(Skip { code: "history_changed", reason });
    }
    // 5. Decide again.
    let decision = match judge {
        Judge::Candidate(map) => map.pack_for(&job.tenant).evaluate(&recorded.proposal, &inputs.context, &index),
        Judge::Recorded(archived) => {
            let pack = archived.pack(&recorded.decision.pack.revision)?;
            same_modules(&pack, &recorded)?;
            pack.evaluate(&recorded.proposal, &inputs.context, &index)
        }
    };
    // 6. Compare, change by change.
    let labels = change_labels(&recorded.proposal);
    let before = verdicts(&recorded.proposal, &recorded.decision);
    let after = verdicts(&recorded.proposal, &decision);
    Ok(labels.into_iter().zip(before).zip(after).map(|((label, before), after)| (label, before, after)).collect())
}

/// Refuses an archived pack whose modules are not those the record says
/// ran (same revision, other module: the archive was tampered with).
fn same_modules(pack: &RulePack, recorded: &Recorded) -> Result<(), Skip> {
    let (manifest, _) = pack.manifest();
    let archived: Vec<&str> = manifest.modules.iter().map(|m| m.sha256.as_str()).collect();
    let ran: Vec<&str> =
        recorded.decision.modules.iter().filter(|run| !run.recheck).map(|run| run.sha256.as_str()).collect();
    if recorded.decision.refused.is_some() || ran == archived {
        return Ok(());
    }
    let reason = format!(
        "archived pack {} lists modules {archived:?}, the decision ran {ran:?}",
        recorded.decision.pack.revision
    );
    Err(Skip { code: "pack_mismatch", reason })
}

fn count(totals: &mut Totals, before: &Verdict, after: &Verdict) {
    match (before.outcome, after.outcome) {
        _ if agree(before, after) => totals.unchanged += 1,
        (was, Outcome::Rejected) if was != Outcome::Rejected => totals.newly_rejected += 1,
        (was, Outcome::Accepted) if was != Outcome::Accepted => totals.newly_accepted += 1,
        (was, Outcome::Held) if was != Outcome::Held => totals.newly_held += 1,
        _ => totals.reason_changed += 1,
    }
}

fn skipped(job: &DecidedJob, skip: Skip) -> Skipped {
    Skipped { job_id: job.id.0, tenant: job.tenant.clone(), code: skip.code, reason: skip.reason }
}

fn most_affected(differences: &[Difference]) -> Vec<TenantCount> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for difference in differences {
        *counts.entry(&difference.tenant).or_default() += 1;
    }
    let mut tenants: Vec<TenantCount> = counts
        .into_iter()
        .map(|(tenant, differences)| TenantCount { tenant: tenant.to_string(), differences })
        .collect();
    tenants.sort_by(|a, b| b.differences.cmp(&a.differences).then_with(|| a.tenant.cmp(&b.tenant)));
    tenants
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_take_a_number_and_a_unit() {
        assert_eq!(parse_age("90m"), Ok(90 * 60_000));
        assert_eq!(parse_age("7d"), Ok(7 * 86_400_000));
        for bad in ["", "7", "d", "7w", "-1d", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
