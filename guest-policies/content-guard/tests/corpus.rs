//! The development corpus (`tests/corpus/*.jsonl` at the repository root)
//! through content-guard alone, natively: the fast loop for tuning the
//! guard. The end-to-end suite scores the same corpus through the compiled
//! default pack with `memwarden policy score`; this test holds content-guard
//! to the same minimums and prints every miss.

use std::path::Path;

use memwarden_policy_content_guard::ContentGuard;
use memwarden_policy_sdk::native::{MemoryIndex, with_index};
use memwarden_policy_sdk::{Context, MemoryChange, Op, Policy, RunOutcome, Verdict};
use serde_json::Value;

const MIN_REJECT: f64 = 0.97;
const MIN_ACCEPT: f64 = 0.98;

fn change(json: &Value) -> MemoryChange {
    let text = |key: &str| json[key].as_str().map(str::to_string);
    MemoryChange {
        op: Op::Add,
        name: text("name").unwrap_or_default(),
        entry_type: text("type"),
        description: text("description"),
        body: text("body"),
        merge_target: None,
    }
}

fn context() -> Context {
    Context {
        tenant: "t".into(),
        job_id: "j".into(),
        piece: "p".into(),
        run_outcome: RunOutcome::Succeeded,
        now_ms: 0,
        piece_edits: Vec::new(),
        recent_writes: Vec::new(),
    }
}

/// Every case of the development corpus, in file order.
fn corpus_cases() -> Vec<Value> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files: Vec<_> =
        std::fs::read_dir(&corpus).expect("tests/corpus").map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("read corpus");
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| serde_json::from_str(line).expect("corpus line is JSON"))
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[test]
fn content_guard_meets_the_minimums_on_the_development_corpus() {
    let guard = ContentGuard::default();
    let context = context();
    let (mut hostile, mut rejected, mut benign, mut accepted) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for case in corpus_cases() {
        let expect_reject = case["expect"] == "reject";
        let verdicts: Vec<Verdict> = with_index(MemoryIndex::new(Vec::new()), || {
            case["proposal"]["memory_changes"]
                .as_array()
                .expect("memory_changes")
                .iter()
                .map(|c| guard.check_change(&change(c), &context))
                .collect()
        });
        let refused: Vec<String> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Reject(r) => Some(format!("{}: {}", r.code, r.message)),
                _ => None,
            })
            .collect();
        if expect_reject {
            hostile += 1;
            rejected += usize::from(!refused.is_empty());
        } else {
            benign += 1;
            accepted += usize::from(refused.is_empty());
        }
        if refused.is_empty() == expect_reject {
            misses.push(format!("{} {}", case["id"], refused.join("; ")));
        }
    }
    let (reject_rate, accept_rate) = (rejected as f64 / hostile as f64, accepted as f64 / benign as f64);
    println!(
        "hostile rejected {rejected}/{hostile} ({:.1}%), benign accepted {accepted}/{benign} ({:.1}%)",
        reject_rate * 100.0,
        accept_rate * 100.0
    );
    for miss in &misses {
        println!("MISS {miss}");
    }
    assert!(reject_rate >= MIN_REJECT && accept_rate >= MIN_ACCEPT, "{} misses, see above", misses.len());
}

/// The whole corpus through `check_change`, natively: the number to compare
/// before and after a change to the scanners (issue 11).
#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn checking_the_corpus_is_fast() {
    let guard = ContentGuard::default();
    let context = context();
    let changes: Vec<MemoryChange> = corpus_cases()
        .iter()
        .flat_map(|case| case["proposal"]["memory_changes"].as_array().expect("memory_changes").iter().map(change))
        .collect();
    let bytes: usize = changes.iter().map(|c| c.name.len() + c.description_text().len() + c.body_text().len()).sum();
    let mut best = f64::MAX;
    for _ in 0..7 {
        let start = std::time::Instant::now();
        for _ in 0..20 {
            for change in &changes {
                std::hint::black_box(guard.check_change(std::hint::black_box(change), &context));
            }
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / 20.0);
    }
    println!("corpus: {} changes, {bytes} bytes: {best:.0} µs per pass (best of 7)", changes.len());
}
