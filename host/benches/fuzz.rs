//! The parser fuzzers of `tests/all/fuzz.rs`, run for a while rather than a
//! few cases: every target in turn, in rounds of fresh seeds, for
//! `MEMWARDEN_FUZZ_SECONDS` in all (default 600), `MEMWARDEN_FUZZ_CASES`
//! cases a seed. Prints the cases run, how many got past the parser, and
//! every failure with the seed that replays it
//! (`MEMWARDEN_FUZZ_SEED=<hex> MEMWARDEN_FUZZ_CASES=<n> cargo test --test all fuzz_<target>`),
//! and exits 1 when anything failed.
//!
//! ```text
//! MEMWARDEN_FUZZ_SECONDS=60 cargo bench --bench fuzz
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

// The suite's `#[test]`s in that file are compiled here too under
// `clippy --all-targets`, but never run: no harness collects them.
#[allow(dead_code)]
#[path = "../../tests/all/fuzz.rs"]
mod fuzz;

/// Total run time when `MEMWARDEN_FUZZ_SECONDS` is unset.
const DEFAULT_SECONDS: u64 = 600;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument picks targets.
    let filter: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with("--")).collect();
    let targets: Vec<&fuzz::Target> = fuzz::TARGETS
        .iter()
        .filter(|t| filter.is_empty() || filter.iter().any(|f| t.name.contains(f.as_str())))
        .collect();
    let seconds =
        std::env::var("MEMWARDEN_FUZZ_SECONDS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_SECONDS);
    let share = Duration::from_secs(seconds) / targets.len().max(1) as u32;
    // Cases per round: one seed, then a fresh one.
    let round = fuzz::cases_from_env().max(1);
    println!("fuzzing {} targets for {seconds} s ({} s each, {round} cases a seed)", targets.len(), share.as_secs());

    let mut failed = 0;
    for target in targets {
        let started = Instant::now();
        let (mut cases, mut parsed, mut failures) = (0u64, 0u64, Vec::new());
        while started.elapsed() < share {
            let seed = fuzz::seed();
            match (target.run)(round, &seed) {
                Ok(past) => parsed += past,
                Err(failure) => failures.push(fuzz::describe(target, &seed, &failure)),
            }
            cases += u64::from(round);
        }
        let rate = cases as f64 / started.elapsed().as_secs_f64();
        println!(
            "{:<20} {cases:>9} cases {parsed:>9} past the parser {:>4} failures {rate:>9.0} cases/s",
            target.name,
            failures.len()
        );
        for failure in &failures {
            println!("{failure}\n");
        }
        failed += failures.len();
    }
    if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
