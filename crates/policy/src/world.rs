//! Checks a component against the policy world before anything else touches
//! it: it may import only `memwarden:policy` interfaces of a compatible
//! version (no WASI, nothing else), and must export `policy`.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// The package and the major.minor this host speaks; any patch of it loads.
const PACKAGE: &str = "memwarden:policy/";
const COMPATIBLE: &str = "0.1";
/// Interfaces a module may import (besides the type-only `types`).
const IMPORTABLE: [&str; 2] = ["tenant-index", "types"];
const EXPORTED: &str = "policy";

/// Refuses `component` unless it fits the policy world.
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        let allowed = interface_of(name).is_some_and(|interface| IMPORTABLE.contains(&interface));
        if !allowed {
            return Err(LoadError::ForbiddenImport { name: name.to_string() });
        }
    }
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    if !exports.iter().any(|name| interface_of(name) == Some(EXPORTED)) {
        let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
        return Err(LoadError::MissingExport { found });
    }
    Ok(())
}

/// `tenant-index` for `memwarden:policy/tenant-index@0.1.3`; `None` for
/// anything outside the package or of an incompatible version.
pub(crate) fn interface_of(name: &str) -> Option<&str> {
    let (interface, version) = name.strip_prefix(PACKAGE)?.split_once('@')?;
    let (major, rest) = version.split_once('.')?;
    let minor = rest.split('.').next()?;
    (format!("{major}.{minor}") == COMPATIBLE).then_some(interface)
}

#[cfg(test)]
mod tests {
    use super::interface_of;

    #[test]
    fn accepts_any_patch_of_the_supported_minor() {
        assert_eq!(interface_of("memwarden:policy/tenant-index@0.1.0"), Some("tenant-index"));
        assert_eq!(interface_of("memwarden:policy/policy@0.1.7"), Some("policy"));
    }

    #[test]
    fn refuses_other_packages_and_versions() {
        for name in ["wasi:clocks/wall-clock@0.2.0", "memwarden:policy/policy@0.2.0", "memwarden:policy/policy", "evil"]
        {
            assert_eq!(interface_of(name), None, "{name}");
        }
    }
}
