//! `memwarden policy eval`, `inspect` and `codes`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::policy::guest::Language;
use memwarden::policy::{
    ContextFile, DecisionRecord, HostRules, PackMap, PolicyEngine, Proposal, RejectionRecord, RulePack, builtin_module,
    builtin_module_names, codes,
};

use super::{Format, now_ms, printable};

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Rule pack: a built-in name (`default`) or a YAML file.
    #[arg(long, default_value = "default", conflicts_with = "pack_map")]
    pack: String,
    /// Tenant → pack mapping file; the context's tenant picks the pack.
    #[arg(long)]
    pack_map: Option<PathBuf>,
    /// The proposal, as the reflection LLM returns it (JSON).
    #[arg(long)]
    proposal: PathBuf,
    /// Context, entries and pieces (JSON or YAML); defaults to an empty tenant.
    #[arg(long)]
    context: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Allow a pack-level `mode: audit`, as the host config's
    /// `policy.pack_audit` does.
    #[arg(long)]
    allow_pack_audit: bool,
    /// Allow a piece edit of any piece, as the host config's
    /// `policy.edit_any_piece` does.
    #[arg(long)]
    edit_any_piece: bool,
}

pub(crate) fn eval(engine: &PolicyEngine, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.proposal)
        .with_context(|| format!("cannot read proposal `{}`", args.proposal.display()))?;
    let proposal = Proposal::from_json(&text).with_context(|| format!("proposal `{}`", args.proposal.display()))?;
    let context_file = match &args.context {
        Some(path) => read_context(path)?,
        None => ContextFile::default(),
    };
    let (context, index) = context_file.for_proposal(&proposal).into_parts(now_ms());
    let rules =
        HostRules { pack_audit: args.allow_pack_audit, edit_any_piece: args.edit_any_piece, ..HostRules::default() };
    let record = match &args.pack_map {
        Some(map) => {
            PackMap::load_with(engine, map, rules)?.pack_for(&context.tenant).evaluate(&proposal, &context, &index)
        }
        None => RulePack::load_with(engine, &args.pack, rules)?.evaluate(&proposal, &context, &index),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?,
        Format::Table => print_table(&mut out, &record)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn read_context(path: &Path) -> anyhow::Result<ContextFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read context `{}`", path.display()))?;
    // YAML is a superset of JSON, so one parser reads both.
    serde_norway::from_str(&text)
        .map_err(|err| anyhow::anyhow!(memwarden::messages::parse_error(&err)))
        .with_context(|| format!("context `{}` is not valid", path.display()))
}

/// The decision table. Every name, code and message may come from an LLM
/// or a module, so each goes through [`printable`]: an escape sequence in a
/// proposal must not reach the operator's terminal (issue 9).
pub(crate) fn print_table<'a>(out: &mut impl Write, record: &'a DecisionRecord) -> std::io::Result<()> {
    writeln!(
        out,
        "pack {} (revision {}{}, {}): {} of {} changes accepted{}{} in {} µs",
        printable(&record.pack.name),
        printable(&record.pack.revision),
        record.pack.signed_revision.map(|signed| format!(", signed revision {signed}")).unwrap_or_default(),
        record.mode,
        record.accepted_count(),
        record.proposed_count(),
        match record.amended_count() {
            0 => String::new(),
            amended => format!(" ({amended} amended)"),
        },
        match record.held_count() {
            0 => String::new(),
            held => format!(", {held} held for review"),
        },
        record.elapsed_us
    )?;
    writeln!(out, "{:<28} {:<7} {:<8} {:<14} {:<26} MESSAGE", "CHANGE", "OP", "VERDICT", "MODULE", "CODE")?;
    if let Some(refusal) = &record.refused {
        let rejection = &refusal.rejection;
        writeln!(
            out,
            "{:<28} {:<7} {:<8} {:<14} {:<26} {}",
            format!("(all {} changes)", refusal.changes),
            "-",
            "reject",
            printable(&rejection.module),
            printable(&rejection.code),
            printable(&rejection.message)
        )?;
    }
    let rows = record
        .memory
        .iter()
        .map(|d| (d, d.op.map_or("edit", |op| op.as_str())))
        .chain(record.piece.iter().map(|d| (d, "piece")));
    for (decision, op) in rows {
        let name = printable(&decision.name);
        if decision.accepted && decision.amendments.iter().all(|a| a.advisory) {
            writeln!(out, "{name:<28} {op:<7} accept")?;
        }
        let verdicts = |records: &'a [RejectionRecord], kind: &'static str| records.iter().map(move |r| (r, kind));
        let all = verdicts(&decision.rejections, "reject")
            .chain(verdicts(&decision.holds, "hold"))
            .chain(verdicts(&decision.amendments, "amend"));
        for (rejection, kind) in all {
            let verdict = if rejection.advisory { "advisory" } else { kind };
            writeln!(
                out,
                "{name:<28} {op:<7} {verdict:<8} {:<14} {:<26} {}",
                printable(&rejection.module),
                printable(&rejection.code),
                printable(&rejection.message)
            )?;
        }
    }
    for module in record.modules.iter().filter(|m| m.failure.is_some()) {
        let failure = module.failure.as_deref().unwrap_or_default();
        writeln!(out, "module {} failed: {}", printable(&module.name), printable(failure))?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A component file, or the name of a built-in module.
    module: String,
}

pub(crate) fn inspect(engine: &PolicyEngine, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = match builtin_module(&args.module) {
        Some(bytes) if !args.module.contains(['/', '.']) => bytes.to_vec(),
        _ => std::fs::read(&args.module).with_context(|| format!("cannot read module `{}`", args.module))?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "file      {} ({} bytes)", args.module, bytes.len())?;
    writeln!(out, "sha256    {}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))?;
    // Describe the component's shape even when it would not load.
    let cached = engine.is_cached(&bytes);
    let started = std::time::Instant::now();
    let shape = engine.shape(&bytes);
    let how = if cached { "loaded from the module cache" } else { "compiled" };
    writeln!(out, "compile   {how} in {:.2} s", started.elapsed().as_secs_f64())?;
    match shape {
        Ok(shape) => {
            let names = |items: &[String]| if items.is_empty() { "(none)".to_string() } else { items.join(", ") };
            let world = shape.exports.iter().find_map(|name| name.strip_prefix("memwarden:policy/policy@"));
            writeln!(
                out,
                "world     {}",
                world.map_or("(not a policy)".to_string(), |v| format!("memwarden:policy@{v}"))
            )?;
            writeln!(out, "exports   {}", names(&shape.exports))?;
            writeln!(out, "imports   {}", names(&shape.imports))?;
        }
        Err(err) => writeln!(out, "shape     {err}")?,
    }
    match engine.load(&bytes) {
        Ok(module) => {
            writeln!(out, "module    {} {}", module.name(), module.version())?;
            let provenance = module.provenance();
            match (provenance.language, provenance.toolchain.as_deref()) {
                (Language::Unknown, _) => writeln!(out, "language  not recorded (no producers section names it)")?,
                (language, Some(toolchain)) => writeln!(out, "language  {language} ({toolchain})")?,
                (language, None) => writeln!(out, "language  {language}")?,
            }
            let limits = module.default_limits();
            let deadline =
                limits.deadline.map_or("no deadline".to_string(), |d| format!("{} ms deadline", d.as_millis()));
            writeln!(
                out,
                "limits    {} M fuel, {} MiB, {deadline} per call (the defaults for {} modules; a pack's `limits:` may change them)",
                limits.fuel / 1_000_000,
                limits.memory_bytes >> 20,
                if provenance.language.is_interpreted() { "interpreted" } else { "compiled" }
            )?;
            for (code, summary) in module.codes() {
                writeln!(out, "code      {code:<26} {summary}")?;
            }
            writeln!(out, "loads     yes")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            writeln!(out, "loads     no: {err} [{}]", err.code())?;
            Ok(ExitCode::from(1))
        }
    }
}

pub(crate) fn codes(engine: &PolicyEngine) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "| code | module | meaning |\n|---|---|---|")?;
    for (code, summary) in codes::ALL {
        writeln!(out, "| `{code}` | host | {summary} |")?;
    }
    for name in builtin_module_names() {
        let bytes = builtin_module(name).context("built-in module listed but missing")?;
        let module = engine.load(bytes)?;
        for (code, summary) in module.codes() {
            writeln!(out, "| `{code}` | {name} | {summary} |")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
