//! A resolved pack as data: its modules by content hash, with their
//! configs, modes and limits. A host keeps the manifest of every revision it
//! puts in force, and each module's bytes, so that a recorded decision can
//! be run again on the very pack that made it (`memwarden policy verify`,
//! issue 13) — by then the pack's files may say something else.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PackError;
use super::engine::PolicyEngine;
use super::host_checks::HostRules;
use super::pack::{Mode, ModuleLimits, ModuleSpec, RulePack};
use super::pack_read::ReadModule;

/// The `format` of manifests this version writes.
const MANIFEST_FORMAT: u32 = 1;

/// A resolved pack as data; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The pack's name.
    pub name: String,
    /// The revision the pack had when it was kept; rebuilding it must give
    /// the same one.
    pub revision: String,
    /// The pack's own mode.
    pub mode: Mode,
    /// The modules, in pack order.
    pub modules: Vec<ManifestModule>,
}

/// One module of a [`PackManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestModule {
    /// The module's name, from its `info()`: for messages only.
    pub name: String,
    /// SHA-256 of the component, hex: where its bytes are kept.
    pub sha256: String,
    /// The config as the module got it (JSON; empty for defaults).
    pub config: String,
    /// Whether its rejections were advisory.
    pub audit: bool,
    /// The pack's `id:` for the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Fuel and memory per call, when the entry set its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ManifestLimits>,
}

/// The limits one module ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory per call, in MiB.
    pub memory_mib: u32,
    /// Wall-clock time per call, in ms, when the entry set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl RulePack {
    /// This pack as a manifest, and each module's bytes by hash.
    pub fn manifest(&self) -> (PackManifest, Vec<(&str, &[u8])>) {
        let modules = self
            .modules
            .iter()
            .map(|m| ManifestModule {
                name: m.module.name().to_string(),
                sha256: m.sha256.clone(),
                config: m.config_json.clone(),
                audit: m.audit,
                id: m.id.clone(),
                limits: m.own_limits.map(|own| ManifestLimits {
                    fuel: m.limits.fuel,
                    memory_mib: (m.limits.memory_bytes >> 20) as u32,
                    deadline_ms: own.deadline_ms,
                }),
            })
            .collect();
        let manifest = PackManifest {
            format: MANIFEST_FORMAT,
            name: self.name.clone(),
            revision: self.revision.clone(),
            mode: self.mode,
            modules,
        };
        let bytes = self.modules.iter().map(|m| (m.sha256.as_str(), &m.bytes[..])).collect();
        (manifest, bytes)
    }

    /// Rebuilds the pack `manifest` describes, with each module's bytes
    /// from `module_bytes` (by hash), under the operator's `rules`. Bytes
    /// that do not hash to their name are a pin mismatch; a pack that does
    /// not come back with its revision (the engine's default limits
    /// changed, say) is refused.
    pub fn from_manifest(
        engine: &PolicyEngine,
        manifest: &PackManifest,
        rules: HostRules,
        module_bytes: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<RulePack, PackError> {
        let origin = format!("archived pack {}", manifest.revision);
        if manifest.format != MANIFEST_FORMAT {
            let message = format!("manifest format {} is not {MANIFEST_FORMAT}", manifest.format);
            return Err(PackError::Parse { origin, message });
        }
        let mut specs = Vec::with_capacity(manifest.modules.len());
        for module in &manifest.modules {
            let bytes = module_bytes(&module.sha256).ok_or_else(|| PackError::Parse {
                origin: origin.clone(),
                message: format!("module `{}` ({}) is not in the archive", module.name, module.sha256),
            })?;
            let config = match module.config.as_str() {
                "" => serde_json::Value::Null,
                text => serde_json::from_str(text).map_err(|err| PackError::Parse {
                    origin: origin.clone(),
                    message: format!("module `{}` has a config that is not JSON: {err}", module.name),
                })?,
            };
            let spec = ModuleSpec {
                module: module.name.clone(),
                sha256: Some(module.sha256.clone()),
                config,
                mode: module.audit.then_some(Mode::Audit),
                id: module.id.clone(),
                limits: module.limits.map(|l| ModuleLimits {
                    fuel: Some(l.fuel),
                    memory_mib: Some(l.memory_mib),
                    deadline_ms: l.deadline_ms,
                }),
            };
            let sha256 = Sha256::digest(&bytes).into();
            specs.push(ReadModule { spec, bytes, sha256 });
        }
        let pack = RulePack::build(engine, manifest.name.clone(), manifest.mode, specs, &origin, rules)?;
        if pack.revision != manifest.revision {
            let message = format!("rebuilt as revision {}, not {}", pack.revision, manifest.revision);
            return Err(PackError::Parse { origin, message });
        }
        Ok(pack)
    }
}
