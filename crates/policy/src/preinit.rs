//! Pre-initialisation at pack load (issue 11): a 0.2 module that exports
//! `configure` is instantiated once, its `configure` parses the pack's config
//! and keeps it in a static, and wasmtime-wizer snapshots that instance's
//! memories and globals into a new component. Every evaluation then starts
//! a fresh instance of that component, with the parsed config already in its
//! initial memory: nothing from one evaluation reaches the next, and no
//! evaluation reads JSON.
//!
//! It does not decide whether to snapshot, cache the result or fall back;
//! [`PolicyEngine::configure`](super::PolicyEngine::configure) does.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::Store;
use wasmtime::component::{Component, Instance, Lift, Linker, WasmList};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use super::sandbox::EvalState;
use super::world::{self, WorldVersion};

/// The interface a configurable module exports.
const CONFIGURE_INTERFACE: &str = "configure";

/// Why a module could not be configured by snapshot.
pub(crate) enum PreinitError {
    /// The module refused the config: the pack does not load.
    Refused(String),
    /// `configure` trapped: the pack does not load, as when
    /// `validate-config` traps.
    Trapped(wasmtime::Error),
    /// The snapshot machinery could not handle this component; the module
    /// still runs, with its config passed on every call.
    Unsupported(wasmtime::Error),
}

/// The full name of `component`'s 0.2 `configure` export, if it has one,
/// e.g. `memwarden:policy/configure@0.2.0`.
pub(crate) fn configure_export(engine: &wasmtime::Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    let name = ty
        .exports(engine)
        .map(|(name, _)| name)
        .find(|name| world::interface_of(name) == Some((CONFIGURE_INTERFACE, WorldVersion::V0_2)))?;
    Some(name.to_string())
}

/// Runs `export`'s `configure(config)` on an instrumented instance of the
/// component in `bytes` and returns the snapshot: a component whose every
/// fresh instance starts as that instance was when `configure` returned.
pub(crate) fn snapshot(
    linker: &Linker<EvalState>,
    mut store: Store<EvalState>,
    bytes: &[u8],
    export: &str,
    config: &str,
) -> Result<Vec<u8>, PreinitError> {
    let wizer = Wizer::new();
    let (cx, instrumented) = wizer.instrument_component(bytes).map_err(PreinitError::Unsupported)?;
    let component = Component::new(store.engine(), &instrumented).map_err(PreinitError::Unsupported)?;
    let instance = linker.instantiate(&mut store, &component).map_err(PreinitError::Unsupported)?;
    let configure = instance
        .get_export_index(&mut store, None, export)
        .and_then(|interface| instance.get_export_index(&mut store, Some(&interface), CONFIGURE_INTERFACE))
        .ok_or_else(|| PreinitError::Unsupported(wasmtime::format_err!("`{export}` exports no `configure`")))?;
    let configure = instance
        .get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, configure)
        .map_err(PreinitError::Unsupported)?;
    let (answer,) = configure.call(&mut store, (config,)).map_err(PreinitError::Trapped)?;
    answer.map_err(PreinitError::Refused)?;

    let mut state = Snapshotter { store: &mut store, instance, error: None };
    let snapshot = poll_once(wizer.snapshot_component(&cx, &mut state));
    if let Some(err) = state.error {
        return Err(PreinitError::Unsupported(err));
    }
    match snapshot {
        Some(result) => result.map_err(PreinitError::Unsupported),
        None => Err(PreinitError::Unsupported(wasmtime::format_err!("the snapshot did not complete synchronously"))),
    }
}

/// Polls `future` once: every call of [`Snapshotter`] is synchronous, so the
/// snapshot completes on the first poll or never.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Reads the instrumented instance's state for wizer, through the accessor
/// functions its instrumentation exported.
struct Snapshotter<'a> {
    store: &'a mut Store<EvalState>,
    instance: Instance,
    /// The first failure; the trait has no error channel, so a failed read
    /// returns an empty value and the snapshot is discarded.
    error: Option<wasmtime::Error>,
}

impl Snapshotter<'_> {
    /// Calls the accessor `interface#func`, which takes nothing and returns
    /// one `R`.
    fn call<R: Lift + 'static>(&mut self, interface: &str, func: &str) -> wasmtime::Result<R> {
        let store = &mut *self.store;
        let interface_index = self
            .instance
            .get_export_index(&mut *store, None, interface)
            .ok_or_else(|| wasmtime::format_err!("no accessor instance `{interface}`"))?;
        let func_index = self
            .instance
            .get_export_index(&mut *store, Some(&interface_index), func)
            .ok_or_else(|| wasmtime::format_err!("no accessor `{interface}#{func}`"))?;
        let func = self.instance.get_typed_func::<(), (R,)>(&mut *store, func_index)?;
        Ok(func.call(&mut *store, ())?.0)
    }

    /// [`Self::call`], keeping the first failure and answering the default.
    fn value<R: Lift + Default + 'static>(&mut self, interface: &str, func: &str) -> R {
        self.call(interface, func).unwrap_or_else(|err| {
            self.error.get_or_insert(err);
            R::default()
        })
    }
}

impl ComponentInstanceState for Snapshotter<'_> {
    async fn call_func_ret_list_u8(&mut self, interface: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        match self.call::<WasmList<u8>>(interface, func) {
            Ok(list) => contents(list.as_le_slice(&*self.store)),
            Err(err) => {
                self.error.get_or_insert(err);
                contents(&[]);
            }
        }
    }

    async fn call_func_ret_s32(&mut self, interface: &str, func: &str) -> i32 {
        self.value(interface, func)
    }

    async fn call_func_ret_s64(&mut self, interface: &str, func: &str) -> i64 {
        self.value(interface, func)
    }

    async fn call_func_ret_f32(&mut self, interface: &str, func: &str) -> u32 {
        self.value::<f32>(interface, func).to_bits()
    }

    async fn call_func_ret_f64(&mut self, interface: &str, func: &str) -> u64 {
        self.value::<f64>(interface, func).to_bits()
    }
}
