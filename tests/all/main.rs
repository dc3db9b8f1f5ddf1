#![allow(clippy::expect_used, clippy::unwrap_used)]
//! memwarden's end-to-end suite: one test binary, a module per topic. Tests
//! drive the real `memwarden` binary or the library against real files and
//! real compiled components.

mod console;
mod consolidation;
mod decision_output;
mod embedding;
mod fuzz;
mod hardening;
mod job_store;
mod llm_server;
mod mcp;
mod multi_host;
mod policy_cache;
mod policy_cases;
mod policy_cli;
mod policy_configure;
mod policy_containment;
mod policy_hardening;
mod policy_languages;
mod policy_score;
mod provenance;
mod reflection;
mod reload;
mod replay;
mod reviews;
mod serve;
mod serve_hardening;
mod signing;
mod store_hardening;
mod tenant_store;
mod util;
mod verdicts;
mod worker;
