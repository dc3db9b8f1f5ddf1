#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod bump;
#[cfg(not(target_arch = "wasm32"))]
pub mod cases;
mod decision;
pub mod index;
pub mod matching;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;

use serde::de::DeserializeOwned;

pub use memwarden_similarity as similarity;
pub use serde;

/// Raw bindings generated from `wit/policy.wit` (`memwarden:policy@0.2`). Policy authors rarely need
/// them: the SDK re-exports the types and [`export_policy!`] does the export.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/policy.wit",
        world: "configurable-policy-module",
        pub_export_macro: true,
        export_macro_name: "__export_policy_module",
        default_bindings_module: "memwarden_policy_sdk::bindings",
    });
}

pub use bindings::memwarden::policy::types::{
    AmendedChange, Amendment, CodeInfo, Context, Decision, EntrySummary, IndexStats, MemoryChange, ModuleInfo, Op,
    PieceEdit, PieceEditRecord, Proposal, Rejection, RunOutcome, Verdict,
};

/// A policy module. The implementing type is also the module's config: the
/// rule pack's `config:` block is deserialised into it (missing fields take
/// their `Default`), so derive `Deserialize` with `#[serde(default,
/// deny_unknown_fields)]` and a typo in a rule pack is refused at load time.
pub trait Policy: DeserializeOwned + Default {
    /// The module's name as rule packs and decision records show it.
    const NAME: &'static str;
    /// The module's version, usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// Every code this module may return, each with a one-line summary.
    const CODES: &'static [(&'static str, &'static str)];

    /// Checks the config beyond its shape; called once when a pack loads.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// Decides on a whole proposal. The default asks [`Policy::check_change`]
    /// for every memory change and [`Policy::check_piece`] for the piece
    /// edit; override it for rules that look across changes.
    fn evaluate(&self, proposal: &Proposal, context: &Context) -> Decision {
        Decision {
            memory: proposal.memory_changes.iter().map(|change| self.check_change(change, context)).collect(),
            piece: proposal.piece_edit.as_ref().map(|edit| self.check_piece(edit, context)),
        }
    }

    /// Decides on one memory change on its own.
    fn check_change(&self, _change: &MemoryChange, _context: &Context) -> Verdict {
        Verdict::Accept
    }

    /// Decides on the piece edit.
    fn check_piece(&self, _edit: &PieceEdit, _context: &Context) -> Verdict {
        Verdict::Accept
    }
}

/// Exports a [`Policy`] implementation as the component's `policy` interface.
///
/// Use it once, at the crate root of a `cdylib`. Compiled natively it does
/// nothing, so the same crate can be linked as an `rlib` and run through
/// [`native`] in tests and benchmarks.
///
/// It also exports the optional `configure` function of the 0.2 world: the
/// host calls it once when a rule pack loads, and every evaluation then
/// starts from an instance in which the config is already parsed (see "The
/// per-evaluation lifecycle" in the SDK guide).
///
/// Inside the sandbox it also installs a bump allocator as the module's
/// global allocator: every evaluation runs in a fresh instance whose memory
/// is thrown away after the call, so freeing is wasted work (see "The
/// per-evaluation lifecycle" in the SDK guide). A module that needs its own
/// allocator writes `export_policy!(MyPolicy, system_allocator)`.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[global_allocator]
        static __MEMWARDEN_POLICY_ALLOCATOR: $crate::__private::BumpAllocator = $crate::__private::BumpAllocator::new();

        $crate::export_policy!($policy, system_allocator);
    };
    ($policy:ty, system_allocator) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;

            /// The config `configure` parsed at load, in the host's snapshot.
            static CONFIGURED: $crate::__private::Configured<$policy> = $crate::__private::Configured::new();

            impl $crate::bindings::exports::memwarden::policy::policy::Guest for Export {
                fn info() -> $crate::ModuleInfo {
                    $crate::__private::info::<$policy>()
                }

                fn validate_config(config: String) -> Result<(), String> {
                    $crate::__private::validate_config::<$policy>(&config)
                }

                fn evaluate(proposal: $crate::Proposal, context: $crate::Context, config: String) -> $crate::Decision {
                    $crate::__private::evaluate::<$policy>(CONFIGURED.get(), &proposal, &context, &config)
                }
            }

            impl $crate::bindings::exports::memwarden::policy::configure::Guest for Export {
                fn configure(config: String) -> Result<(), String> {
                    $crate::__private::configure::<$policy>(&CONFIGURED, &config)
                }
            }

    $crate::bindings::__export_policy_module!(Export with_types_in $crate::bindings);
        };
    };
}

/// Declares a `static` [`matching::Patterns`] holding the set of that name
/// that `memwarden-policy-sdk-build` compiled in the crate's `build.rs`:
///
/// ```ignore
/// memwarden_policy_sdk::include_patterns!(pub(crate) SECRET_PREFIXES);
/// ```
///
/// The generated code names this crate as `::memwarden_policy_sdk`, so
/// depend on it under that name.
#[macro_export]
macro_rules! include_patterns {
    ($(#[$attr:meta])* $vis:vis $name:ident) => {
        $(#[$attr])*
        $vis static $name: $crate::matching::Patterns =
            include!(concat!(env!("OUT_DIR"), "/memwarden-patterns/", stringify!($name), ".rs"));
    };
}

/// Reads a policy's config from the JSON the host passes. An empty or `null`
/// config means "all defaults".
pub fn parse_config<P: Policy>(config: &str) -> Result<P, String> {
    let config = config.trim();
    if config.is_empty() || config == "null" {
        return Ok(P::default());
    }
    serde_json::from_str(config).map_err(|err| err.to_string())
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    pub use crate::bump::BumpAllocator;

    pub fn info<P: Policy>() -> ModuleInfo {
        ModuleInfo {
            name: P::NAME.to_string(),
            version: P::VERSION.to_string(),
            codes: P::CODES
                .iter()
                .map(|(code, summary)| CodeInfo { code: code.to_string(), summary: summary.to_string() })
                .collect(),
        }
    }

    pub fn validate_config<P: Policy>(config: &str) -> Result<(), String> {
        parse_config::<P>(config)?.validate()
    }

    /// Where [`export_policy!`] keeps the config that `configure` parsed at
    /// load. The host snapshots the instance right after that call, so every
    /// evaluation starts with the parsed config in place and reads no JSON.
    #[cfg(target_arch = "wasm32")]
    pub struct Configured<P>(std::cell::OnceCell<P>);

    // SAFETY: a wasm32-unknown-unknown instance runs one thread.
    #[cfg(target_arch = "wasm32")]
    unsafe impl<P> Sync for Configured<P> {}

    #[cfg(target_arch = "wasm32")]
    impl<P> Configured<P> {
        /// A slot holding no config yet.
        #[allow(clippy::new_without_default)] // only `export_policy!`'s static builds one
        pub const fn new() -> Configured<P> {
            Configured(std::cell::OnceCell::new())
        }

        /// The parsed config, once `configure` stored one.
        pub fn get(&self) -> Option<&P> {
            self.0.get()
        }
    }

    /// Parses and checks `config` and keeps it in `slot`, for the host to
    /// snapshot.
    #[cfg(target_arch = "wasm32")]
    pub fn configure<P: Policy>(slot: &Configured<P>, config: &str) -> Result<(), String> {
        let policy = parse_config::<P>(config)?;
        policy.validate()?;
        slot.0.set(policy).map_err(|_| "the module is already configured".to_string())
    }

    /// Decides with the config `configure` kept, if the host configured
    /// this instance; else with `config`, parsed now.
    pub fn evaluate<P: Policy>(
        configured: Option<&P>,
        proposal: &Proposal,
        context: &Context,
        config: &str,
    ) -> Decision {
        if let Some(policy) = configured {
            return policy.evaluate(proposal, context);
        }
        // INVARIANT: the host validated this config with `validate-config`
        // when it loaded the pack; a config that no longer parses is a host
        // bug, and trapping makes the host fail closed.
        let policy = match parse_config::<P>(config) {
            Ok(policy) => policy,
            Err(err) => panic!("config was validated at load but does not parse: {err}"),
        };
        policy.evaluate(proposal, context)
    }
}
