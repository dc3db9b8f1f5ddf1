//! `memwarden policy new` and `policy build`, for policies in Rust, Python
//! and JavaScript/TypeScript: scaffold a project that builds on its own (the
//! SDK and the WIT world are vendored into it), and turn it into a
//! component with the language's own toolchain. Also [`PolicyProject`],
//! which `policy test` uses to find the component a build made for a cases
//! file's `crate:`.
//!
//! Each language lives in its own module: [`rust`] (cargo), [`interpreted`]
//! (componentize-py, ComponentizeJS).

mod interpreted;
mod rust;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use memwarden::policy::PolicyEngine;

/// One file of a new policy project.
enum File {
    /// A template: `{name}` and `{crate}` are replaced.
    Template(&'static str),
    /// Copied as it is (vendored sources, which may hold braces of their own).
    Verbatim(&'static str),
}

/// The languages a policy can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lang {
    Rust,
    Python,
    /// TypeScript (or JavaScript), built with ComponentizeJS.
    Js,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The policy's name, a lowercase slug; also the directory created.
    name: String,
    /// Create the project here instead of `./<name>`.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The language to write the policy in.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Lang,
}

pub(crate) fn new(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let slug = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !slug {
        bail!("policy name `{name}` must be a lowercase slug starting with a letter (a-z, 0-9, -)");
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!("`{}` already exists; pick another name or --dir", dir.display());
    }
    let template = match args.lang {
        Lang::Rust => rust::TEMPLATE,
        Lang::Python => interpreted::PYTHON_TEMPLATE,
        Lang::Js => interpreted::JS_TEMPLATE,
    };
    let crate_name = name.replace('-', "_");
    for (path, file) in template {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        let contents = match file {
            File::Template(text) => text.replace("{name}", name).replace("{crate}", &crate_name),
            File::Verbatim(text) => text.to_string(),
        };
        std::fs::write(&target, contents).with_context(|| format!("cannot write `{}`", target.display()))?;
    }
    let dir = dir.display();
    println!(
        "created policy `{name}` ({}) in {dir}",
        args.lang.to_possible_value().map_or_else(String::new, |v| v.get_name().to_string())
    );
    match args.lang {
        Lang::Rust => println!(
            "next: (cd {dir} && cargo test) && memwarden policy build {dir} && memwarden policy test {dir}/cases.yaml"
        ),
        Lang::Python => println!(
            "next: (cd {dir} && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt) \
             && memwarden policy build {dir} && memwarden policy test {dir}/cases.yaml"
        ),
        Lang::Js => println!(
            "next: (cd {dir} && npm install) && memwarden policy build {dir} && memwarden policy test {dir}/cases.yaml"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The policy project's directory (Rust, Python or JavaScript/TypeScript).
    #[arg(default_value = ".")]
    dir: PathBuf,
}

/// Builds with the project's own toolchain, writes the component, loads it
/// (the same checks a pack load makes) and says what it is.
pub(crate) fn build(engine: &PolicyEngine, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let project = PolicyProject::locate(&args.dir)?;
    let started = Instant::now();
    let (component, out) = match &project {
        PolicyProject::Rust(dir) => rust::build_component(dir)?,
        PolicyProject::Interpreted(project) => project.build_component()?,
    };
    let built_in = started.elapsed();
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(&out, &component).with_context(|| format!("cannot write `{}`", out.display()))?;

    let started = Instant::now();
    let module = engine.load(&component).context("the built component does not load")?;
    let loaded_in = started.elapsed();
    let provenance = module.provenance();
    println!("built {} {} → {}", module.name(), module.version(), relative(&out));
    println!("sha256 {}", module.sha256_hex());
    println!(
        "{} ({}), {:.1} MB; built in {:.1} s, compiled and checked in {:.1} s",
        provenance.language,
        provenance.toolchain.as_deref().unwrap_or("toolchain unknown"),
        component.len() as f64 / 1e6,
        built_in.as_secs_f64(),
        loaded_in.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// A policy project on disk, by the manifest its language uses.
pub(crate) enum PolicyProject {
    /// A crate: `Cargo.toml`.
    Rust(PathBuf),
    /// `pyproject.toml` or `package.json`.
    Interpreted(interpreted::Project),
}

impl PolicyProject {
    /// The project in `dir`, by its manifest.
    pub(crate) fn locate(dir: &Path) -> anyhow::Result<PolicyProject> {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("cannot find the policy project `{}`", dir.display()))?;
        if dir.join("Cargo.toml").is_file() {
            return Ok(PolicyProject::Rust(dir));
        }
        if let Some(project) = interpreted::Project::locate(&dir) {
            return Ok(PolicyProject::Interpreted(project));
        }
        bail!(
            "`{}` is not a policy project: it has no Cargo.toml (Rust), pyproject.toml (Python) or \
             package.json (JavaScript/TypeScript); `memwarden policy new NAME --lang rust|python|js` makes one",
            dir.display()
        )
    }

    /// The component of the last `policy build`, which must exist.
    pub(crate) fn built_component(&self) -> anyhow::Result<PathBuf> {
        let (dir, path) = match self {
            PolicyProject::Rust(dir) => (dir, rust::PolicyCrate::locate(dir)?.component_path()),
            PolicyProject::Interpreted(project) => (&project.dir, project.component_path()),
        };
        if !path.is_file() {
            bail!(
                "the policy project `{}` has no component at `{}`: run `memwarden policy build {}` first",
                dir.display(),
                path.display(),
                dir.display()
            );
        }
        Ok(path)
    }

    /// A source file changed since `component` was built, if any: then
    /// `policy test` would test old code.
    pub(crate) fn newer_source(&self, component: &Path) -> Option<PathBuf> {
        let built = std::fs::metadata(component).and_then(|m| m.modified()).ok()?;
        let mut pending = match self {
            PolicyProject::Rust(dir) => vec![dir.join("src"), dir.join("Cargo.toml")],
            PolicyProject::Interpreted(project) => project.sources(),
        };
        while let Some(path) = pending.pop() {
            let Ok(metadata) = std::fs::metadata(&path) else { continue };
            if metadata.is_dir() {
                let entries = std::fs::read_dir(&path).into_iter().flatten().flatten();
                pending.extend(entries.map(|entry| entry.path()));
            } else if metadata.modified().is_ok_and(|modified| modified > built) {
                return Some(path);
            }
        }
        None
    }
}

/// Adds `language` and `processed-by` (`tool_name` with the version
/// `tool --version` prints) to the component's producers section, where
/// `policy inspect` and the host's per-language defaults read them.
fn record_toolchain(component: &[u8], language: &str, tool_name: &str, tool: &Path) -> anyhow::Result<Vec<u8>> {
    let version = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| version_in(&text).map(str::to_string))
        .unwrap_or_default();
    let mut producers = wasm_metadata::Producers::empty();
    producers.add("language", language, "");
    producers.add("processed-by", tool_name, &version);
    producers.add_to_wasm(component).context("cannot record the toolchain in the component")
}

/// The first word of a `--version` line that starts with a digit:
/// `1.95.0` of `rustc 1.95.0 (59807616e 2026-04-14)`.
fn version_in(text: &str) -> Option<&str> {
    text.split_whitespace().find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
}

fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_the_first_numeric_word() {
        assert_eq!(version_in("rustc 1.95.0 (59807616e 2026-04-14)"), Some("1.95.0"));
        assert_eq!(version_in("componentize-py 0.25.1\n"), Some("0.25.1"));
        assert_eq!(version_in("no version here"), None);
    }
}
