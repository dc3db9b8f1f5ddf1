//! What a module's store holds during one call: the tenant index it may
//! read, and the memory limiter. Also turns a failed call into the one-line
//! reason decision records show.

use wasmtime::{ResourceLimiter, Trap};

use super::TenantIndex;
use super::wit::{memwarden::policy::tenant_index, v1, wit};
use v1::memwarden::policy::types::{EntrySummary as V1EntrySummary, IndexStats as V1IndexStats};

/// Per-call store data.
pub(crate) struct EvalState {
    index: TenantIndex,
    memory_limit: usize,
}

impl EvalState {
    pub(crate) fn new(index: TenantIndex, memory_limit: usize) -> EvalState {
        EvalState { index, memory_limit }
    }
}

/// The error a call fails with when its memory would pass the limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: wanted {desired} bytes, limit is {limit}")]
pub(crate) struct MemoryLimitExceeded {
    desired: usize,
    limit: usize,
}

impl ResourceLimiter for EvalState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            // An error (not `Ok(false)`) traps right here, so the failure is
            // reported as memory exhaustion rather than as whatever the guest
            // does when an allocation fails.
            return Err(MemoryLimitExceeded { desired, limit: self.memory_limit }.into());
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl tenant_index::Host for EvalState {
    fn stats(&mut self) -> wit::IndexStats {
        self.index.stats()
    }

    fn lookup(&mut self, name: String) -> Option<wit::EntrySummary> {
        self.index.lookup(&name)
    }

    fn entries(&mut self) -> Vec<wit::EntrySummary> {
        self.index.summaries()
    }

    fn fingerprints(&mut self) -> Vec<u64> {
        self.index.fingerprints().to_vec()
    }

    fn entry_at(&mut self, position: u32) -> Option<wit::EntrySummary> {
        self.index.entry_at(position)
    }

    fn body(&mut self, name: String) -> Option<String> {
        self.index.body(&name).map(str::to_string)
    }
}

impl wit::Host for EvalState {}

/// 0.1 modules read the same index, in their own types.
impl v1::memwarden::policy::tenant_index::Host for EvalState {
    fn stats(&mut self) -> V1IndexStats {
        v1::index_stats(self.index.stats())
    }

    fn lookup(&mut self, name: String) -> Option<V1EntrySummary> {
        self.index.lookup(&name).map(v1::entry_summary)
    }

    fn entries(&mut self) -> Vec<V1EntrySummary> {
        self.index.summaries().into_iter().map(v1::entry_summary).collect()
    }

    fn fingerprints(&mut self) -> Vec<u64> {
        self.index.fingerprints().to_vec()
    }

    fn entry_at(&mut self, position: u32) -> Option<V1EntrySummary> {
        self.index.entry_at(position).map(v1::entry_summary)
    }

    fn body(&mut self, name: String) -> Option<String> {
        self.index.body(&name).map(str::to_string)
    }
}

impl v1::memwarden::policy::types::Host for EvalState {}

/// One line saying why a call failed, naming the limit it hit if any.
pub(crate) fn describe_failure(err: &wasmtime::Error) -> String {
    if let Some(limit) = err.downcast_ref::<MemoryLimitExceeded>() {
        return limit.to_string();
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => "ran out of fuel (endless loop?)".to_string(),
        Some(Trap::Interrupt) => "ran past its wall-clock deadline".to_string(),
        Some(Trap::StackOverflow) => "stack overflow (runaway recursion?)".to_string(),
        Some(Trap::UnreachableCodeReached) => {
            "trapped: unreachable code (a Rust panic, or an uncaught Python or JavaScript exception?)".to_string()
        }
        Some(trap) => format!("trapped: {trap}"),
        None => format!("{err:#}").replace('\n', " "),
    }
}
