//! The standard policy modules, embedded in the binary by `build.rs`, and
//! the built-in rule packs that use them.

include!(concat!(env!("OUT_DIR"), "/standard_policies.rs"));

/// The built-in packs: (name, YAML).
const PACKS: &[(&str, &str)] = &[("default", include_str!("default_pack.yaml"))];

/// The component bytes of the built-in module `name`.
pub fn module(name: &str) -> Option<&'static [u8]> {
    STANDARD.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}

/// Names of the built-in modules, in default-pack order.
pub fn module_names() -> impl Iterator<Item = &'static str> {
    STANDARD.iter().map(|(name, _)| *name)
}

/// The YAML of the built-in pack `name`.
pub fn pack(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, yaml)| *yaml)
}
