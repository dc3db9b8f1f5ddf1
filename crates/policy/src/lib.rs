//! The memwarden policy runtime: loads policy components, checks them
//! against the WIT world (`wit/policy.wit`), and evaluates rule packs on
//! proposals. It is the part of memwarden other hosts embed.
//!
//! Read [`PolicyEngine`] first (one per process: engine, linker, limits,
//! module cache), then [`RulePack::load`] (YAML → resolved modules) and
//! [`RulePack::evaluate`] (proposal → [`DecisionRecord`], infallible, fail
//! closed). `examples/evaluate.rs` does all three in thirty lines.
//!
//! What it does not do: it knows nothing of jobs, LLMs, async runtimes or
//! the tenant store, and writes nothing but its compiled-module cache.
//! Callers hand it a [`Proposal`], a [`Context`] and a [`TenantIndex`], and
//! persist the record it returns themselves. Its dependencies are wasmtime,
//! serde and a few small crates; a test keeps tokio, sqlx, axum and reqwest
//! out of its tree.
//!
//! The proposal and context types come from `memwarden-model` and are
//! re-exported here; names are checked by `memwarden-names`.
//!
//! The six standard modules (`schema`, `size-limits`, `cooldown`,
//! `merge-rules`, `content-guard`, `piece-guard`) and the `default` pack are
//! built from `guest-policies/` by `build.rs` and embedded.

#![deny(missing_docs)]

mod builtin;
mod cache;
mod context_file;
mod decision;
mod engine;
mod evaluate;
pub mod guest;
mod host_checks;
mod index;
mod limits;
mod manifest;
pub mod metrics;
mod pack;
mod pack_map;
mod pack_read;
mod preinit;
mod runtime;
mod sandbox;
mod signing;
mod wit;
mod world;

pub mod messages;
pub use memwarden_names as names;

/// Paths of components only the test suites load (a hostile module that
/// tries every escape the sandbox must stop).
#[doc(hidden)]
pub mod test_modules {
    include!(concat!(env!("OUT_DIR"), "/test_modules.rs"));
}

pub use builtin::{module as builtin_module, module_names as builtin_module_names};
pub use context_file::{ContextEntry, ContextFile};
pub use decision::{
    AmendedChange, CORE_GUARDS, ChangeDecision, DecisionRecord, HOST_MODULE, ModuleRun, PackRef, Refusal,
    RejectionRecord, codes,
};
pub use engine::{ComponentShape, LoadedModule, PolicyEngine};
pub use host_checks::{ENTRY_TYPES, HardLimits, HostRules, ModuleCeilings};
pub use index::{EntryRef, IndexEntry, TenantIndex};
pub use limits::{CallLimits, SandboxLimits};
pub use manifest::{ManifestLimits, ManifestModule, PackManifest};
use memwarden_model as model;
pub use memwarden_model::{Context, MemoryChange, Op, PieceEdit, PieceEditRecord, Proposal, ProposalError, RunOutcome};
pub use pack::{Mode, ModuleLimits, ModuleSpec, PackFile, RulePack};
pub use pack_map::PackMap;
pub use pack_read::{PackSignature, sign_pack};
pub use signing::{
    KeyError, PUBLIC_KEY_FORMAT, PublicKey, SECRET_KEY_FORMAT, SIGNATURE_FORMAT, SecretKey, SignedPack, Trust,
    format_rfc3339, parse_rfc3339, signature_path,
};

/// Why a module could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The wasm engine could not be set up.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    /// The bytes are not a valid component for this engine.
    #[error("not a loadable component: {0}")]
    Compile(String),
    /// The component imports something the policy world does not provide.
    #[error(
        "imports `{name}`, which the policy world does not provide (a policy may import only memwarden:policy/tenant-index@0.1)"
    )]
    ForbiddenImport {
        /// The refused import.
        name: String,
    },
    /// The component does not export the policy interface.
    #[error("does not export memwarden:policy/policy@0.1 or @0.2 (it exports {found})")]
    MissingExport {
        /// What it does export.
        found: String,
    },
    /// The component fits the world by name but not by type.
    #[error("does not match the policy world: {0}")]
    Link(String),
    /// Calling `info` or `validate-config` failed.
    #[error("failed when called: {0}")]
    Call(String),
    /// The module refused its config.
    #[error("invalid config: {0}")]
    Config(String),
    /// The compiled-module cache directory is unusable.
    #[error("module cache `{path}`: {message}")]
    Cache {
        /// The cache directory.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl LoadError {
    pub(crate) fn engine(err: wasmtime::Error) -> LoadError {
        LoadError::Engine(format!("{err:#}"))
    }
    pub(crate) fn compile(err: wasmtime::Error) -> LoadError {
        LoadError::Compile(format!("{err:#}"))
    }
    pub(crate) fn link(err: wasmtime::Error) -> LoadError {
        LoadError::Link(format!("{err:#}"))
    }
    pub(crate) fn call(err: wasmtime::Error) -> LoadError {
        LoadError::Call(sandbox::describe_failure(&err))
    }

    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Engine(_) | LoadError::Cache { .. } => "engine_error",
            LoadError::Compile(_) => "module_invalid",
            LoadError::ForbiddenImport { .. } => "module_forbidden_import",
            LoadError::MissingExport { .. } | LoadError::Link(_) => "module_wrong_world",
            LoadError::Call(_) => "module_failed",
            LoadError::Config(_) => "module_config_invalid",
        }
    }
}

/// Why a rule pack could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The pack file could not be read.
    #[error("cannot read rule pack `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The pack file is not a valid pack.
    #[error("rule pack `{origin}` is not valid: {message}")]
    Parse {
        /// The pack.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// `extends` loops back to a pack being resolved.
    #[error("rule pack `{origin}` extends itself")]
    Cycle {
        /// The pack reached twice.
        origin: String,
    },
    /// The pack sets `mode: audit` for the whole pack, which the operator
    /// has not allowed.
    #[error(
        "rule pack `{origin}` sets `mode: audit` for the whole pack, which this host does not allow (set `policy.pack_audit: true` in the host config, or put `mode: audit` on the module being tried)"
    )]
    AuditNotAllowed {
        /// The pack.
        origin: String,
    },
    /// No built-in pack has this name.
    #[error("unknown built-in rule pack `{name}` (built-in packs: default; a path needs a `/` or an extension)")]
    UnknownPack {
        /// The name.
        name: String,
    },
    /// No built-in module has this name.
    #[error(
        "rule pack `{origin}`: unknown built-in module `{name}` (built-in modules: schema, size-limits, cooldown, merge-rules, content-guard, piece-guard)"
    )]
    UnknownModule {
        /// The pack.
        origin: String,
        /// The name.
        name: String,
    },
    /// A module file could not be read.
    #[error("rule pack `{origin}`: cannot read module `{path}`: {source}")]
    ReadModule {
        /// The pack.
        origin: String,
        /// The module file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A module's bytes do not match the pack's pin.
    #[error("rule pack `{origin}`: module `{module}` has sha256 {actual}, but the pack pins {expected}")]
    PinMismatch {
        /// The pack.
        origin: String,
        /// The module reference.
        module: String,
        /// The pinned hash.
        expected: String,
        /// The actual hash.
        actual: String,
    },
    /// A module failed to load or refused its config.
    #[error("rule pack `{origin}`: module `{module}` {source}")]
    Module {
        /// The pack.
        origin: String,
        /// The module reference.
        module: String,
        /// Why.
        source: LoadError,
    },
    /// A tenant that trusts keys would run a pack without a signature.
    #[error("rule pack `{origin}` is not signed, and {tenant} runs only signed packs (`memwarden pack sign`)")]
    Unsigned {
        /// The pack.
        origin: String,
        /// Whose keys ask for a signature.
        tenant: String,
    },
    /// The signature does not match the pack as read, or does not parse.
    #[error("rule pack `{origin}`: its signature is not valid: {reason}")]
    SignatureInvalid {
        /// The pack.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The pack is signed by a key the tenant does not trust.
    #[error("rule pack `{origin}` is signed by key {key}, which {tenant} does not trust")]
    KeyUntrusted {
        /// The pack.
        origin: String,
        /// The signing key's id.
        key: String,
        /// Whose trusted keys it is not among.
        tenant: String,
    },
    /// The signature's expiry has passed.
    #[error("rule pack `{origin}`: its signature expired at {expired}")]
    SignatureExpired {
        /// The pack.
        origin: String,
        /// When, RFC 3339.
        expired: String,
    },
    /// The signed revision is lower than one the tenant already ran.
    #[error(
        "rule pack `{origin}` is signed revision {revision}, older than revision {highest} that {tenant} already ran"
    )]
    RevisionRollback {
        /// The pack.
        origin: String,
        /// Its signed revision.
        revision: u64,
        /// The highest revision accepted before.
        highest: u64,
        /// Whose.
        tenant: String,
    },
    /// A key file (trusted or signing) cannot be read or is not a key.
    #[error("key `{key}`: {message}")]
    Key {
        /// The key's file, or the inline key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl PackError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            PackError::Read { .. } | PackError::ReadModule { .. } => "pack_unreadable",
            PackError::Parse { .. } | PackError::Cycle { .. } | PackError::AuditNotAllowed { .. } => "pack_invalid",
            PackError::UnknownPack { .. } | PackError::UnknownModule { .. } => "pack_unknown_reference",
            PackError::PinMismatch { .. } => "module_pin_mismatch",
            PackError::Module { source, .. } => source.code(),
            PackError::Unsigned { .. } => "pack_unsigned",
            PackError::SignatureInvalid { .. } => "pack_signature_invalid",
            PackError::KeyUntrusted { .. } => "pack_key_untrusted",
            PackError::SignatureExpired { .. } => "pack_signature_expired",
            PackError::RevisionRollback { .. } => "pack_revision_rollback",
            PackError::Key { .. } => "pack_key_invalid",
        }
    }
}
