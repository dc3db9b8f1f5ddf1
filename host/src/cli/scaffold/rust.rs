//! Rust policies: the crate `memwarden policy new --lang rust` writes
//! (the SDK and the WIT world are vendored into it, so it needs no checkout
//! of memwarden), and how `policy build` turns it into a component (cargo,
//! then `wit-component`). Also [`PolicyCrate`], which finds the component a
//! build made for a cases file's `crate:`.
//!
//! Read [`TEMPLATE`] first: it is every file a new crate gets.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use super::File;

/// The files of a new policy crate: (path, contents).
// INVARIANT: every source file of the SDK, its build step and the
// similarity crate is vendored; `tests::every_sdk_source_file_is_vendored` checks it (issue 11).
pub(super) const TEMPLATE: &[(&str, File)] = &[
    ("Cargo.toml", File::Template(include_str!("rust/Cargo.toml.in"))),
    ("README.md", File::Template(include_str!("rust/README.md.in"))),
    ("CASES.md", File::Verbatim(include_str!("../../../../docs/policy-cases.md"))),
    ("src/lib.rs", File::Template(include_str!("rust/lib.rs.in"))),
    ("cases.yaml", File::Template(include_str!("rust/cases.yaml.in"))),
    ("tests/cases.rs", File::Template(include_str!("rust/tests-cases.rs.in"))),
    (".cargo/config.toml", File::Verbatim(include_str!("../../../../guest-policies/.cargo/config.toml"))),
    ("rustfmt.toml", File::Verbatim(include_str!("../../../../rustfmt.toml"))),
    (".gitignore", File::Verbatim("/target\n")),
    ("wit/policy.wit", File::Verbatim(include_str!("../../../../wit/policy.wit"))),
    ("vendor/memwarden-policy-sdk/Cargo.toml", File::Verbatim(include_str!("rust/sdk-Cargo.toml.in"))),
    ("vendor/memwarden-policy-sdk/README.md", File::Verbatim(include_str!("../../../../guest-policies/sdk/README.md"))),
    (
        "vendor/memwarden-policy-sdk/src/lib.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/lib.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/bump.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/bump.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/cases.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/cases.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/decision.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/decision.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/index.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/index.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/matching.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/matching.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk/src/native.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk/src/native.rs")),
    ),
    // The build-time pattern compiler, for a `build.rs` (see Cargo.toml.in).
    ("vendor/memwarden-policy-sdk-build/Cargo.toml", File::Verbatim(include_str!("rust/sdk-build-Cargo.toml.in"))),
    (
        "vendor/memwarden-policy-sdk-build/src/lib.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk-build/src/lib.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk-build/src/compile.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk-build/src/compile.rs")),
    ),
    (
        "vendor/memwarden-policy-sdk-build/src/generate.rs",
        File::Verbatim(include_str!("../../../../guest-policies/sdk-build/src/generate.rs")),
    ),
    (
        "vendor/memwarden-similarity/Cargo.toml",
        File::Verbatim(include_str!("../../../../guest-policies/similarity/Cargo.toml")),
    ),
    (
        "vendor/memwarden-similarity/src/lib.rs",
        File::Verbatim(include_str!("../../../../guest-policies/similarity/src/lib.rs")),
    ),
    // The standard policies' lockfile: the same, known-good versions.
    ("Cargo.lock", File::Verbatim(include_str!("../../../../guest-policies/Cargo.lock"))),
];

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Builds the crate in `dir` for wasm and turns it into a component; also
/// returns where the component belongs.
pub(super) fn build_component(dir: &Path) -> anyhow::Result<(Vec<u8>, PathBuf)> {
    let krate = PolicyCrate::locate(dir)?;
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
    // A release build strips the producers section rustc wrote; put the
    // language back for `inspect`.
    let rustc = PathBuf::from(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    let component = super::record_toolchain(&component, "Rust", "rustc", &rustc)?;
    Ok((component, krate.component_path()))
}

/// A policy crate as cargo sees it from the crate's own directory: the
/// crate's `.cargo/config.toml`, `CARGO_TARGET_DIR` and `build.target-dir`
/// all count, as they do for `cargo build` there.
#[derive(Debug)]
pub(super) struct PolicyCrate {
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
    pub(super) fn locate(dir: &Path) -> anyhow::Result<PolicyCrate> {
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
    pub(super) fn component_path(&self) -> PathBuf {
        self.target_dir.join(format!("{}.component.wasm", self.lib_name))
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
