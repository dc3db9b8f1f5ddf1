//! [`PolicyEngine`]: one wasmtime `Engine` and `Linker` per process, the
//! sandbox limits, and the modules loaded so far (compiled once per content
//! hash, in memory and on disk), plain and configured (a module that exports
//! `configure`, snapshotted once per config: [`preinit`](super::preinit)).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use super::LoadError;
use super::cache::ModuleCache;
use super::guest::{self, Provenance};
use super::limits::{self, CallLimits, SandboxLimits};
use super::preinit::{self, PreinitError};
use super::sandbox::{self, EvalState};
use super::wit::{Inputs, PolicyModule, PolicyModulePre, v1, wit};
use super::world::{self, WorldVersion};

/// Loads policy modules and runs them. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PolicyEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<EvalState>,
    limits: SandboxLimits,
    cache: Option<ModuleCache>,
    loaded: Mutex<HashMap<[u8; 32], Arc<LoadedModule>>>,
    /// Configured snapshots, by [`configured_key`].
    configured: Mutex<HashMap<[u8; 32], Arc<LoadedModule>>>,
}

/// A compiled, import-checked module, ready to instantiate.
pub struct LoadedModule {
    pre: Bindings,
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
        match &self.pre {
            Bindings::V0_1(pre) => {
                let (proposal, context) = inputs.v1();
                let policy = pre.instantiate(&mut *store)?;
                let answer = policy.memwarden_policy_policy().call_evaluate(store, proposal, context, config)?;
                Ok(v1::decision(answer))
            }
            Bindings::V0_2(pre) => {
                let (proposal, context) = inputs.v2();
                pre.instantiate(&mut *store)?.memwarden_policy_policy().call_evaluate(store, proposal, context, config)
            }
        }
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
        let mut pool = PoolingAllocationConfig::default();
        let instances = limits.max_concurrent_instances;
        pool.total_component_instances(instances)
            // wit-component adds shim and fixup core instances around the
            // guest's own; four per component is ample.
            .total_core_instances(instances * 4)
            .total_memories(instances)
            .total_tables(instances * 4)
            .max_memory_size(limits.memory_bytes.max(limits.max_module_memory_bytes))
            // Resetting a slot by memset is cheaper than madvise plus page
            // faults for the small, hot memories policies use: measured with
            // the policy_eval bench, 512 KiB (a policy's stack, data and
            // first heap pages) takes a call from 21 µs to 15 µs; more
            // gains nothing.
            .linear_memory_keep_resident(512 << 10)
            .table_keep_resident(16 << 10)
            // On Linux 6.7+ the PAGEMAP_SCAN ioctl finds the pages a call
            // dirtied, so a reset touches only those instead of the whole
            // resident window: the trivial call drops from 14.4 to 10.4 µs
            // and the default pack from 612 to 496 µs (policy_eval bench,
            // issue 11). Older kernels fall back to the memset.
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        // Fuel first: a fuel limit stops a module at the same instruction
        // on any machine, so a replay decides alike. Epoch interruption adds
        // the wall-clock deadline interpreted modules get (issue 15).
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(LoadError::engine)?;
        limits::start_epoch_ticker(&engine).map_err(|err| LoadError::engine(err.into()))?;

        let mut linker = Linker::new(&engine);
        PolicyModule::add_to_linker::<EvalState, HasSelf<EvalState>>(&mut linker, |state| state)
            .map_err(LoadError::engine)?;
        v1::PolicyModule::add_to_linker::<EvalState, HasSelf<EvalState>>(&mut linker, |state| state)
            .map_err(LoadError::engine)?;
        let cache = cache_dir.map(|dir| ModuleCache::open(dir, &engine)).transpose()?;
        let inner = Inner { engine, linker, limits, cache, loaded: Mutex::default(), configured: Mutex::default() };
        Ok(PolicyEngine { inner: Arc::new(inner) })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> SandboxLimits {
        self.inner.limits
    }

    /// Compiles (or fetches from cache) the component in `bytes`, checks it
    /// against the policy world, and asks it who it is.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedModule>, LoadError> {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(module) = self.lock_loaded().get(&sha256) {
            return Ok(module.clone());
        }
        let provenance = guest::provenance(bytes);
        let default_limits = self.inner.limits.for_language(provenance.language);
        let component = self.compile(bytes, &sha256)?;
        let version = world::check(&self.inner.engine, &component)?;
        let instance_pre = self.inner.linker.instantiate_pre(&component).map_err(LoadError::link)?;
        let pre = match version {
            WorldVersion::V0_1 => Bindings::V0_1(v1::PolicyModulePre::new(instance_pre).map_err(LoadError::link)?),
            WorldVersion::V0_2 => Bindings::V0_2(PolicyModulePre::new(instance_pre).map_err(LoadError::link)?),
        };
        let info = pre.info(&mut self.store(Default::default(), default_limits)).map_err(LoadError::call)?;
        let configure = match version {
            WorldVersion::V0_1 => None,
            WorldVersion::V0_2 => preinit::configure_export(&self.inner.engine, &component),
        };
        let module = Arc::new(LoadedModule {
            pre,
            sha256,
            info,
            size_bytes: bytes.len(),
            provenance,
            default_limits,
            configure,
            configured: false,
        });
        self.lock_loaded().insert(sha256, module.clone());
        Ok(module)
    }

    /// `module` (loaded from `bytes`) readied to run with `config_json`:
    /// the config is checked, and a module that exports `configure` comes
    /// back as a snapshot taken right after configuring it, so that no
    /// evaluation parses the config again. Other modules (every 0.1 module,
    /// a 0.2 module without the export) come back as they are, checked with
    /// `validate-config`, and get the config on every call; so does any
    /// module given no config, which has nothing to parse (the defaults),
    /// where a snapshot would only cost two more compilations at load. The
    /// snapshot is cached, in memory and on disk, under the module's hash
    /// and the config.
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
        let key = configured_key(&module.sha256, config_json);
        if let Some(configured) = self.lock_configured().get(&key) {
            return Ok(configured.clone());
        }
        let cached = self.inner.cache.as_ref().and_then(|cache| cache.get(&self.inner.engine, &key));
        let component = match cached {
            Some(component) => component,
            None => {
                match preinit::snapshot(
                    &self.inner.linker,
                    self.store(Default::default(), module.default_limits),
                    bytes,
                    export,
                    config_json,
                ) {
                    Ok(snapshot) => {
                        let component = Component::new(&self.inner.engine, &snapshot).map_err(LoadError::compile)?;
                        if let Some(cache) = &self.inner.cache {
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
        if world::check(&self.inner.engine, &component)? != WorldVersion::V0_2 {
            return Err(LoadError::MissingExport { found: "a snapshot of another world".to_string() });
        }
        let instance_pre = self.inner.linker.instantiate_pre(&component).map_err(LoadError::link)?;
        let pre = Bindings::V0_2(PolicyModulePre::new(instance_pre).map_err(LoadError::link)?);
        let configured = Arc::new(LoadedModule {
            pre,
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
        let component = self.compile(bytes, &sha256)?;
        let ty = component.component_type();
        let engine = &self.inner.engine;
        Ok(ComponentShape {
            imports: ty.imports(engine).map(|(name, _)| name.to_string()).collect(),
            exports: ty.exports(engine).map(|(name, _)| name.to_string()).collect(),
        })
    }

    /// Whether the engine's disk cache holds `bytes` compiled, so loading
    /// it skips compilation.
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        self.inner.cache.as_ref().is_some_and(|cache| cache.get(&self.inner.engine, &sha256).is_some())
    }

    /// Asks `module` whether `config_json` is a valid config for it.
    pub fn validate_config(&self, module: &LoadedModule, config_json: &str) -> Result<(), LoadError> {
        let mut store = self.store(Default::default(), module.default_limits);
        module.pre.validate_config(&mut store, config_json).map_err(LoadError::call)?.map_err(LoadError::Config)
    }

    /// A fresh store for one call under `limits`.
    pub(crate) fn store(&self, index: super::TenantIndex, limits: CallLimits) -> Store<EvalState> {
        let mut store = Store::new(&self.inner.engine, EvalState::new(index, limits.memory_bytes));
        store.limiter(|state| state);
        // INVARIANT: fuel consumption is enabled in `with_options`, the only
        // place the engine is built, so this cannot fail.
        let _ = store.set_fuel(limits.fuel);
        store.set_epoch_deadline(limits::deadline_ticks(limits.deadline));
        store
    }

    fn compile(&self, bytes: &[u8], sha256: &[u8; 32]) -> Result<Component, LoadError> {
        let engine = &self.inner.engine;
        if let Some(component) = self.inner.cache.as_ref().and_then(|cache| cache.get(engine, sha256)) {
            return Ok(component);
        }
        let component = Component::new(engine, bytes).map_err(LoadError::compile)?;
        if let Some(cache) = &self.inner.cache {
            cache.put(sha256, &component);
        }
        Ok(component)
    }

    fn lock_configured(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<LoadedModule>>> {
        // As in `lock_loaded`.
        self.inner.configured.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<LoadedModule>>> {
        // A poisoned map only means another thread panicked mid-insert of an
        // Arc; the map itself is still consistent.
        self.inner.loaded.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Where a module configured with `config_json` is cached: the module's
/// hash, the config and the snapshotting tool, so a new config (or a new
/// wizer) is a new entry.
fn configured_key(module_sha256: &[u8; 32], config_json: &str) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(b"memwarden configured module\0wasmtime-wizer 48\0");
    key.update(module_sha256);
    key.update(config_json.as_bytes());
    key.finalize().into()
}

pub(crate) use sandbox::describe_failure;
