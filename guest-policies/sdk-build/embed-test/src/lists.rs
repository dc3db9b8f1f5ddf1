//! The lists, read by `build.rs` as a module and by the crate as one.

/// Token prefixes, found anywhere.
pub(crate) const PREFIXES: &[&str] = &["ghp_", "xoxb-", "sk_live_", "sk_"];

/// Speaker labels, tried at one offset, ignoring ASCII case.
pub(crate) const LABELS: &[&str] = &["system:", "assistant:", "[inst]"];
