//! `memwarden policy new` and `policy build`: scaffold a policy crate that
//! builds on its own (the SDK and the WIT world are vendored into it, so it
//! needs no checkout of memwarden), and turn it into a component. Also
//! [`PolicyCrate`], which `policy test` uses to find the component a build
//! made for a cases file's `crate:`.
//!
//! Read [`TEMPLATE`] first: it is every file a new crate gets.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::Args;
use memwarden::policy::PolicyEngine;

/// One file of a new policy crate.
enum File {
    /// A template: `{name}` and `{crate}` are replaced.
    Template(&'static str),
    /// Copied as it is (vendored sources, which may hold braces of their own).
    Verbatim(&'static str),
}

/// The files of a new policy crate: (path, contents).
// INVARIANT: every source file of the SDK, its build step and the
// similarity crate is vendored; `tests::every_sdk_source_file_is_vendored` checks it (issue 11).
const TEMPLATE: &[(&str, File)] = &[
    ("Cargo.toml", File::Template(include_str!("scaffold/Cargo.toml.in"))),
    ("README.md", File::Template(include_str!("scaffold/README.md.in"))),
    ("CASES.md", File::Verbatim(include_str!("../../../docs/policy-cases.md"))),
    ("src/lib.rs", File::Template(include_str!("scaffold/lib.rs.in"))),
    ("cases.yaml", File::Template(include_str!("scaffold/cases.yaml.in"))),
    ("tests/cases.rs", File::Template(include_str!("scaffold/tests-cases.rs.in"))),
    (".cargo/config.toml", File::Verbatim(include_str!("../../../guest-policies/.cargo/config.toml"))),
    ("rustfmt.toml", File::Verbatim(include_str!("../../../rustfmt.toml"))),
    (".gitignore", File::Verbatim("/target\n")),
    ("wit/policy.wit", File::Verbatim(include_str!("../../../wit/policy.wit"))),
    ("vendor/memwarden-policy-sdk/Cargo.toml", File::Verbatim(include_str!("scaffold/sdk-Cargo.toml.in"))),
    ("vendor/memwarden-policy-sdk/README.md", File::Verbatim(include_str!("../../../guest-policies/sdk/README.md"))),
    ("vendor/memwarden-policy-sdk/src/lib.rs", File::Verbatim(include_str!("../../../guest-policies/sdk/src/lib.rs"))),
    (
        "vendor/memwarden-policy-sdk/src/bump.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/bump.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/cases.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/cases.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/decision.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/decision.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/index.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/index.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/matching.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/matching.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/native.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk/src/native.rs")),
    ),
    // The build-time pattern compiler, for a `build.rs` (see Cargo.toml.in).
    ("vendor/memwarden-policy-sdk-build/Cargo.toml", File::Verbatim(include_str!("scaffold/sdk-build-Cargo.toml.in"))),
    (
        "vendor/memwarden-policy-sdk-build/src/lib.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk-build/src/lib.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk-build/src/compile.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk-build/src/compile.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk-build/src/generate.rs",
        File::Verbatim(include_str!("../../../guest-policies/sdk-build/src/generate.rs")),
    ),
    (
        "vendor/memwarden-similarity/Cargo.toml",
        File::Verbatim(include_str!("../../../guest-policies/similarity/Cargo.toml")),
    ),
    (
        "vendor/memwarden-similarity/src/lib.rs",
        File::Verbatim(include_str!("../../../guest-policies/similarity/src/lib.rs")),
    ),
    // The standard policies' lockfile: the same, known-good versions.
    ("Cargo.lock", File::Verbatim(include_str!("../../../guest-policies/Cargo.lock"))),
];

const WASM_TARGET: &str = "wasm32-unknown-unknown";

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The policy's name, a lowercase slug; also the directory created.
    name: String,
    /// Create the crate here instead of `./<name>`.
    #[arg(long)]
    dir: Option<PathBuf>,
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
    let crate_name = name.replace('-', "_");
    for (path, file) in TEMPLATE {
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
    println!("created policy `{name}` in {}", dir.display());
    println!(
        "next: (cd {0} && cargo test) && memwarden policy build {0} && memwarden policy test {0}/cases.yaml",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The policy crate's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub(crate) fn build(engine: &PolicyEngine, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let krate = PolicyCrate::locate(&args.dir)?;
    // Cargo reads `.cargo/config.toml` (the wasm stack size) from the
    // working directory, not from --manifest-path: build from the crate.
    let status = cargo_in(&krate.dir)
        .args(["build", "--release", "--target", WASM_TARGET, "--manifest-path"])
        .arg(&krate.manifest)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build failed (is the target installed? `rustup target add {WASM_TARGET}`)");
    }

    let core_path = krate.target_dir.join(WASM_TARGET).join("release").join(format!("{}.wasm", krate.lib_name));
    let core = std::fs::read(&core_path).with_context(|| format!("cannot read `{}`", core_path.display()))?;
    let component =
        componentize(&core).with_context(|| format!("cannot turn `{}` into a component", core_path.display()))?;
    let out = krate.component_path();
    std::fs::write(&out, &component).with_context(|| format!("cannot write `{}`", out.display()))?;

    let module = engine.load(&component).context("the built component does not load")?;
    println!("built {} {} → {}", module.name(), module.version(), relative(&out));
    println!("sha256 {}", module.sha256_hex());
    Ok(ExitCode::SUCCESS)
}

/// A policy crate as cargo sees it from the crate's own directory: the
/// crate's `.cargo/config.toml`, `CARGO_TARGET_DIR` and `build.target-dir`
/// all count, as they do for `cargo build` there.
#[derive(Debug)]
pub(crate) struct PolicyCrate {
    /// The crate's directory, absolute.
    dir: PathBuf,
    /// Its `Cargo.toml`.
    manifest: PathBuf,
    /// The name of its `cdylib` target, as in `<lib_name>.wasm`.
    lib_name: String,
    /// Where cargo writes its build output.
    target_dir: PathBuf,
}

impl PolicyCrate {
    /// Asks `cargo metadata` about the crate in `dir`.
    pub(crate) fn locate(dir: &Path) -> anyhow::Result<PolicyCrate> {
        let dir =
            std::fs::canonicalize(dir).with_context(|| format!("cannot find the policy crate `{}`", dir.display()))?;
        let manifest = dir.join("Cargo.toml");
        let output = cargo_in(&dir)
            .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
            .arg(&manifest)
            .output()
            .context("cannot run cargo")?;
        if !output.status.success() {
            bail!(
                "cargo metadata failed for `{}`: {}",
                manifest.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
        // In a workspace, the member whose manifest this is.
        let packages = metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default();
        let package = packages
            .iter()
            .find(|package| package["manifest_path"].as_str().is_some_and(|path| Path::new(path) == manifest))
            .with_context(|| format!("`{}` is a workspace, not a policy crate", manifest.display()))?;
        let targets = package["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        let lib_name = targets
            .iter()
            .find(|target| target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "cdylib")))
            .and_then(|target| target["name"].as_str())
            .with_context(|| format!("`{}` has no `cdylib` library, so it builds no component", manifest.display()))?
            .replace('-', "_");
        let target_dir =
            PathBuf::from(metadata["target_directory"].as_str().context("cargo metadata names no target directory")?);
        Ok(PolicyCrate { dir, manifest, lib_name, target_dir })
    }

    /// Where `policy build` writes the component.
    pub(crate) fn component_path(&self) -> PathBuf {
        self.target_dir.join(format!("{}.component.wasm", self.lib_name))
    }

    /// The component of the last `policy build`, which must exist.
    pub(crate) fn built_component(&self) -> anyhow::Result<PathBuf> {
        let path = self.component_path();
        if !path.is_file() {
            bail!(
                "the policy crate `{}` has no component at `{}`: run `memwarden policy build {}` first",
                self.dir.display(),
                path.display(),
                self.dir.display()
            );
        }
        Ok(path)
    }

    /// A source file changed since the component was built, if any: then
    /// `policy test` would test old code.
    pub(crate) fn newer_source(&self, component: &Path) -> Option<PathBuf> {
        let built = std::fs::metadata(component).and_then(|m| m.modified()).ok()?;
        let mut pending = vec![self.dir.join("src"), self.manifest.clone()];
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

/// Cargo in `dir`, without the caller's rustflags: `RUSTFLAGS` and its
/// kin replace the `[target.wasm32-unknown-unknown] rustflags` of the
/// crate's config rather than adding to them, and would drop its stack size.
fn cargo_in(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    command
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    command
}

fn componentize(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default().module(core)?.validate(true).encode()
}

fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sdk_source_file_is_vendored() {
        let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-policies");
        let vendored_dirs = [
            ("sdk/src", "vendor/memwarden-policy-sdk/src"),
            ("sdk-build/src", "vendor/memwarden-policy-sdk-build/src"),
            ("similarity/src", "vendor/memwarden-similarity/src"),
        ];
        for (dir, vendored) in vendored_dirs {
            for entry in std::fs::read_dir(guests.join(dir)).expect("read the SDK sources") {
                let name = entry.expect("dir entry").file_name().to_string_lossy().into_owned();
                let path = format!("{vendored}/{name}");
                assert!(TEMPLATE.iter().any(|(p, _)| *p == path), "`{dir}/{name}` is not vendored as `{path}`");
            }
        }
    }

    #[test]
    fn vendored_files_are_not_templates() {
        for (path, file) in TEMPLATE {
            if path.starts_with("vendor/") || path.starts_with("wit/") {
                assert!(matches!(file, File::Verbatim(_)), "`{path}` would have its braces replaced");
            }
        }
    }
}
