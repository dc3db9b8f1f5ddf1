//! `memwarden policy test`: table-driven cases, like `opa test`. A cases
//! file names a pack, one module, or a policy crate (the component its last
//! `policy build` made), an optional config and default context, and cases
//! of proposal → expected verdicts; every case runs through the compiled
//! components, host checks included. The format is `docs/policy-cases.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::policy::{ChangeDecision, ContextFile, DecisionRecord, PolicyEngine, Proposal, RulePack};
use serde::Deserialize;

use super::scaffold::PolicyProject;

#[derive(Debug, Args)]
#[command(after_help = "The cases format, with an example of every field: docs/policy-cases.md in the memwarden \
repository, also copied as CASES.md into every crate `memwarden policy new` makes.")]
pub(crate) struct TestArgs {
    /// Cases files (YAML): `pack:`, `module:` or `crate:`, then `cases:`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// A cases file that cannot be run.
#[derive(Debug, thiserror::Error)]
#[error("cases file `{path}`: {message}")]
pub(crate) struct CasesError {
    path: String,
    message: String,
}

pub(crate) fn test(engine: &PolicyEngine, args: &TestArgs) -> anyhow::Result<ExitCode> {
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut out = std::io::stdout().lock();
    for path in &args.files {
        let file = CasesFile::read(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let target = file.target(base).with_context(|| format!("cases file `{}`", path.display()))?;
        let mut packs: BTreeMap<String, RulePack> = BTreeMap::new();
        for case in &file.cases {
            let pack_key = case.config.as_ref().or(file.config.as_ref()).map_or(String::new(), |c| c.to_string());
            if !packs.contains_key(&pack_key) {
                let pack = file
                    .pack(engine, base, &target, case.config.as_ref())
                    .with_context(|| format!("cases file `{}`", path.display()))?;
                if packs.is_empty() {
                    // Which component ran, so a test can be tied to a build.
                    writeln!(out, "{}: {}", super::printable(&path.display().to_string()), describe(&target, &pack))?;
                }
                packs.insert(pack_key.clone(), pack);
            }
            let pack = &packs[&pack_key];
            let context_file = match case.context.as_ref().or(file.context.as_ref()) {
                Some(context) => context.clone(),
                None => ContextFile::default(),
            };
            let (context, index) = context_file.for_proposal(&case.proposal).into_parts(0);
            let record = pack.evaluate(&case.proposal, &context, &index);
            let mismatches = compare(&case.expect, &record);
            if mismatches.is_empty() {
                passed += 1;
            } else {
                failed += 1;
                writeln!(
                    out,
                    "FAIL {}: {}",
                    super::printable(&path.display().to_string()),
                    super::printable(&case.name)
                )?;
                for line in mismatches {
                    writeln!(out, "{}", super::printable(&line))?;
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Diff lines for every change whose codes differ from the expectation.
fn compare(expect: &Expected, record: &DecisionRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if expect.memory.len() != record.memory.len() {
        lines.push(format!(
            "  expected {} memory verdicts, the proposal has {} changes",
            expect.memory.len(),
            record.memory.len()
        ));
    }
    for (position, (expected, actual)) in expect.memory.iter().zip(&record.memory).enumerate() {
        diff(&mut lines, &format!("memory[{position}] `{}`", actual.name), expected, Some(actual));
    }
    match (&expect.piece, &record.piece) {
        (None, None) => {}
        (Some(expected), actual) => diff(&mut lines, "piece", expected, actual.as_ref()),
        (None, Some(actual)) => diff(&mut lines, "piece (no expectation given)", &Outcome::Accept, Some(actual)),
    }
    lines
}

fn diff(lines: &mut Vec<String>, label: &str, expected: &Outcome, actual: Option<&ChangeDecision>) {
    let got = actual.map(Outcome::of);
    if got.as_ref() != Some(&expected.normalised()) {
        lines.push(format!("  {label}:"));
        lines.push(format!("    - expected: {expected}"));
        match (got, actual) {
            (Some(got), Some(actual)) => {
                lines.push(format!("    + got:      {got}"));
                for rejection in actual.rejections.iter().chain(&actual.holds).chain(&actual.amendments) {
                    lines.push(format!(
                        "                {} {}: {}",
                        rejection.module, rejection.code, rejection.message
                    ));
                }
            }
            _ => lines.push("    + got:      (no such change)".to_string()),
        }
    }
}

impl CasesFile {
    fn read(path: &Path) -> anyhow::Result<CasesFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read cases file `{}`", path.display()))?;
        let file: CasesFile = serde_norway::from_str(&text).map_err(|err| CasesError {
            path: path.display().to_string(),
            message: memwarden::messages::parse_error(&err),
        })?;
        match (&file.pack, &file.module, &file.krate) {
            (Some(_), None, None) | (None, Some(_), None) | (None, None, Some(_)) => Ok(file),
            _ => Err(CasesError {
                path: path.display().to_string(),
                message: "name exactly one of `pack`, `module` and `crate`".to_string(),
            }
            .into()),
        }
    }

    /// What the cases run against, resolved against `base`, the file's
    /// directory. A `crate:` becomes the component its last `policy build`
    /// wrote, found as that build found its target dir.
    fn target(&self, base: &Path) -> anyhow::Result<Target> {
        Ok(match (&self.pack, &self.module, &self.krate) {
            (Some(pack), _, _) => match pack.contains(['/', '\\']) || pack.ends_with(".yaml") {
                true => Target::Pack(base.join(pack).display().to_string()),
                false => Target::Pack(pack.clone()),
            },
            // `RulePack::single` resolves a module path against `base` itself.
            (None, Some(module), _) => Target::Module(module.clone()),
            (None, None, Some(krate)) => {
                let project = PolicyProject::locate(&base.join(krate))?;
                let component = project.built_component()?;
                if let Some(source) = project.newer_source(&component) {
                    eprintln!(
                        "memwarden: warning: `{}` changed after the last build; run `memwarden policy build` to test it",
                        source.display()
                    );
                }
                Target::Module(component.display().to_string())
            }
            (None, None, None) => unreachable!("checked in CasesFile::read"),
        })
    }

    fn pack(
        &self,
        engine: &PolicyEngine,
        base: &Path,
        target: &Target,
        case_config: Option<&serde_json::Value>,
    ) -> anyhow::Result<RulePack> {
        Ok(match target {
            Target::Pack(pack) => RulePack::load(engine, pack)?,
            Target::Module(module) => {
                let config = case_config.or(self.config.as_ref()).cloned().unwrap_or_default();
                RulePack::single(engine, module, base, config)?
            }
        })
    }
}

/// What a cases file runs against.
#[derive(Debug)]
enum Target {
    /// A pack: a built-in name or a YAML path.
    Pack(String),
    /// One module: a built-in name, or a component path, absolute or
    /// relative to the cases file.
    Module(String),
}

/// One line naming what ran: the pack and its revision, or the module and
/// the sha256 `policy build` printed.
fn describe(target: &Target, pack: &RulePack) -> String {
    match (target, pack.modules().next()) {
        (Target::Module(_), Some(module)) => {
            format!("module {} {} sha256 {}", module.name(), module.version(), module.sha256_hex())
        }
        _ => format!("pack {} revision {}", pack.name(), pack.revision()),
    }
}

/// A cases file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    /// A pack reference (built-in name or YAML path relative to the file).
    #[serde(default)]
    pack: Option<String>,
    /// Or one module (built-in name or `.wasm` path relative to the file)…
    #[serde(default)]
    module: Option<String>,
    /// …or the component `policy build` made of this crate (a directory
    /// relative to the file)…
    #[serde(default, rename = "crate")]
    krate: Option<String>,
    /// …with this config (each case may replace it).
    #[serde(default)]
    config: Option<serde_json::Value>,
    /// The context of every case that sets none.
    #[serde(default)]
    context: Option<ContextFile>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    proposal: Proposal,
    #[serde(default)]
    context: Option<ContextFile>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    expect: Expected,
}

/// The expected outcome of every change: `accept`, or the exact set of
/// rejection codes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    #[serde(default)]
    memory: Vec<Outcome>,
    #[serde(default)]
    piece: Option<Outcome>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
enum Outcome {
    /// Written `accept`.
    #[serde(deserialize_with = "accept_keyword")]
    Accept,
    /// Written as a list of codes, in any order.
    Reject(Vec<String>),
}

fn accept_keyword<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    match String::deserialize(deserializer)?.as_str() {
        "accept" => Ok(()),
        other => Err(serde::de::Error::custom(format!("expected `accept` or a list of codes, found `{other}`"))),
    }
}

impl Outcome {
    fn of(decision: &ChangeDecision) -> Outcome {
        // Holds and amendments are written `hold:code` and `amend:code`.
        let rejections = decision.rejections.iter().map(|r| r.code.clone());
        let holds = decision.holds.iter().map(|r| format!("hold:{}", r.code));
        let amendments = decision.amendments.iter().map(|r| format!("amend:{}", r.code));
        let mut codes: Vec<String> = rejections.chain(holds).chain(amendments).collect();
        codes.sort();
        codes.dedup();
        if codes.is_empty() { Outcome::Accept } else { Outcome::Reject(codes) }
    }

    fn normalised(&self) -> Outcome {
        match self {
            Outcome::Accept => Outcome::Accept,
            Outcome::Reject(codes) if codes.is_empty() => Outcome::Accept,
            Outcome::Reject(codes) => {
                let mut codes = codes.clone();
                codes.sort();
                codes.dedup();
                Outcome::Reject(codes)
            }
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Accept => f.write_str("accept"),
            Outcome::Reject(codes) => write!(f, "reject [{}]", codes.join(", ")),
        }
    }
}
