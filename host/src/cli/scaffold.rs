//! `memwarden policy new` and `policy build`: scaffold a policy crate that
//! builds on its own (the SDK and the WIT world are vendored into it, so it
//! needs no checkout of memwarden), and turn it into a component.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::Args;
use memwarden::policy::PolicyEngine;

/// The files of a new policy crate: (path, contents). `{name}` and
/// `{crate}` are replaced.
const TEMPLATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("scaffold/Cargo.toml.in")),
    ("src/lib.rs", include_str!("scaffold/lib.rs.in")),
    ("cases.yaml", include_str!("scaffold/cases.yaml.in")),
    (".gitignore", "/target\n"),
    ("wit/policy.wit", include_str!("../../../wit/policy.wit")),
    ("vendor/memwarden-policy-sdk/Cargo.toml", include_str!("scaffold/sdk-Cargo.toml.in")),
    ("vendor/memwarden-policy-sdk/README.md", include_str!("../../../guest-policies/sdk/README.md")),
    ("vendor/memwarden-policy-sdk/src/lib.rs", include_str!("../../../guest-policies/sdk/src/lib.rs")),
    ("vendor/memwarden-policy-sdk/src/decision.rs", include_str!("../../../guest-policies/sdk/src/decision.rs")),
    ("vendor/memwarden-policy-sdk/src/index.rs", include_str!("../../../guest-policies/sdk/src/index.rs")),
    ("vendor/memwarden-similarity/Cargo.toml", include_str!("../../../guest-policies/similarity/Cargo.toml")),
    ("vendor/memwarden-similarity/src/lib.rs", include_str!("../../../guest-policies/similarity/src/lib.rs")),
    // The standard policies' lockfile: the same, known-good versions.
    ("Cargo.lock", include_str!("../../../guest-policies/Cargo.lock")),
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
    for (path, contents) in TEMPLATE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        let contents = contents.replace("{name}", name).replace("{crate}", &crate_name);
        std::fs::write(&target, contents).with_context(|| format!("cannot write `{}`", target.display()))?;
    }
    println!("created policy `{name}` in {}", dir.display());
    println!("next: memwarden policy build {0} && memwarden policy test {0}/cases.yaml", dir.display());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The policy crate's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub(crate) fn build(engine: &PolicyEngine, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let manifest = args.dir.join("Cargo.toml");
    let metadata = Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .context("cannot run cargo")?;
    if !metadata.status.success() {
        bail!(
            "cargo metadata failed for `{}`: {}",
            manifest.display(),
            String::from_utf8_lossy(&metadata.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&metadata.stdout).context("cargo metadata printed no JSON")?;
    let package = metadata["packages"][0]["name"].as_str().context("cargo metadata names no package")?.to_string();
    let target_dir =
        PathBuf::from(metadata["target_directory"].as_str().context("cargo metadata names no target directory")?);

    let status = Command::new(cargo())
        .args(["build", "--release", "--target", WASM_TARGET, "--manifest-path"])
        .arg(&manifest)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build failed (is the target installed? `rustup target add {WASM_TARGET}`)");
    }

    let crate_name = package.replace('-', "_");
    let core_path = target_dir.join(WASM_TARGET).join("release").join(format!("{crate_name}.wasm"));
    let core = std::fs::read(&core_path).with_context(|| format!("cannot read `{}`", core_path.display()))?;
    let component =
        componentize(&core).with_context(|| format!("cannot turn `{}` into a component", core_path.display()))?;
    let out = target_dir.join(format!("{crate_name}.component.wasm"));
    std::fs::write(&out, &component).with_context(|| format!("cannot write `{}`", out.display()))?;

    let module = engine.load(&component).context("the built component does not load")?;
    println!("built {} {} → {}", module.name(), module.version(), relative(&out));
    println!("sha256 {}", module.sha256_hex());
    Ok(ExitCode::SUCCESS)
}

fn componentize(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default().module(core)?.validate(true).encode()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}
