//! [`Runtime`]: one wasmtime `Engine` with its instance pool, `Linker` and
//! module cache. A [`PolicyEngine`](super::PolicyEngine) keeps two, because
//! whether compiled code checks a wall-clock deadline is fixed per engine:
//!
//! - **metered**: fuel only. Compiled modules without a pack deadline run
//!   here; fuel stops them deterministically, and code without epoch checks
//!   at every loop head and function entry runs faster (the default pack
//!   takes 8–9% longer with them: the last lines of the policy_eval bench).
//! - **deadlined**: fuel and epoch interruption. Interpreted modules, whose
//!   instruction counts vary widely with the input, and any module a pack
//!   gives `deadline_ms`, run here. Built the first time such a module
//!   loads, so a host with only compiled modules never reserves its pool.

use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use super::LoadError;
use super::cache::ModuleCache;
use super::limits::{self, CallLimits, SandboxLimits};
use super::sandbox::EvalState;
use super::wit::{PolicyModule, v1};

/// An engine, the linker of the policy worlds' imports, and the disk cache
/// of what this engine compiled.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<EvalState>,
    pub(crate) cache: Option<ModuleCache>,
    /// Whether code compiled here checks the epoch, so calls can have a
    /// wall-clock deadline.
    deadlines: bool,
}

impl Runtime {
    /// A runtime under `limits`, caching compiled modules in `cache_dir`;
    /// with `deadlines`, its code checks the epoch and a ticker advances it.
    pub(crate) fn new(limits: &SandboxLimits, cache_dir: Option<&Path>, deadlines: bool) -> Result<Runtime, LoadError> {
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
        // Fuel everywhere: a fuel limit stops a module at the same
        // instruction on any machine, so a replay decides alike.
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(deadlines)
            .max_wasm_stack(limits.stack_bytes)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(LoadError::engine)?;
        if deadlines {
            limits::start_epoch_ticker(&engine).map_err(|err| LoadError::engine(err.into()))?;
        }

        let mut linker = Linker::new(&engine);
        PolicyModule::add_to_linker::<EvalState, HasSelf<EvalState>>(&mut linker, |state| state)
            .map_err(LoadError::engine)?;
        v1::PolicyModule::add_to_linker::<EvalState, HasSelf<EvalState>>(&mut linker, |state| state)
            .map_err(LoadError::engine)?;
        // Each runtime's artifacts carry its own compatibility hash, so the
        // two share a directory without reading each other's.
        let cache = cache_dir.map(|dir| ModuleCache::open(dir, &engine)).transpose()?;
        Ok(Runtime { engine, linker, cache, deadlines })
    }

    /// Whether calls here can have a wall-clock deadline.
    pub(crate) fn keeps_deadlines(&self) -> bool {
        self.deadlines
    }

    /// A fresh store for one call under `limits`.
    pub(crate) fn store(&self, index: super::TenantIndex, limits: CallLimits) -> Store<EvalState> {
        // INVARIANT: a call with a deadline runs on a deadlined runtime: the
        // engine loads every module that may get one (interpreted, or given
        // `deadline_ms` by its pack) there.
        debug_assert!(self.deadlines || limits.deadline.is_none(), "a deadline on a runtime without epochs");
        let mut store = Store::new(&self.engine, EvalState::new(index, limits.memory_bytes));
        store.limiter(|state| state);
        // INVARIANT: fuel consumption is enabled in `new`, the only place
        // the engine is built, so this cannot fail.
        let _ = store.set_fuel(limits.fuel);
        if self.deadlines {
            store.set_epoch_deadline(limits::deadline_ticks(limits.deadline));
        }
        store
    }

    /// `bytes` compiled here, from the cache when it holds them.
    pub(crate) fn compile(&self, bytes: &[u8], sha256: &[u8; 32]) -> Result<Component, LoadError> {
        if let Some(component) = self.cache.as_ref().and_then(|cache| cache.get(&self.engine, sha256)) {
            return Ok(component);
        }
        let component = Component::new(&self.engine, bytes).map_err(LoadError::compile)?;
        if let Some(cache) = &self.cache {
            cache.put(sha256, &component);
        }
        Ok(component)
    }
}
