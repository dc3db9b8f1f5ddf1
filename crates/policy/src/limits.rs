//! What one module call may spend: fuel (counted instructions, the same on
//! every machine, so a replay stops where the original did), linear memory,
//! and a wall-clock deadline (epoch interruption, for interpreted modules
//! whose instruction counts vary widely with the input). Which defaults a
//! module gets depends on its language ([`crate::guest`]); a pack's
//! `limits:` may change them up to the operator's ceilings.

use std::time::Duration;

use wasmtime::Engine;

use super::guest::Language;

/// Sandbox limits for every module call, set once per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Fuel per call (≈ wasm instructions) for compiled modules; an endless
    /// loop stops here.
    pub fuel: u64,
    /// Linear memory one instance of a compiled module may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wasm stack, in bytes; deep recursion stops here.
    pub stack_bytes: usize,
    /// Instances alive at once across all threads; beyond this an
    /// evaluation fails closed.
    pub max_concurrent_instances: u32,
    /// The most linear memory a pack's `limits:` may give one module; the
    /// instance pool is sized for it.
    pub max_module_memory_bytes: usize,
    /// What a Python or JavaScript module gets per call by default.
    pub interpreted: CallLimits,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            // content-guard's scorer spends about a thousand instructions
            // per byte of text; the largest proposal the default size-limits
            // admit (20 changes of 8 KiB) needs ~150M. An endless loop still
            // stops within about a quarter of a second.
            fuel: 250_000_000,
            memory_bytes: 32 << 20,
            stack_bytes: 512 << 10,
            max_concurrent_instances: 256,
            max_module_memory_bytes: 256 << 20,
            interpreted: CallLimits {
                // CPython and SpiderMonkey spend tens of wasm instructions
                // per Python or JavaScript operation: a banned-word rule over
                // a 20 × 8 KiB proposal burns 5.3 M fuel in Python and 13 M in
                // TypeScript, so this leaves ~75× room; an endless loop stops
                // in about half a second.
                fuel: 1_000_000_000,
                // CPython's snapshotted heap alone is 12.6 MiB.
                memory_bytes: 128 << 20,
                // A backstop about four times what the fuel takes here, so
                // fuel, which a replay reproduces, normally decides first.
                deadline: Some(Duration::from_secs(2)),
            },
        }
    }
}

impl SandboxLimits {
    /// A compiled module's defaults: fuel and memory, no deadline (fuel
    /// stops it deterministically, well under a second).
    pub fn compiled(&self) -> CallLimits {
        CallLimits { fuel: self.fuel, memory_bytes: self.memory_bytes, deadline: None }
    }

    /// The defaults for a module written in `language`.
    pub fn for_language(&self, language: Language) -> CallLimits {
        if language.is_interpreted() { self.interpreted } else { self.compiled() }
    }
}

/// What one call of one module may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Fuel (≈ wasm instructions).
    pub fuel: u64,
    /// Linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time; `None` leaves the call to its fuel.
    pub deadline: Option<Duration>,
}

/// How often the engine's epoch advances: the granularity of deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A deadline far enough away never to be met: what a call without one gets
/// (an epoch-interrupting engine traps a store whose deadline is unset).
const NO_DEADLINE_TICKS: u64 = 1 << 40;

/// The store deadline, in epoch ticks from now, for `deadline`; one tick
/// more than the quotient, so a call always gets at least its full time.
pub(crate) fn deadline_ticks(deadline: Option<Duration>) -> u64 {
    match deadline {
        Some(deadline) => (deadline.as_millis() / EPOCH_TICK.as_millis()) as u64 + 1,
        None => NO_DEADLINE_TICKS,
    }
}

/// Advances `engine`'s epoch every tick, on a thread that ends when the
/// engine is dropped. One per engine; a process normally has one engine.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new().name("memwarden-epoch".to_string()).spawn(move || {
        loop {
            std::thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_never_cut_short() {
        assert_eq!(deadline_ticks(Some(Duration::from_millis(5))), 1);
        assert_eq!(deadline_ticks(Some(Duration::from_millis(2000))), 201);
        assert_eq!(deadline_ticks(None), NO_DEADLINE_TICKS);
    }

    #[test]
    fn interpreted_languages_get_their_own_defaults() {
        let limits = SandboxLimits::default();
        assert_eq!(limits.for_language(Language::Rust), limits.compiled());
        assert_eq!(limits.for_language(Language::Unknown), limits.compiled());
        assert_eq!(limits.for_language(Language::Python), limits.interpreted);
        assert_eq!(limits.for_language(Language::JavaScript), limits.interpreted);
        assert!(limits.interpreted.fuel <= crate::ModuleCeilings::default().fuel);
        assert!(limits.interpreted.memory_bytes <= limits.max_module_memory_bytes);
    }
}
