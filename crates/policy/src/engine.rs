//! [`PolicyEngine`]: the wasmtime runtimes of a process (one for calls
//! bounded by fuel alone, one for calls that also have a wall-clock
//! deadline: see [`runtime`](super::runtime)), the sandbox limits, and the
//! modules loaded so far (compiled once per content hash and runtime, in
//! memory and on disk), plain and configured (a module that exports
//! `configure`, snapshotted once per config: [`preinit`](super::preinit)).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::{Component, ComponentExportIndex, TypedFunc};

use super::LoadError;
use super::guest::{self, Provenance};
use super::limits::{CallLimits, SandboxLimits};
use super::preinit::{self, PreinitError};
use super::runtime::Runtime;
use super::sandbox::{self, EvalState};
use super::wit::{Inputs, PolicyModulePre, v1, wit};
use super::world::{self, WorldVersion};

/// Loads policy modules and runs them. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PolicyEngine {
    inner: Arc<Inner>,
}

struct Inner {
    limits: SandboxLimits,
    cache_dir: Option<PathBuf>,
    /// Where calls bounded by fuel alone run: every compiled module, unless
    /// a pack gives it a deadline.
    metered: Arc<Runtime>,
    /// Where calls with a deadline run; built the first time a module
    /// needs it.
    deadlined: OnceLock<Arc<Runtime>>,
    loaded: Mutex<HashMap<LoadedKey, Arc<LoadedModule>>>,
    /// Configured snapshots, by [`configured_key`].
    configured: Mutex<HashMap<[u8; 32], Arc<LoadedModule>>>,
}

/// A loaded module's content hash, and whether it runs with deadlines.
type LoadedKey = ([u8; 32], bool);

/// A compiled, import-checked module, ready to instantiate.
pub struct LoadedModule {
    pre: Bindings,
    /// The runtime it was compiled for, whose stores its calls run in.
    runtime: Arc<Runtime>,
    /// Its `evaluate` export, whose type `load` checked once.
    evaluate: ComponentExportIndex,
    sha256: [u8; 32],
    info: wit::ModuleInfo,
    size_bytes: usize,
    /// The language and toolchain its producers sections name.
    provenance: Provenance,
    /// What a call gets unless the pack says otherwise: the engine's
    /// defaults for the module's language.
    default_limits: CallLimits,
    /// The module's `configure` export, e.g.
    /// `memwarden:policy/configure@0.2.0`, if it has one.
    configure: Option<String>,
    /// Instances start with the config already parsed (a snapshot taken
    /// after `configure`), so `evaluate` gets an empty config.
    configured: bool,
}

/// A module's pre-linked instance, in the world it speaks.
enum Bindings {
    V0_1(v1::PolicyModulePre<EvalState>),
    V0_2(PolicyModulePre<EvalState>),
}

impl Bindings {
    fn info(&self, store: &mut Store<EvalState>) -> wasmtime::Result<wit::ModuleInfo> {
        match self {
            Bindings::V0_1(pre) => {
                pre.instantiate(&mut *store)?.memwarden_policy_policy().call_info(store).map(v1::module_info)
            }
            Bindings::V0_2(pre) => pre.instantiate(&mut *store)?.memwarden_policy_policy().call_info(store),
        }
    }

    fn validate_config(&self, store: &mut Store<EvalState>, config: &str) -> wasmtime::Result<Result<(), String>> {
        match self {
            Bindings::V0_1(pre) => {
                pre.instantiate(&mut *store)?.memwarden_policy_policy().call_validate_config(store, config)
            }
            Bindings::V0_2(pre) => {
                pre.instantiate(&mut *store)?.memwarden_policy_policy().call_validate_config(store, config)
            }
        }
    }
}

/// The name of the interface holding `evaluate`, in `version`.
fn policy_interface(version: WorldVersion) -> &'static str {
    match version {
        WorldVersion::V0_1 => "memwarden:policy/policy@0.1.0",
        WorldVersion::V0_2 => "memwarden:policy/policy@0.2.0",
    }
}

/// The `evaluate` export of `component`, its type checked against `version`
/// on an instance in `store`, so that calls can skip the check (bindgen's
/// instantiate checks every export's type on every instance: about 1 µs of
/// each module's call).
fn checked_evaluate(
    component: &Component,
    version: WorldVersion,
    pre: &Bindings,
    store: &mut Store<EvalState>,
) -> wasmtime::Result<ComponentExportIndex> {
    let interface = policy_interface(version);
    let missing = || wasmtime::format_err!("no `evaluate` in `{interface}`");
    let parent = component.get_export_index(None, interface).ok_or_else(missing)?;
    let index = component.get_export_index(Some(&parent), "evaluate").ok_or_else(missing)?;
    match pre {
        Bindings::V0_1(pre) => {
            type T = v1::memwarden::policy::types::Proposal;
            type C = v1::memwarden::policy::types::Context;
            type D = v1::memwarden::policy::types::Decision;
            let instance = pre.instance_pre().instantiate(&mut *store)?;
            instance.get_typed_func::<(&T, &C, &str), (D,)>(&mut *store, &index)?;
        }
        Bindings::V0_2(pre) => {
            let instance = pre.instance_pre().instantiate(&mut *store)?;
            instance.get_typed_func::<(&wit::Proposal, &wit::Context, &str), (wit::Decision,)>(&mut *store, &index)?;
        }
    }
    Ok(index)
}

impl LoadedModule {
    /// Instantiates the module in `store` and asks it to decide; a 0.1
    /// module's answer comes back in 0.2 terms.
    pub(crate) fn evaluate(
        &self,
        store: &mut Store<EvalState>,
        inputs: &Inputs<'_>,
        config: &str,
    ) -> wasmtime::Result<wit::Decision> {
        let config = if self.configured { "" } else { config };
        let missing = || wasmtime::format_err!("the instance has no `evaluate`");
        match &self.pre {
            Bindings::V0_1(pre) => {
                let (proposal, context) = inputs.v1();
                let instance = pre.instance_pre().instantiate(&mut *store)?;
                let func = instance.get_func(&mut *store, self.evaluate).ok_or_else(missing)?;
                // SAFETY: `checked_evaluate` checked this export's type at
                // load, on an instance of the same component.
                let evaluate = unsafe {
                    TypedFunc::<(&_, &_, &str), (v1::memwarden::policy::types::Decision,)>::new_unchecked(func)
                };
                let (answer,) = evaluate.call(&mut *store, (proposal, context, config))?;
                Ok(v1::decision(answer))
            }
            Bindings::V0_2(pre) => {
                let (proposal, context) = inputs.v2();
                let instance = pre.instance_pre().instantiate(&mut *store)?;
                let func = instance.get_func(&mut *store, self.evaluate).ok_or_else(missing)?;
                // SAFETY: as above.
                let evaluate = unsafe { TypedFunc::<(&_, &_, &str), (wit::Decision,)>::new_unchecked(func) };
                let (answer,) = evaluate.call(&mut *store, (proposal, context, config))?;
                Ok(answer)
            }
        }
    }

    /// A fresh store for one call of this module under `limits`.
    pub(crate) fn store(&self, index: super::TenantIndex, limits: CallLimits) -> Store<EvalState> {
        self.runtime.store(index, limits)
    }

    /// Whether its calls can have a wall-clock deadline.
    pub fn keeps_deadlines(&self) -> bool {
        self.runtime.keeps_deadlines()
    }

    /// The policy world the module speaks, as `0.1` or `0.2`.
    pub fn world(&self) -> &'static str {
        match self.pre {
            Bindings::V0_1(_) => "0.1",
            Bindings::V0_2(_) => "0.2",
        }
    }

    /// Whether evaluations start from a snapshot in which the module's
    /// config is already parsed (the module exports `configure`), rather
    /// than passing the config on every call.
    pub fn is_preconfigured(&self) -> bool {
        self.configured
    }

    /// The name the module gives itself.
    pub fn name(&self) -> &str {
        &self.info.name
    }
    /// The version the module gives itself.
    pub fn version(&self) -> &str {
        &self.info.version
    }
    /// Every code the module declares, with its summary.
    pub fn codes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.info.codes.iter().map(|c| (c.code.as_str(), c.summary.as_str()))
    }
    /// SHA-256 of the component bytes, hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
    /// Size of the component, in bytes.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }
    /// The language and toolchain that made the module, as far as its
    /// producers sections tell.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }
    /// The limits a call gets when its pack entry sets none.
    pub fn default_limits(&self) -> CallLimits {
        self.default_limits
    }
}

/// What a component imports and exports, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentShape {
    /// Import names, e.g. `memwarden:policy/tenant-index@0.1.0`.
    pub imports: Vec<String>,
    /// Export names, e.g. `memwarden:policy/policy@0.1.0`.
    pub exports: Vec<String>,
}

impl PolicyEngine {
    /// An engine with default limits and no disk cache.
    pub fn new() -> Result<PolicyEngine, LoadError> {
        PolicyEngine::with_options(SandboxLimits::default(), None)
    }

    /// An engine with `limits`, caching compiled modules in `cache_dir`.
    pub fn with_options(limits: SandboxLimits, cache_dir: Option<&Path>) -> Result<PolicyEngine, LoadError> {
        let metered = Arc::new(Runtime::new(&limits, cache_dir, false)?);
        let inner = Inner {
            limits,
            cache_dir: cache_dir.map(Path::to_path_buf),
            metered,
            deadlined: OnceLock::new(),
            loaded: Mutex::default(),
            configured: Mutex::default(),
        };
        Ok(PolicyEngine { inner: Arc::new(inner) })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> SandboxLimits {
        self.inner.limits
    }

    /// Compiles (or fetches from cache) the component in `bytes`, checks it
    /// against the policy world, and asks it who it is. Interpreted modules
    /// are readied for their default deadline; compiled ones for fuel alone.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedModule>, LoadError> {
        self.load_in(bytes, guest::provenance(bytes).language.is_interpreted())
    }

    /// As [`load`](Self::load), readied for calls with a wall-clock deadline
    /// whatever the module's language: for a pack entry that sets
    /// `deadline_ms`.
    pub fn load_with_deadlines(&self, bytes: &[u8]) -> Result<Arc<LoadedModule>, LoadError> {
        self.load_in(bytes, true)
    }

    fn load_in(&self, bytes: &[u8], deadlines: bool) -> Result<Arc<LoadedModule>, LoadError> {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(module) = self.lock_loaded().get(&(sha256, deadlines)) {
            return Ok(module.clone());
        }
        let runtime = self.runtime(deadlines)?;
        let provenance = guest::provenance(bytes);
        let default_limits = self.inner.limits.for_language(provenance.language);
        let component = runtime.compile(bytes, &sha256)?;
        let version = world::check(&runtime.engine, &component)?;
        let (pre, evaluate) = self.bind(&runtime, &component, version, default_limits)?;
        let info = pre.info(&mut runtime.store(Default::default(), default_limits)).map_err(LoadError::call)?;
        let configure = match version {
            WorldVersion::V0_1 => None,
            WorldVersion::V0_2 => preinit::configure_export(&runtime.engine, &component),
        };
        let module = Arc::new(LoadedModule {
            pre,
            runtime,
            evaluate,
            sha256,
            info,
            size_bytes: bytes.len(),
            provenance,
            default_limits,
            configure,
            configured: false,
        });
        self.lock_loaded().insert((sha256, deadlines), module.clone());
        Ok(module)
    }

    /// `component` linked in `runtime` for the world `version`, with its
    /// `evaluate` export checked.
    fn bind(
        &self,
        runtime: &Runtime,
        component: &Component,
        version: WorldVersion,
        limits: CallLimits,
    ) -> Result<(Bindings, ComponentExportIndex), LoadError> {
        let instance_pre = runtime.linker.instantiate_pre(component).map_err(LoadError::link)?;
        let pre = match version {
            WorldVersion::V0_1 => Bindings::V0_1(v1::PolicyModulePre::new(instance_pre).map_err(LoadError::link)?),
            WorldVersion::V0_2 => Bindings::V0_2(PolicyModulePre::new(instance_pre).map_err(LoadError::link)?),
        };
        let mut store = runtime.store(Default::default(), limits);
        let evaluate = checked_evaluate(component, version, &pre, &mut store).map_err(LoadError::link)?;
        Ok((pre, evaluate))
    }

    /// The runtime for calls with (`deadlines`) or without a wall-clock
    /// deadline, built on first use.
    fn runtime(&self, deadlines: bool) -> Result<Arc<Runtime>, LoadError> {
        if !deadlines {
            return Ok(self.inner.metered.clone());
        }
        if let Some(runtime) = self.inner.deadlined.get() {
            return Ok(runtime.clone());
        }
        let built = Arc::new(Runtime::new(&self.inner.limits, self.inner.cache_dir.as_deref(), true)?);
        // Two threads may both build one; the first stored wins and the
        // other is dropped (its epoch ticker ends with it).
        Ok(self.inner.deadlined.get_or_init(|| built).clone())
    }

    /// `module` (loaded from `bytes`) readied to run with `config_json`:
    /// the config is checked, and a module that exports `configure` comes
    /// back as a snapshot taken right after configuring it, so that no
    /// evaluation parses the config again. Other modules (every 0.1 module,
    /// a 0.2 module without the export) come back as they are, checked with
    /// `validate-config`, and get the config on every call; so does any
    /// module given no config, which has nothing to parse (the defaults),
    /// where a snapshot would only cost two more compilations at load. The
    /// snapshot is cached, in memory and on disk, under the module's hash,
    /// the config and the runtime.
    pub(crate) fn configure(
        &self,
        module: &Arc<LoadedModule>,
        bytes: &[u8],
        config_json: &str,
    ) -> Result<Arc<LoadedModule>, LoadError> {
        let Some(export) = module.configure.as_ref().filter(|_| !config_json.is_empty()) else {
            self.validate_config(module, config_json)?;
            return Ok(module.clone());
        };
        let runtime = &module.runtime;
        let key = configured_key(&module.sha256, config_json, runtime.keeps_deadlines());
        if let Some(configured) = self.lock_configured().get(&key) {
            return Ok(configured.clone());
        }
        let cached = runtime.cache.as_ref().and_then(|cache| cache.get(&runtime.engine, &key));
        let component = match cached {
            Some(component) => component,
            None => {
                match preinit::snapshot(
                    &runtime.linker,
                    runtime.store(Default::default(), module.default_limits),
                    bytes,
                    export,
                    config_json,
                ) {
                    Ok(snapshot) => {
                        let component = Component::new(&runtime.engine, &snapshot).map_err(LoadError::compile)?;
                        if let Some(cache) = &runtime.cache {
                            cache.put(&key, &component);
                        }
                        component
                    }
                    Err(PreinitError::Refused(message)) => return Err(LoadError::Config(message)),
                    Err(PreinitError::Trapped(err)) => return Err(LoadError::call(err)),
                    Err(PreinitError::Unsupported(err)) => {
                        tracing::warn!(?err, module = %module.name(), "cannot snapshot a configured module; it gets its config on every call");
                        self.validate_config(module, config_json)?;
                        return Ok(module.clone());
                    }
                }
            }
        };
        // The snapshot is a new component: it must fit the world as the
        // original did.
        if world::check(&runtime.engine, &component)? != WorldVersion::V0_2 {
            return Err(LoadError::MissingExport { found: "a snapshot of another world".to_string() });
        }
        let (pre, evaluate) = self.bind(runtime, &component, WorldVersion::V0_2, module.default_limits)?;
        let configured = Arc::new(LoadedModule {
            pre,
            runtime: runtime.clone(),
            evaluate,
            sha256: module.sha256,
            info: module.info.clone(),
            size_bytes: module.size_bytes,
            provenance: module.provenance.clone(),
            default_limits: module.default_limits,
            configure: None,
            configured: true,
        });
        self.lock_configured().insert(key, configured.clone());
        Ok(configured)
    }

    /// The import and export names of a component, whether or not it fits
    /// the policy world.
    pub fn shape(&self, bytes: &[u8]) -> Result<ComponentShape, LoadError> {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let runtime = &self.inner.metered;
        let component = runtime.compile(bytes, &sha256)?;
        let ty = component.component_type();
        let engine = &runtime.engine;
        Ok(ComponentShape {
            imports: ty.imports(engine).map(|(name, _)| name.to_string()).collect(),
            exports: ty.exports(engine).map(|(name, _)| name.to_string()).collect(),
        })
    }

    /// Whether the engine's disk cache holds `bytes` compiled for the
    /// runtime [`load`](Self::load) picks, so loading it skips compilation.
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let Ok(runtime) = self.runtime(guest::provenance(bytes).language.is_interpreted()) else { return false };
        runtime.cache.as_ref().is_some_and(|cache| cache.get(&runtime.engine, &sha256).is_some())
    }

    /// Asks `module` whether `config_json` is a valid config for it.
    pub fn validate_config(&self, module: &LoadedModule, config_json: &str) -> Result<(), LoadError> {
        let mut store = module.store(Default::default(), module.default_limits);
        module.pre.validate_config(&mut store, config_json).map_err(LoadError::call)?.map_err(LoadError::Config)
    }

    fn lock_configured(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<LoadedModule>>> {
        // As in `lock_loaded`.
        self.inner.configured.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<LoadedKey, Arc<LoadedModule>>> {
        // A poisoned map only means another thread panicked mid-insert of an
        // Arc; the map itself is still consistent.
        self.inner.loaded.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Where a module configured with `config_json` is cached: the module's
/// hash, the config, the runtime and the snapshotting tool, so a new config
/// (or a new wizer) is a new entry.
fn configured_key(module_sha256: &[u8; 32], config_json: &str, deadlines: bool) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(b"memwarden configured module\0wasmtime-wizer 48\0");
    key.update(module_sha256);
    key.update([u8::from(deadlines)]);
    key.update(config_json.as_bytes());
    key.finalize().into()
}

pub(crate) use sandbox::describe_failure;
