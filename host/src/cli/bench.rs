//! `memwarden policy bench`: how long a pack takes on one proposal, per
//! evaluation and per module, and the fuel each module burns — what an
//! operator sizes hosts with. One thread, in-process, after a warm-up;
//! numbers are wall time on this machine, so compare them within one run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use memwarden::policy::{ContextFile, PolicyEngine, Proposal, RulePack};
use serde::Serialize;

use super::policy::read_context;
use super::{Format, now_ms, printable};

/// Most evaluations one bench runs.
const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Rule pack: a built-in name (`default`) or a YAML file.
    #[arg(long, default_value = "default")]
    pack: String,
    /// The proposal (JSON), as for `policy eval`.
    #[arg(long)]
    proposal: PathBuf,
    /// Context, entries and pieces (JSON or YAML); defaults to an empty tenant.
    #[arg(long)]
    context: Option<PathBuf>,
    /// Evaluations measured, after a warm-up of a tenth as many.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=MAX_ITERATIONS as i64))]
    iterations: u32,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Percentiles of one series, in µs.
#[derive(Debug, Serialize)]
struct Timing {
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

impl Timing {
    fn of(mut samples: Vec<f64>) -> Timing {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        Timing { p50_us: at(0.5), p99_us: at(0.99), mean_us: mean }
    }
}

#[derive(Debug, Serialize)]
struct ModuleTiming {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(flatten)]
    timing: Timing,
    /// Fuel (≈ wasm instructions) one evaluation burns; deterministic.
    fuel: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    pack: String,
    revision: String,
    iterations: u32,
    changes: usize,
    evaluation: Timing,
    evaluations_per_second: f64,
    modules: Vec<ModuleTiming>,
}

pub(crate) fn bench(engine: &PolicyEngine, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.proposal)
        .with_context(|| format!("cannot read proposal `{}`", args.proposal.display()))?;
    let proposal = Proposal::from_json(&text).with_context(|| format!("proposal `{}`", args.proposal.display()))?;
    let context_file = match &args.context {
        Some(path) => read_context(path)?,
        None => ContextFile::default(),
    };
    let (context, index) = context_file.for_proposal(&proposal).into_parts(now_ms());
    let pack = RulePack::load(engine, &args.pack)?;

    for _ in 0..(args.iterations / 10).max(1) {
        pack.evaluate(&proposal, &context, &index);
    }
    let mut total = Vec::with_capacity(args.iterations as usize);
    let mut per_module: Vec<Vec<f64>> = Vec::new();
    let mut first = None;
    let started = Instant::now();
    for _ in 0..args.iterations {
        let call = Instant::now();
        let record = pack.evaluate(&proposal, &context, &index);
        total.push(call.elapsed().as_secs_f64() * 1e6);
        per_module.resize_with(record.modules.len(), Vec::new);
        for (samples, run) in per_module.iter_mut().zip(&record.modules) {
            samples.push(run.elapsed_us as f64);
        }
        first.get_or_insert(record);
    }
    let wall = started.elapsed().as_secs_f64();
    let Some(first) = first else { anyhow::bail!("no evaluation ran") };
    let modules = first
        .modules
        .iter()
        .zip(per_module)
        .map(|(run, samples)| ModuleTiming {
            name: if run.recheck { format!("{} (re-check)", run.name) } else { run.name.clone() },
            id: run.id.clone(),
            timing: Timing::of(samples),
            fuel: run.fuel_used,
        })
        .collect();
    let report = Report {
        pack: first.pack.name.clone(),
        revision: first.pack.revision.clone(),
        iterations: args.iterations,
        changes: first.proposed_count(),
        evaluation: Timing::of(total),
        evaluations_per_second: f64::from(args.iterations) / wall,
        modules,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => print(&mut out, &report)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "pack {} (revision {}): {} evaluations of {} changes, one thread",
        printable(&report.pack),
        printable(&report.revision),
        report.iterations,
        report.changes
    )?;
    writeln!(out, "{:<28} {:>9} {:>9} {:>9} {:>12}", "", "p50 µs", "p99 µs", "mean µs", "fuel")?;
    let row = |out: &mut dyn Write, name: &str, t: &Timing, fuel: String| {
        writeln!(out, "{name:<28} {:>9.1} {:>9.1} {:>9.1} {fuel:>12}", t.p50_us, t.p99_us, t.mean_us)
    };
    row(out, "evaluation", &report.evaluation, String::new())?;
    for module in &report.modules {
        let name = match &module.id {
            Some(id) => format!("  {} ({id})", module.name),
            None => format!("  {}", module.name),
        };
        row(out, &printable(&name), &module.timing, module.fuel.to_string())?;
    }
    writeln!(out, "{:.0} evaluations/s", report.evaluations_per_second)
}
