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
        world: "policy-module",
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

            impl $crate::bindings::exports::memwarden::policy::policy::Guest for Export {
                fn info() -> $crate::ModuleInfo {
                    $crate::__private::info::<$policy>()
                }

                fn validate_config(config: String) -> Result<(), String> {
                    $crate::__private::validate_config::<$policy>(&config)
                }

                fn evaluate(proposal: $crate::Proposal, context: $crate::Context, config: String) -> $crate::Decision {
                    $crate::__private::evaluate::<$policy>(&proposal, &context, &config)
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

    pub fn evaluate<P: Policy>(proposal: &Proposal, context: &Context, config: &str) -> Decision {
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
