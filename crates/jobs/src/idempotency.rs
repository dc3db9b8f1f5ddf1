//! Idempotency keys of enqueues: what makes a retried request enqueue
//! nothing new, and what keeps a reused key from silently answering a
//! different request with an old job (issue 9, item 13).
//!
//! A key is checked where it enters (non-empty, at most
//! [`limits::IDEMPOTENCY_KEY_MAX_BYTES`]), scoped to its tenant — two
//! tenants' `run-1` never meet — and carries the SHA-256 of the request it
//! came with, so the store can tell a retry from a conflict. It does not
//! decide what a request is: its caller passes the payload.

use sha2::{Digest, Sha256};

use super::ReflectionPayload;

/// Bounds of a key.
pub mod limits {
    /// Longest key accepted, in bytes (UTF-8), before it is scoped.
    pub const IDEMPOTENCY_KEY_MAX_BYTES: usize = 256;
}

/// Stable code of a key that is refused.
pub const INVALID_IDEMPOTENCY_KEY: &str = "invalid_idempotency_key";

/// A checked idempotency key of one tenant, with the fingerprint of the
/// request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    tenant: String,
    key: String,
    request_sha256: String,
}

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyKeyError {
    /// An empty key would make every keyless retry the same request.
    #[error("the idempotency key is empty: leave it out, or send a non-empty key")]
    Empty,
    /// Longer than [`limits::IDEMPOTENCY_KEY_MAX_BYTES`].
    #[error("the idempotency key is {bytes} bytes long; at most {max} are accepted", max = limits::IDEMPOTENCY_KEY_MAX_BYTES)]
    TooLong {
        /// Its length.
        bytes: usize,
    },
}

impl IdempotencyKeyError {
    /// Stable code of this error: [`INVALID_IDEMPOTENCY_KEY`].
    pub fn code(&self) -> &'static str {
        INVALID_IDEMPOTENCY_KEY
    }
}

impl IdempotencyKey {
    /// Checks a key as given, without scoping it: for argument parsers.
    pub fn check(key: &str) -> Result<(), IdempotencyKeyError> {
        if key.is_empty() {
            return Err(IdempotencyKeyError::Empty);
        }
        if key.len() > limits::IDEMPOTENCY_KEY_MAX_BYTES {
            return Err(IdempotencyKeyError::TooLong { bytes: key.len() });
        }
        Ok(())
    }

    /// `tenant`'s `key`, for a request with `payload` (as sent, before any
    /// trimming, so that a retry matches however the host trims).
    pub fn new(tenant: &str, key: &str, payload: &ReflectionPayload) -> Result<IdempotencyKey, IdempotencyKeyError> {
        IdempotencyKey::check(key)?;
        // INVARIANT: a payload is strings and an enum; serialising it cannot
        // fail, and its field order is fixed, so equal requests hash equal.
        let canonical = serde_json::to_vec(payload).unwrap_or_default();
        Ok(IdempotencyKey {
            tenant: tenant.to_string(),
            key: key.to_string(),
            request_sha256: hex::encode(Sha256::digest(&canonical)),
        })
    }

    /// The key as given.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key as stored: `<tenant>/<key>`. Tenant names hold no `/`, so
    /// the first one ends the scope.
    pub fn scoped(&self) -> String {
        format!("{}/{}", self.tenant, self.key)
    }

    /// SHA-256 (hex) of the request the key came with.
    pub fn request_sha256(&self) -> &str {
        &self.request_sha256
    }
}
