//! Evaluates the built-in `default` pack on one proposal and prints the
//! verdicts: the whole embedding API in one sitting.
//!
//! `cargo run -p memwarden-policy --example evaluate`

use std::collections::BTreeMap;

use memwarden_policy::{Context, IndexEntry, PolicyEngine, Proposal, RulePack, TenantIndex};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One engine per process: it owns the wasm engine, the instance pool and the limits.
    let engine = PolicyEngine::new()?;
    let pack = RulePack::load(&engine, "default")?;

    // What the tenant's store holds, as the policies may read it.
    let stored = IndexEntry {
        name: "build-steps".into(),
        entry_type: "project".into(),
        description: "How the service is built".into(),
        body: "Run `make release`, then upload the archive.".into(),
        updated_at_ms: 1_700_000_000_000,
    };
    let index = TenantIndex::new(vec![stored], BTreeMap::new());
    let context =
        Context { tenant: "acme".into(), job_id: "job-1".into(), now_ms: 1_700_000_600_000, ..Context::default() };

    // What an LLM proposed: one honest note, one that smuggles a credential.
    let proposal = Proposal::from_json(
        r#"{"reasoning": "two lessons from the run", "memory_changes": [
            {"op": "add", "name": "flaky-test", "type": "project",
             "description": "The upload test is flaky", "body": "Retry `upload_it` once before failing."},
            {"op": "add", "name": "deploy-key", "type": "reference",
             "description": "Deploy credentials", "body": "key: AKIAZ7Q3L5R2W6XK4M3T"}]}"#,
    )?;

    let decision = pack.evaluate(&proposal, &context, &index);
    for change in &decision.memory {
        let verdict = if change.accepted { "accepted" } else { "rejected" };
        let codes: Vec<&str> = change.rejections.iter().map(|rejection| rejection.code.as_str()).collect();
        println!("{:<12} {verdict} {}", change.name, codes.join(","));
    }
    println!("decision {} in {} µs", decision.decision_id, decision.elapsed_us);
    Ok(())
}
