//! Checks a component against the policy worlds before anything else touches
//! it: it may import only `memwarden:policy` interfaces of one compatible
//! version (no WASI, nothing else), and must export `policy` of that
//! version. Which version it speaks decides the bindings it runs through.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// The package and the major.minors this host speaks; any patch loads.
const PACKAGE: &str = "memwarden:policy/";
/// Interfaces a module may import (besides the type-only `types`).
const IMPORTABLE: [&str; 2] = ["tenant-index", "types"];
const EXPORTED: &str = "policy";

/// A policy world this host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorldVersion {
    /// `memwarden:policy@0.1.x`: accept or reject.
    V0_1,
    /// `memwarden:policy@0.2.x`: accept, reject, hold or amend.
    V0_2,
}

/// The world `component` speaks; refused unless it fits one.
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<WorldVersion, LoadError> {
    let ty = component.component_type();
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    let forbidden = |name: &str| LoadError::ForbiddenImport { name: name.to_string() };
    if let Some(name) = imports.iter().find(|name| !interface_of(name).is_some_and(|(i, _)| IMPORTABLE.contains(&i))) {
        return Err(forbidden(name));
    }
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let Some((_, version)) = exports.iter().find_map(|name| interface_of(name).filter(|(i, _)| *i == EXPORTED)) else {
        let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
        return Err(LoadError::MissingExport { found });
    };
    // One version throughout: a 0.2 policy reading a 0.1 index would get
    // the types of another contract.
    match imports.iter().find(|name| interface_of(name).is_some_and(|(_, v)| v != version)) {
        Some(name) => Err(forbidden(name)),
        None => Ok(version),
    }
}

/// (`tenant-index`, 0.1) for `memwarden:policy/tenant-index@0.1.3`; `None`
/// for anything outside the package or of a version this host lacks.
pub(crate) fn interface_of(name: &str) -> Option<(&str, WorldVersion)> {
    let (interface, version) = name.strip_prefix(PACKAGE)?.split_once('@')?;
    let (major, rest) = version.split_once('.')?;
    let minor = rest.split('.').next()?;
    let version = match (major, minor) {
        ("0", "1") => WorldVersion::V0_1,
        ("0", "2") => WorldVersion::V0_2,
        _ => return None,
    };
    Some((interface, version))
}

#[cfg(test)]
mod tests {
    use super::{WorldVersion, interface_of};

    #[test]
    fn accepts_any_patch_of_the_supported_minors() {
        assert_eq!(interface_of("memwarden:policy/tenant-index@0.1.0"), Some(("tenant-index", WorldVersion::V0_1)));
        assert_eq!(interface_of("memwarden:policy/policy@0.1.7"), Some(("policy", WorldVersion::V0_1)));
        assert_eq!(interface_of("memwarden:policy/policy@0.2.1"), Some(("policy", WorldVersion::V0_2)));
    }

    #[test]
    fn refuses_other_packages_and_versions() {
        for name in ["wasi:clocks/wall-clock@0.2.0", "memwarden:policy/policy@0.3.0", "memwarden:policy/policy", "evil"]
        {
            assert_eq!(interface_of(name), None, "{name}");
        }
    }
}
