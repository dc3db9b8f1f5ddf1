//! memwarden lets LLM agents improve their own memory and workflows without
//! being trusted to: every change an LLM proposes passes sandboxed,
//! per-tenant WebAssembly policy modules before anything is written.
//!
//! Layers, each ignorant of those above it:
//! - [`policy`]: the policy runtime (WIT world, wasmtime, rule packs).
//! - [`store`]: the tenant store (cap-std directories, snapshots, lock).
//! - [`jobs`]: the job store (leases, retries; SQLite).
//! - [`names`]: which names are safe as file names, shared by all layers.
//!
//! The `memwarden` binary is the face; see `README.md`.

#![deny(missing_docs)]

pub mod config;
pub mod consolidation;
pub mod flow;
pub mod jobs;
pub mod llm;
pub mod messages;
pub mod names;
pub mod policy;
pub mod reflection;
pub mod rollback;
pub mod serve;
pub mod store;
pub mod worker;
