//! Counters and histograms of the policy runtime, through the `metrics`
//! facade: free when no recorder is installed, exported by whichever one
//! the embedding host installs.

/// Evaluations of a rule pack. Tags: `pack`.
pub const EVALUATIONS: &str = "memwarden_policy_evaluations_total";
/// Changes decided. Tags: `pack`, `outcome` (`accepted`, `held` or
/// `rejected`; amended changes count as accepted and in [`AMENDMENTS`]).
pub const CHANGES: &str = "memwarden_policy_changes_total";
/// Rejections that refuse a change. Tags: `module` (or `host`), `code`.
pub const REJECTIONS: &str = "memwarden_policy_rejections_total";
/// Advisory rejections, by a module in audit mode: recorded, not enforced.
/// Tags: `module`, `code`.
pub const ADVISORY_REJECTIONS: &str = "memwarden_policy_advisory_rejections_total";
/// Holds that bind (a change waits for a person). Tags: `module`, `code`.
pub const HOLDS: &str = "memwarden_policy_holds_total";
/// Amendments, advisory ones included. Tags: `module`, `code`.
pub const AMENDMENTS: &str = "memwarden_policy_amendments_total";
/// Module failures (each also a `policy_error` rejection). Tags: `module`.
pub const MODULE_FAILURES: &str = "memwarden_policy_module_failures_total";
/// Wall time of one pack evaluation, in seconds. Tags: `pack`.
pub const EVALUATION_SECONDS: &str = "memwarden_policy_evaluation_seconds";

use super::DecisionRecord;

/// Records one evaluation's outcomes.
pub(crate) fn record(decision: &DecisionRecord) {
    let pack = decision.pack.name.clone();
    metrics::counter!(EVALUATIONS, "pack" => pack.clone()).increment(1);
    let total = decision.proposed_count();
    let (accepted, held) = (decision.accepted_count(), decision.held_count());
    metrics::counter!(CHANGES, "pack" => pack.clone(), "outcome" => "accepted").increment(accepted as u64);
    metrics::counter!(CHANGES, "pack" => pack.clone(), "outcome" => "held").increment(held as u64);
    let rejected = total.saturating_sub(accepted + held) as u64;
    metrics::counter!(CHANGES, "pack" => pack.clone(), "outcome" => "rejected").increment(rejected);
    for change in decision.memory.iter().chain(&decision.piece) {
        for hold in change.holds.iter().filter(|hold| !hold.advisory) {
            metrics::counter!(HOLDS, "module" => hold.module.clone(), "code" => hold.code.clone()).increment(1);
        }
        for amendment in &change.amendments {
            let (module, code) = (amendment.module.clone(), amendment.code.clone());
            metrics::counter!(AMENDMENTS, "module" => module, "code" => code).increment(1);
        }
    }
    for rejection in decision.all_rejections() {
        let name = if rejection.advisory { ADVISORY_REJECTIONS } else { REJECTIONS };
        metrics::counter!(name, "module" => rejection.module.clone(), "code" => rejection.code.clone()).increment(1);
    }
    for module in decision.modules.iter().filter(|m| m.failure.is_some()) {
        metrics::counter!(MODULE_FAILURES, "module" => module.name.clone()).increment(1);
    }
    metrics::histogram!(EVALUATION_SECONDS, "pack" => pack).record(decision.elapsed_us as f64 / 1e6);
}
