//! Python and JavaScript/TypeScript policies: the projects `memwarden policy
//! new --lang python|js` writes, and how `policy build` turns them into
//! components with the language's own toolchain — componentize-py
//! (`--stub-wasi`) for Python; a bundle, then ComponentizeJS with every WASI
//! feature disabled, for JavaScript. Either way the component imports
//! nothing but `memwarden:policy/*`, so it runs in the same sandbox as a
//! Rust module; the host gives it the interpreted defaults (more fuel and
//! memory, a wall-clock deadline).
//!
//! The toolchain comes from the project (`.venv/`, `node_modules/`, pinned
//! in its `requirements.txt` / `package.json`), else from `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use memwarden::policy::guest::COMPONENTIZE_PY;

use super::{File, record_toolchain};

/// Where every interpreted project's build writes its component.
const COMPONENT: &str = "target/policy.wasm";

/// The world both languages' templates build (no `configure`: the
/// toolchains snapshot the module's top-level code at build time already).
const WORLD: &str = "policy-module";

/// The one import a JavaScript policy has; the bundle leaves it to
/// ComponentizeJS, which binds it to the host's tenant index.
const TENANT_INDEX_IMPORT: &str = "memwarden:policy/tenant-index@0.2.0";

/// A Python or JavaScript policy project.
pub(crate) struct Project {
    pub(super) dir: PathBuf,
    language: Language,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Python,
    Js,
}

impl Project {
    /// The project in `dir` (absolute), if its manifest says it is one.
    pub(super) fn locate(dir: &Path) -> Option<Project> {
        let language = if dir.join("pyproject.toml").is_file() {
            Language::Python
        } else if dir.join("package.json").is_file() {
            Language::Js
        } else {
            return None;
        };
        Some(Project { dir: dir.to_path_buf(), language })
    }

    pub(super) fn component_path(&self) -> PathBuf {
        self.dir.join(COMPONENT)
    }

    /// What a build reads: newer than the component means a stale build.
    pub(super) fn sources(&self) -> Vec<PathBuf> {
        let mut sources = vec![self.dir.join("wit")];
        match self.language {
            Language::Python => {
                sources.push(self.dir.join("pyproject.toml"));
                sources.push(self.dir.join("vendor"));
                let files = std::fs::read_dir(&self.dir).into_iter().flatten().flatten();
                sources.extend(files.map(|f| f.path()).filter(|p| p.extension().is_some_and(|e| e == "py")));
            }
            Language::Js => {
                sources.push(self.dir.join("package.json"));
                sources.push(self.dir.join("src"));
                sources.push(self.dir.join("vendor"));
            }
        }
        sources
    }

    /// Runs the toolchain; returns the component and where it belongs.
    pub(super) fn build_component(&self) -> anyhow::Result<(Vec<u8>, PathBuf)> {
        let out = self.component_path();
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        let component = match self.language {
            Language::Python => self.build_python(&out)?,
            Language::Js => self.build_js(&out)?,
        };
        Ok((component, out))
    }

    fn build_python(&self, out: &Path) -> anyhow::Result<Vec<u8>> {
        let install = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt";
        let tool = self.tool(COMPONENTIZE_PY, &[".venv/bin"], install)?;
        run(
            Command::new(&tool)
                .current_dir(&self.dir)
                .args([
                    "-d",
                    "wit",
                    "-w",
                    WORLD,
                    "componentize",
                    "--stub-wasi",
                    "-p",
                    "vendor",
                    "-p",
                    ".",
                    "policy",
                    "-o",
                ])
                .arg(out),
            COMPONENTIZE_PY,
        )?;
        let component = std::fs::read(out).with_context(|| format!("cannot read `{}`", out.display()))?;
        // componentize-py names itself nowhere in the component; say so, for
        // `inspect` and for the host's per-language defaults.
        record_toolchain(&component, "Python", COMPONENTIZE_PY, &tool)
    }

    fn build_js(&self, out: &Path) -> anyhow::Result<Vec<u8>> {
        let install = "npm install";
        let tsc = self.tool("tsc", &["node_modules/.bin"], install)?;
        let bundler = self.tool("rolldown", &["node_modules/.bin"], install)?;
        let componentize = self.tool("componentize-js", &["node_modules/.bin"], install)?;
        // The bundler only strips types; a type error should stop the build
        // here, not surface as a wrong verdict.
        run(Command::new(&tsc).current_dir(&self.dir).args(["-p", "."]), "tsc")?;
        let bundle = out.with_extension("js");
        run(
            Command::new(&bundler)
                .current_dir(&self.dir)
                .args(["src/policy.ts", "--format", "esm", "--platform", "neutral"])
                .args(["--external", TENANT_INDEX_IMPORT, "--file"])
                .arg(&bundle),
            "rolldown",
        )?;
        run(
            Command::new(&componentize)
                .current_dir(&self.dir)
                .arg(&bundle)
                .args(["--wit", "wit/policy.wit", "-n", WORLD])
                // No clock, randomness, stdio or network: the component must
                // import nothing but the policy world.
                .args(["-d", "stdio", "random", "clocks", "http", "fetch-event", "-o"])
                .arg(out),
            "componentize-js",
        )?;
        std::fs::read(out).with_context(|| format!("cannot read `{}`", out.display()))
    }

    /// `name` from the project's own tool directories, else from `PATH`.
    fn tool(&self, name: &str, project_dirs: &[&str], install: &str) -> anyhow::Result<PathBuf> {
        let local = project_dirs.iter().map(|dir| self.dir.join(dir).join(name)).find(|path| path.is_file());
        if let Some(path) = local {
            return Ok(path);
        }
        let on_path = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|path| path.is_file()));
        match on_path.flatten() {
            Some(path) => Ok(path),
            None => bail!(
                "`{name}` is not installed for `{}`: run `{install}` there (the versions are pinned in the project)",
                self.dir.display()
            ),
        }
    }
}

/// Runs a toolchain step; its own output goes to the terminal.
fn run(command: &mut Command, name: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot run `{name}`"))?;
    if !status.success() {
        bail!("`{name}` failed ({status})");
    }
    Ok(())
}

/// The files of a new Python policy project: (path, contents).
// INVARIANT: every file of the SDK package is vendored;
// `tests::every_sdk_file_is_vendored` checks it.
pub(super) const PYTHON_TEMPLATE: &[(&str, File)] = &[
    ("pyproject.toml", File::Template(include_str!("python/pyproject.toml.in"))),
    ("policy.py", File::Template(include_str!("python/policy.py.in"))),
    ("cases.yaml", File::Template(include_str!("python/cases.yaml.in"))),
    ("README.md", File::Template(include_str!("python/README.md.in"))),
    ("CASES.md", File::Verbatim(include_str!("../../../../docs/policy-cases.md"))),
    ("requirements.txt", File::Verbatim(include_str!("python/requirements.txt"))),
    ("test_cases.py", File::Verbatim(include_str!("python/test_cases.py"))),
    (".gitignore", File::Verbatim(include_str!("python/gitignore"))),
    ("wit/policy.wit", File::Verbatim(include_str!("../../../../wit/policy.wit"))),
    (
        "vendor/memwarden_policy/README.md",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/README.md")),
    ),
    (
        "vendor/memwarden_policy/__init__.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/__init__.py")),
    ),
    (
        "vendor/memwarden_policy/cases.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/cases.py")),
    ),
    (
        "vendor/memwarden_policy/config.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/config.py")),
    ),
    (
        "vendor/memwarden_policy/index.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/index.py")),
    ),
    (
        "vendor/memwarden_policy/module.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/module.py")),
    ),
    (
        "vendor/memwarden_policy/native.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/native.py")),
    ),
    (
        "vendor/memwarden_policy/similarity.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/similarity.py")),
    ),
    (
        "vendor/memwarden_policy/verdicts.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/verdicts.py")),
    ),
    (
        "vendor/memwarden_policy/wit_types.py",
        File::Verbatim(include_str!("../../../../guest-policies/python/sdk/memwarden_policy/wit_types.py")),
    ),
];

/// The files of a new JavaScript/TypeScript policy project.
// INVARIANT: every file of the SDK is vendored; checked as for Python.
pub(super) const JS_TEMPLATE: &[(&str, File)] = &[
    ("package.json", File::Template(include_str!("js/package.json.in"))),
    ("package-lock.json", File::Template(include_str!("js/package-lock.json.in"))),
    ("tsconfig.json", File::Verbatim(include_str!("js/tsconfig.json"))),
    ("src/policy.ts", File::Template(include_str!("js/src/policy.ts.in"))),
    ("cases.yaml", File::Template(include_str!("js/cases.yaml.in"))),
    ("README.md", File::Template(include_str!("js/README.md.in"))),
    ("CASES.md", File::Verbatim(include_str!("../../../../docs/policy-cases.md"))),
    (".gitignore", File::Verbatim(include_str!("js/gitignore"))),
    ("wit/policy.wit", File::Verbatim(include_str!("../../../../wit/policy.wit"))),
    ("vendor/memwarden-policy/index.ts", File::Verbatim(include_str!("../../../../guest-policies/js/sdk/index.ts"))),
    (
        "vendor/memwarden-policy/package.json",
        File::Verbatim(include_str!("../../../../guest-policies/js/sdk/package.json")),
    ),
    ("vendor/memwarden-policy/README.md", File::Verbatim(include_str!("../../../../guest-policies/js/sdk/README.md"))),
    (
        "vendor/memwarden-policy/wit-types/memwarden-policy-policy.d.ts",
        File::Verbatim(include_str!("../../../../guest-policies/js/sdk/wit-types/memwarden-policy-policy.d.ts")),
    ),
    (
        "vendor/memwarden-policy/wit-types/memwarden-policy-tenant-index.d.ts",
        File::Verbatim(include_str!("../../../../guest-policies/js/sdk/wit-types/memwarden-policy-tenant-index.d.ts")),
    ),
    (
        "vendor/memwarden-policy/wit-types/memwarden-policy-types.d.ts",
        File::Verbatim(include_str!("../../../../guest-policies/js/sdk/wit-types/memwarden-policy-types.d.ts")),
    ),
    (
        "vendor/memwarden-policy/wit-types/policy-module.d.ts",
        File::Verbatim(include_str!("../../../../guest-policies/js/sdk/wit-types/policy-module.d.ts")),
    ),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every file under `dir` of the repository is vendored under `vendored`.
    fn assert_vendored(template: &[(&str, File)], dir: &str, vendored: &str) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        let mut pending = vec![root.clone()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).expect("read the SDK").map(|e| e.expect("entry").path()));
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under the SDK").to_string_lossy().into_owned();
            if relative.contains("__pycache__") || relative.starts_with("test_") {
                continue;
            }
            let expected = format!("{vendored}/{relative}");
            assert!(template.iter().any(|(p, _)| *p == expected), "`{dir}/{relative}` is not vendored as `{expected}`");
        }
    }

    #[test]
    fn every_sdk_file_is_vendored() {
        assert_vendored(PYTHON_TEMPLATE, "guest-policies/python/sdk/memwarden_policy", "vendor/memwarden_policy");
        assert_vendored(JS_TEMPLATE, "guest-policies/js/sdk", "vendor/memwarden-policy");
    }

    #[test]
    fn vendored_files_are_not_templates() {
        for (path, file) in PYTHON_TEMPLATE.iter().chain(JS_TEMPLATE) {
            if path.starts_with("vendor/") || path.starts_with("wit/") {
                assert!(matches!(file, File::Verbatim(_)), "`{path}` would have its braces replaced");
            }
        }
    }
}
