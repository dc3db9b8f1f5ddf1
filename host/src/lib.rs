//! memwarden lets LLM agents improve their own memory and workflows without
//! being trusted to: every change an LLM proposes passes sandboxed,
//! per-tenant WebAssembly policy modules before anything is written.
//!
//! Layers, each ignorant of those above it:
//! - [`policy`]: the policy runtime, the `memwarden-policy` crate (WIT
//!   world, wasmtime, rule packs), re-exported here.
//! - [`store`]: the tenant store, the `memwarden-store` crate (cap-std
//!   directories, snapshots, lock, commit journal), re-exported here.
//! - [`jobs`]: the job store, the `memwarden-jobs` crate (leases, retries;
//!   SQLite or PostgreSQL), re-exported here.
//! - [`llm`]: the LLM client, the `memwarden-llm` crate, re-exported here.
//! - [`names`]: which names are safe as file names, shared by all layers
//!   (the dependency-free `memwarden-names` crate).
//!
//! On top of them, in this crate: the flows ([`reflection`],
//! [`consolidation`], [`rollback`], sharing [`flow`]), the [`worker`], the
//! HTTP API ([`serve`]), the MCP server ([`mcp`]) and the [`config`].
//!
//! The `memwarden` binary is the face; see `README.md`.

#![deny(missing_docs)]

pub mod config;
pub mod console;
pub mod consolidation;
pub mod flow;
pub mod forget;
pub mod mcp;
pub mod packs;
pub mod reflection;
pub mod replay;
pub mod review;
pub mod rollback;
pub mod serve;
pub mod trust;
pub mod worker;

pub use memwarden_jobs as jobs;
pub use memwarden_llm as llm;
pub use memwarden_policy as policy;
pub use memwarden_policy::for_each_standard_policy;
pub use memwarden_policy::{messages, names};
pub use memwarden_store as store;
