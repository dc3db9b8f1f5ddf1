//! Which language a policy module is written in, read from the `producers`
//! sections its toolchain left in the component. The host gives modules of
//! interpreted languages (Python, JavaScript) their own default limits: an
//! interpreter spends far more instructions per byte of proposal than a
//! compiled module, and its heap starts larger. `policy inspect` shows it.
//!
//! Nothing here is trusted for safety: a module that claims to be Python
//! gets the Python defaults, which stay under the operator's ceilings like
//! any pack's `limits:`.

use wasmparser::{KnownCustom, Parser, Payload};

/// The language a module was written in, as far as its producers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Compiled from Rust: the compiled defaults apply.
    Rust,
    /// CPython in the component, by componentize-py.
    Python,
    /// StarlingMonkey (SpiderMonkey) in the component, by ComponentizeJS.
    JavaScript,
    /// No producers section names a language we know.
    Unknown,
}

impl Language {
    /// Whether the module runs an interpreter compiled to wasm, and so gets
    /// the interpreted defaults ([`crate::SandboxLimits::interpreted`]).
    pub fn is_interpreted(self) -> bool {
        matches!(self, Language::Python | Language::JavaScript)
    }

    /// The name `policy inspect` and `--lang` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a component says of how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The source language, from the producers' `language` field.
    pub language: Language,
    /// The tool that made the component, with its version, when known
    /// (`componentize-py 0.25.1`, `ComponentizeJS 0.23.0`, `rustc 1.95.0`).
    pub toolchain: Option<String>,
}

/// The `processed-by` name `memwarden policy build` records for a Python
/// module (componentize-py itself leaves none that names it).
pub const COMPONENTIZE_PY: &str = "componentize-py";

/// Reads the producers sections of `bytes`, the component's own and its
/// core modules'. A component that does not parse is `Unknown`; loading it
/// reports the real error.
pub fn provenance(bytes: &[u8]) -> Provenance {
    let mut found = Producers::default();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        let Payload::CustomSection(section) = payload else { continue };
        let KnownCustom::Producers(reader) = section.as_known() else { continue };
        for field in reader.into_iter().flatten() {
            for value in field.values.into_iter().flatten() {
                found.note(field.name, value.name, value.version);
            }
        }
    }
    found.verdict()
}

/// The facts that tell the languages apart, gathered from every section.
#[derive(Default)]
struct Producers {
    javascript: Option<String>,
    python: Option<String>,
    /// componentize-py's snapshotting step: a Python module built without
    /// `memwarden policy build` still carries it.
    init_transform: bool,
    rust: Option<String>,
    rust_language: bool,
}

impl Producers {
    fn note(&mut self, field: &str, name: &str, version: &str) {
        let tool = || if version.is_empty() { name.to_string() } else { format!("{name} {version}") };
        match (field, name) {
            ("processed-by", "ComponentizeJS") => self.javascript = Some(tool()),
            ("language", "JavaScript") if self.javascript.is_none() => self.javascript = Some("JavaScript".into()),
            ("processed-by", COMPONENTIZE_PY) => self.python = Some(tool()),
            ("language", "Python") if self.python.is_none() => self.python = Some("Python".into()),
            ("processed-by", "component-init-transform") => self.init_transform = true,
            ("processed-by", "rustc") if self.rust.is_none() => self.rust = Some(tool()),
            ("language", "Rust") => self.rust_language = true,
            _ => {}
        }
    }

    fn verdict(self) -> Provenance {
        // An interpreter's runtime is itself partly Rust (StarlingMonkey
        // is), so the interpreted languages are looked for first.
        let (language, toolchain) = if self.javascript.is_some() {
            (Language::JavaScript, self.javascript)
        } else if self.python.is_some() {
            (Language::Python, self.python)
        } else if self.init_transform {
            (Language::Python, Some("component-init-transform".to_string()))
        } else if self.rust.is_some() || self.rust_language {
            (Language::Rust, self.rust)
        } else {
            (Language::Unknown, None)
        };
        Provenance { language, toolchain }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_producers_is_unknown() {
        let Ok(bytes) = wat::parse_str("(module)") else { panic!("wat") };
        assert_eq!(provenance(&bytes), Provenance { language: Language::Unknown, toolchain: None });
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        assert_eq!(provenance(b"\0asm\x01\0\0\0\x99\x99").language, Language::Unknown);
    }

    #[test]
    fn the_standard_modules_say_nothing_and_get_the_compiled_defaults() {
        // Built with `strip = true`, which drops the producers section too.
        let bytes = crate::builtin::module("size-limits").unwrap_or_default();
        let found = provenance(bytes);
        assert!(!found.language.is_interpreted(), "{found:?}");
    }

    #[test]
    fn a_python_module_is_told_by_its_recorded_toolchain_or_its_init_transform() {
        let mut producers = Producers::default();
        producers.note("processed-by", "component-init-transform", "0.2.0");
        assert_eq!(producers.verdict().language, Language::Python);
        let mut producers = Producers::default();
        producers.note("processed-by", "rustc", "1.95.0");
        producers.note("processed-by", COMPONENTIZE_PY, "0.25.1");
        let found = producers.verdict();
        assert_eq!((found.language, found.toolchain.as_deref()), (Language::Python, Some("componentize-py 0.25.1")));
    }

    #[test]
    fn a_javascript_module_wins_over_the_rust_of_its_runtime() {
        let mut producers = Producers::default();
        producers.note("language", "Rust", "");
        producers.note("processed-by", "ComponentizeJS", "0.23.0");
        assert_eq!(producers.verdict().language, Language::JavaScript);
    }
}
