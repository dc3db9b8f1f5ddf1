//! Rule packs: an ordered list of modules with their configs and modes, and
//! optionally a parent pack they extend.
//!
//! Two stages, as for CLI arguments: [`PackFile`] is the YAML as written and
//! only validates its shape; [`RulePack`] is resolved — every module read,
//! pin-checked, compiled and its config validated by the module itself — so
//! a bad pack fails when it loads, never at a tenant's first job.
//!
//! Audit is per module: `mode: audit` on a module makes its rejections
//! advisory while the rest of the pack enforces. A pack-level `mode: audit`
//! loads only when the operator allows it ([`HostRules::pack_audit`]), and a
//! pack's mode is its own: `extends` never passes it on (issue 9). Neither
//! waives the core guards ([`CORE_GUARDS`](super::CORE_GUARDS)).
//!
//! A load reads every file first ([`ReadPack`](super::pack_read::ReadPack)), then checks the pack's
//! signature for the tenants that need one, then compiles the very bytes
//! it read: a module is never read twice, so never swapped between the
//! check and the compile.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::engine::{LoadedModule, PolicyEngine};
use super::host_checks::HostRules;
use super::limits::CallLimits;
use super::pack_read::{ReadModule, ReadPack, Source};
use super::signing::{self, SignedPack, Trust};
use super::{LoadError, PackError};

/// What a pack, or one module of it, does with its verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Apply only accepted changes.
    #[default]
    Enforce,
    /// Decide and record, but apply as if accepted: for trying a new rule
    /// on live traffic. Never waives the core guards.
    Audit,
}

/// A rule pack as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) extends: Option<String>,
    #[serde(default)]
    pub(crate) mode: Option<Mode>,
    #[serde(default)]
    pub(crate) modules: Vec<ModuleSpec>,
}

/// One `modules:` item of a pack file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSpec {
    /// A built-in module name, or a path to a `.wasm` component (relative
    /// to the pack file).
    pub module: String,
    /// Expected SHA-256 of the component, hex; a mismatch refuses the pack.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The module's config; absent means all defaults.
    #[serde(default)]
    pub config: serde_json::Value,
    /// `audit` makes the module's rejections advisory (core guards
    /// excepted); absent means `enforce`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Tells apart two entries of the same module in one pack (say, one
    /// config enforced and another audited); shown in decision records.
    #[serde(default)]
    pub id: Option<String>,
    /// Per-call limits for this module instead of the host's defaults, up
    /// to the operator's ceilings ([`crate::ModuleCeilings`]).
    #[serde(default)]
    pub limits: Option<ModuleLimits>,
}

/// A pack entry's `limits:`. What is absent keeps the host's default.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ModuleLimits {
    /// Fuel (≈ wasm instructions) per call.
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Linear memory, in MiB.
    #[serde(default)]
    pub memory_mib: Option<u32>,
    /// Wall-clock time per call, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

/// A resolved, ready-to-evaluate rule pack.
pub struct RulePack {
    pub(crate) name: String,
    pub(crate) revision: String,
    pub(crate) mode: Mode,
    pub(crate) modules: Vec<PackModule>,
    pub(crate) engine: PolicyEngine,
    pub(crate) rules: HostRules,
    /// The signed revision, when a tenant's keys checked the signature.
    pub(crate) signed_revision: Option<u64>,
}

/// One module of a resolved pack with its config.
pub(crate) struct PackModule {
    pub(crate) module: Arc<LoadedModule>,
    /// The component as loaded, kept for the policy archive.
    pub(crate) bytes: Arc<[u8]>,
    /// SHA-256 of `bytes`, hex.
    pub(crate) sha256: String,
    /// The pack's `id:` for this entry, if it gives one.
    pub(crate) id: Option<String>,
    pub(crate) config_json: String,
    /// Its rejections are advisory, core guards excepted.
    pub(crate) audit: bool,
    /// What each call may spend.
    pub(crate) limits: CallLimits,
    /// The entry's own `limits:`, if it set them (they count in the
    /// revision).
    pub(crate) own_limits: Option<ModuleLimits>,
}

/// What one call of `module` (the entry `spec`) may spend: the engine's
/// defaults for the module's language, or the entry's `limits:` when they
/// stay under the operator's ceilings (and the memory the engine's pool can
/// give). Language defaults above a ceiling are lowered to it: an operator
/// who allows less than the Python defaults still gets Python modules.
fn module_limits(
    engine: &PolicyEngine,
    rules: &HostRules,
    spec: &ModuleSpec,
    module: &LoadedModule,
    origin: &str,
) -> Result<CallLimits, PackError> {
    let ceilings = rules.module_ceilings;
    let pool = engine.limits();
    let memory_ceiling = ceilings.memory_bytes.min(pool.max_module_memory_bytes.max(pool.memory_bytes));
    let language = module.default_limits();
    let defaults = CallLimits {
        fuel: language.fuel.min(ceilings.fuel),
        memory_bytes: language.memory_bytes.min(memory_ceiling),
        deadline: language.deadline.map(|deadline| deadline.min(ceilings.deadline)),
    };
    let Some(limits) = spec.limits else { return Ok(defaults) };
    let invalid = |message: String| PackError::Parse { origin: origin.to_string(), message };
    let fuel = limits.fuel.unwrap_or(defaults.fuel);
    if fuel == 0 || fuel > ceilings.fuel {
        return Err(invalid(format!(
            "module `{}` asks for {fuel} fuel; the host allows 1 to {} (policy.max_module_fuel)",
            spec.module, ceilings.fuel
        )));
    }
    let memory_bytes = limits.memory_mib.map_or(defaults.memory_bytes, |mib| (mib as usize) << 20);
    if memory_bytes == 0 || memory_bytes > memory_ceiling {
        return Err(invalid(format!(
            "module `{}` asks for {} MiB of memory; the host allows 1 to {} MiB (policy.max_module_memory_mib)",
            spec.module,
            memory_bytes >> 20,
            memory_ceiling >> 20
        )));
    }
    let deadline = match limits.deadline_ms {
        None => defaults.deadline,
        Some(ms) if ms == 0 || Duration::from_millis(ms) > ceilings.deadline => {
            return Err(invalid(format!(
                "module `{}` asks for a {ms} ms deadline; the host allows 1 to {} ms (policy.max_module_deadline_ms)",
                spec.module,
                ceilings.deadline.as_millis()
            )));
        }
        Some(ms) => Some(Duration::from_millis(ms)),
    };
    Ok(CallLimits { fuel, memory_bytes, deadline })
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        })
    }
}

impl RulePack {
    /// Loads a pack by reference: a built-in pack name (`default`) or a
    /// path to a YAML file, under the default [`HostRules`].
    pub fn load(engine: &PolicyEngine, reference: &str) -> Result<RulePack, PackError> {
        RulePack::load_with(engine, reference, HostRules::default())
    }

    /// Loads a pack by reference under the operator's `rules`: a pack-level
    /// `mode: audit` is refused unless they allow it.
    pub fn load_with(engine: &PolicyEngine, reference: &str, rules: HostRules) -> Result<RulePack, PackError> {
        Ok(RulePack::load_for(engine, reference, rules, &Trust::default(), &[None])?.0)
    }

    /// Loads a pack that `tenants` run (`None`: every tenant a pack map does
    /// not name): for each that trusts keys, the signature must check out,
    /// before any module is compiled. Returns each such use.
    pub(crate) fn load_for(
        engine: &PolicyEngine,
        reference: &str,
        rules: HostRules,
        trust: &Trust,
        tenants: &[Option<&str>],
    ) -> Result<(RulePack, Vec<SignedPack>), PackError> {
        let read = ReadPack::read(reference)?;
        if read.mode == Mode::Audit && !rules.pack_audit {
            return Err(PackError::AuditNotAllowed { origin: read.origin });
        }
        let mut signed = Vec::new();
        for &tenant in tenants {
            let keys = trust.keys_for(tenant);
            if keys.is_empty() {
                continue;
            }
            let revision = signing::verify(&read.signature, &read.content, &keys, trust.now(), reference, tenant)?;
            let pack = read.name.clone();
            signed.push(SignedPack {
                tenant: tenant.map(str::to_string),
                pack,
                origin: reference.to_string(),
                revision,
            });
        }
        let mut pack = RulePack::build(engine, read.name, read.mode, read.modules, reference, rules)?;
        pack.signed_revision = signed.first().map(|use_| use_.revision);
        Ok((pack, signed))
    }

    /// A pack of one module with one config, for tests of a single module.
    pub fn single(
        engine: &PolicyEngine,
        module: &str,
        base: &Path,
        config: serde_json::Value,
    ) -> Result<RulePack, PackError> {
        let spec = ModuleSpec { module: module.to_string(), sha256: None, config, mode: None, id: None, limits: None };
        let read = ReadModule::read(Source::parse(module, base), spec, module)?;
        let rules = HostRules::default();
        RulePack::build(engine, module.to_string(), Mode::Enforce, vec![read], module, rules)
    }

    /// The engine the pack runs on: another pack loaded on it shares its
    /// compiled modules.
    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }

    /// The operator's rules the pack was loaded under.
    pub fn rules(&self) -> HostRules {
        self.rules
    }

    /// The pack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Digest of the resolved modules, configs and mode.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The signed revision in force, when a tenant's keys checked the
    /// pack's signature.
    pub fn signed_revision(&self) -> Option<u64> {
        self.signed_revision
    }

    /// `enforce`, or `audit` when the whole pack is advisory.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The loaded modules, in evaluation order.
    pub fn modules(&self) -> impl Iterator<Item = &LoadedModule> {
        self.modules.iter().map(|m| m.module.as_ref())
    }

    pub(crate) fn build(
        engine: &PolicyEngine,
        name: String,
        mode: Mode,
        read: Vec<ReadModule>,
        origin: &str,
        rules: HostRules,
    ) -> Result<RulePack, PackError> {
        let mut modules = Vec::with_capacity(read.len());
        let mut revision = Sha256::new();
        revision.update(format!("{mode:?}"));
        for ReadModule { spec, bytes, sha256 } in read {
            let actual = hex::encode(sha256);
            if let Some(expected) = &spec.sha256
                && !expected.eq_ignore_ascii_case(&actual)
            {
                return Err(PackError::PinMismatch {
                    origin: origin.to_string(),
                    module: spec.module,
                    expected: expected.clone(),
                    actual,
                });
            }
            let module_error = |source: LoadError| PackError::Module {
                origin: origin.to_string(),
                module: spec.module.clone(),
                source,
            };
            // A deadline needs code that checks the clock: a pack's own
            // `deadline_ms` moves a compiled module to the runtime that has it.
            let module = match spec.limits.and_then(|limits| limits.deadline_ms) {
                Some(_) => engine.load_with_deadlines(&bytes),
                None => engine.load(&bytes),
            }
            .map_err(module_error)?;
            let config_json = if spec.config.is_null() { String::new() } else { spec.config.to_string() };
            // Checks the config; a module that can be configured once comes
            // back as a snapshot with the config already parsed.
            let module = engine.configure(&module, &bytes, &config_json).map_err(module_error)?;
            let audit = mode == Mode::Audit || spec.mode == Some(Mode::Audit);
            revision.update(&actual);
            revision.update(config_json.as_bytes());
            revision.update([0, u8::from(audit)]);
            if let Some(id) = &spec.id {
                revision.update(b"id:");
                revision.update(id.as_bytes());
            }
            let limits = module_limits(engine, &rules, &spec, &module, origin)?;
            if spec.limits.is_some() {
                revision.update(b"limits:");
                revision.update(limits.fuel.to_le_bytes());
                revision.update((limits.memory_bytes as u64).to_le_bytes());
                // Packs without a deadline keep the revision they had.
                if let Some(ms) = spec.limits.and_then(|l| l.deadline_ms) {
                    revision.update(b"deadline:");
                    revision.update(ms.to_le_bytes());
                }
            }
            let own_limits = spec.limits;
            modules.push(PackModule {
                module,
                bytes: bytes.into(),
                sha256: actual,
                id: spec.id,
                config_json,
                audit,
                limits,
                own_limits,
            });
        }
        Ok(RulePack {
            name,
            revision: hex::encode(&revision.finalize()[..6]),
            mode,
            modules,
            engine: engine.clone(),
            rules,
            signed_revision: None,
        })
    }
}
