//! `memwarden policy score`: how well a rule pack judges a labelled corpus.
//! Every line of a corpus is one case — a proposal, the verdict a good
//! pack gives it (`accept` or `reject`) and a family — and every case runs
//! through the compiled pack in-process. The report gives, per family and
//! overall, how many hostile cases were rejected and how many benign ones
//! accepted, the codes that fired, and every miss by id; below the
//! operator's minimums the command exits 1.
//!
//! A case counts as rejected when any of its changes is refused, and as
//! accepted when all are.

use std::collections::BTreeMap;
use std::io::{BufRead, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::policy::{ContextFile, DecisionRecord, PackMap, PolicyEngine, Proposal, RulePack};
use serde::{Deserialize, Serialize};

use super::Format;

/// Bounds on a corpus, an outside input like any other.
mod limits {
    /// A corpus file larger than this is refused.
    pub(super) const MAX_CORPUS_BYTES: u64 = 256 * 1024 * 1024;
    /// One case (one line) larger than this is refused.
    pub(super) const MAX_CASE_BYTES: usize = 2 * 1024 * 1024;
}

#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// Corpus files (JSON lines: `{"id", "expect", "family", "note", "proposal", "context"?}`).
    #[arg(required = true)]
    corpora: Vec<PathBuf>,
    /// Rule pack: a built-in name (`default`) or a YAML file.
    #[arg(long, default_value = "default", conflicts_with = "pack_map")]
    pack: String,
    /// Tenant → pack mapping file; each case's context tenant picks the pack.
    #[arg(long)]
    pack_map: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Exit 1 when a smaller share (0–1) of hostile cases is rejected.
    #[arg(long, value_parser = parse_share)]
    min_reject: Option<f64>,
    /// Exit 1 when a smaller share (0–1) of benign cases is accepted.
    #[arg(long, value_parser = parse_share)]
    min_accept: Option<f64>,
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("`{text}` is not a share between 0 and 1")),
    }
}

/// A corpus that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("corpus `{path}`{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub(crate) struct CorpusError {
    path: String,
    line: Option<usize>,
    message: String,
}

/// What a case expects of the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Accept,
    Reject,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    expect: Expect,
    family: String,
    #[serde(default)]
    note: String,
    proposal: serde_json::Value,
    #[serde(default)]
    context: Option<ContextFile>,
}

/// The score of one family of cases.
#[derive(Debug, Default, Serialize)]
struct FamilyScore {
    cases: usize,
    correct: usize,
    /// How often each code fired on this family's cases.
    codes: BTreeMap<String, usize>,
}

/// One case the pack got wrong.
#[derive(Debug, Serialize)]
struct Miss {
    id: String,
    family: String,
    expect: Expect,
    note: String,
    /// `module code: message` of every rejection (empty for a missed
    /// hostile case).
    rejections: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    pack: String,
    families: BTreeMap<(String, Expect), FamilyScore>,
    misses: Vec<Miss>,
}

#[derive(Debug, Serialize)]
struct Overall {
    cases: usize,
    correct: usize,
    rate: f64,
}

pub(crate) fn score(engine: &PolicyEngine, args: &ScoreArgs) -> anyhow::Result<ExitCode> {
    let judge = match &args.pack_map {
        Some(map) => Judge::Map(PackMap::load(engine, map)?),
        None => Judge::Pack(RulePack::load(engine, &args.pack)?),
    };
    let mut report = Report {
        pack: args.pack_map.as_ref().map_or(args.pack.clone(), |map| format!("map {}", map.display())),
        ..Report::default()
    };
    for path in &args.corpora {
        for_each_case(path, |case| {
            let proposal = Proposal::from_json(&case.proposal.to_string())
                .with_context(|| format!("corpus `{}`: case `{}`", path.display(), case.id))?;
            let (context, index) = case.context.clone().unwrap_or_default().into_parts(0);
            let record = match &judge {
                Judge::Map(map) => map.pack_for(&context.tenant).evaluate(&proposal, &context, &index),
                Judge::Pack(pack) => pack.evaluate(&proposal, &context, &index),
            };
            report.record(case, &record);
            Ok(())
        })?;
    }
    let mut out = std::io::stdout().lock();
    let (hostile, benign) = (report.overall(Expect::Reject), report.overall(Expect::Accept));
    match args.format {
        Format::Table => report.print_table(&mut out, &hostile, &benign)?,
        Format::Json => {
            let families: Vec<_> = report
                .families
                .iter()
                .map(|((family, expect), score)| {
                    serde_json::json!({
                        "family": family, "expect": expect, "cases": score.cases, "correct": score.correct,
                        "rate": rate(score.correct, score.cases), "codes": score.codes,
                    })
                })
                .collect();
            let json = serde_json::json!({
                "pack": report.pack, "families": families, "hostile_rejected": hostile,
                "benign_accepted": benign, "misses": report.misses,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
    }
    let mut below = Vec::new();
    if let Some(min) = args.min_reject.filter(|min| hostile.cases > 0 && hostile.rate < *min) {
        below.push(format!("hostile rejected {:.1}% < {:.1}%", hostile.rate * 100.0, min * 100.0));
    }
    if let Some(min) = args.min_accept.filter(|min| benign.cases > 0 && benign.rate < *min) {
        below.push(format!("benign accepted {:.1}% < {:.1}%", benign.rate * 100.0, min * 100.0));
    }
    if below.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // The report went to stdout; the verdict goes where errors go.
    eprintln!("memwarden: below the minimum: {} [score_below_minimum]", below.join(", "));
    Ok(ExitCode::from(1))
}

/// What judges the cases: one pack, or a pack per tenant.
enum Judge {
    Pack(RulePack),
    Map(PackMap),
}

/// Reads a corpus line by line, within its bounds, and hands each case on.
fn for_each_case(path: &Path, mut each: impl FnMut(&Case) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let error = |line: Option<usize>, message: String| CorpusError { path: path.display().to_string(), line, message };
    let file = std::fs::File::open(path).map_err(|err| error(None, err.to_string()))?;
    let size = file.metadata().map_err(|err| error(None, err.to_string()))?.len();
    if size > limits::MAX_CORPUS_BYTES {
        return Err(error(None, format!("{size} bytes, over the {}-byte limit", limits::MAX_CORPUS_BYTES)).into());
    }
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let read = (&mut reader)
            .take(limits::MAX_CASE_BYTES as u64 + 1)
            .read_line(&mut line)
            .map_err(|err| error(Some(number), err.to_string()))?;
        if read == 0 {
            return Ok(());
        }
        if read > limits::MAX_CASE_BYTES {
            return Err(
                error(Some(number), format!("over the {}-byte limit of one case", limits::MAX_CASE_BYTES)).into()
            );
        }
        if line.trim().is_empty() {
            continue;
        }
        let case: Case = serde_json::from_str(&line).map_err(|err| error(Some(number), err.to_string()))?;
        each(&case)?;
    }
}

impl Report {
    fn record(&mut self, case: &Case, record: &DecisionRecord) {
        // A proposal refused whole (over the host's ceiling) has no
        // per-change verdicts: its one refusal counts.
        let rejected = record.accepted_count() < record.proposed_count();
        let score = self.families.entry((case.family.clone(), case.expect)).or_default();
        score.cases += 1;
        for rejection in record.all_rejections() {
            *score.codes.entry(rejection.code.clone()).or_default() += 1;
        }
        if rejected == (case.expect == Expect::Reject) {
            score.correct += 1;
            return;
        }
        self.misses.push(Miss {
            id: case.id.clone(),
            family: case.family.clone(),
            expect: case.expect,
            note: case.note.clone(),
            rejections: record.all_rejections().map(|r| format!("{} {}: {}", r.module, r.code, r.message)).collect(),
        });
    }

    fn overall(&self, expect: Expect) -> Overall {
        let scores = self.families.iter().filter(|((_, e), _)| *e == expect).map(|(_, score)| score);
        let (cases, correct) = scores.fold((0, 0), |(cases, correct), s| (cases + s.cases, correct + s.correct));
        Overall { cases, correct, rate: rate(correct, cases) }
    }

    fn print_table(&self, out: &mut impl Write, hostile: &Overall, benign: &Overall) -> std::io::Result<()> {
        writeln!(out, "pack {}", self.pack)?;
        writeln!(out, "{:<20} {:<7} {:>6} {:>8} {:>7}  CODES", "FAMILY", "EXPECT", "CASES", "CORRECT", "RATE")?;
        for ((family, expect), score) in &self.families {
            let expect = if *expect == Expect::Reject { "reject" } else { "accept" };
            let codes: Vec<String> = score.codes.iter().map(|(code, n)| format!("{code} {n}")).collect();
            writeln!(
                out,
                "{family:<20} {expect:<7} {:>6} {:>8} {:>6.1}%  {}",
                score.cases,
                score.correct,
                rate(score.correct, score.cases) * 100.0,
                codes.join(", ")
            )?;
        }
        writeln!(
            out,
            "hostile rejected {}/{} ({:.1}%), benign accepted {}/{} ({:.1}%)",
            hostile.correct,
            hostile.cases,
            hostile.rate * 100.0,
            benign.correct,
            benign.cases,
            benign.rate * 100.0
        )?;
        for miss in &self.misses {
            let got = if miss.rejections.is_empty() { "accepted".to_string() } else { miss.rejections.join("; ") };
            writeln!(out, "MISS {} ({}): {} — {}", miss.id, miss.family, super::printable(&got), miss.note)?;
        }
        Ok(())
    }
}

fn rate(correct: usize, cases: usize) -> f64 {
    if cases == 0 { 1.0 } else { correct as f64 / cases as f64 }
}
