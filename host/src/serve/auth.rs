//! Who is calling: `Authorization: Bearer <key>`, the scheme in any case
//! (RFC 9110 §11.1). The admin key (from the environment) may do
//! everything; a tenant key only what concerns its own tenant. Keys are
//! looked up by their SHA-256 — the store never holds a key itself — and a
//! missing or unknown key is `401`. A key is compared without surrounding
//! whitespace, wherever it comes from ([`given_key`]).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::ApiError;
use crate::jobs::{ApiKey, JobStore, KeyRole};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator.
    Admin,
    /// A tenant's service: the agent platform's key.
    Tenant(String),
    /// A person reviewing a tenant's held changes, named as the record
    /// will name them (the key's label, else the start of its hash).
    Reviewer {
        /// The tenant.
        tenant: String,
        /// Who.
        name: String,
    },
}

impl Caller {
    /// The tenant of a tenant's key; `None` for the admin.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Caller::Admin => None,
            Caller::Tenant(tenant) | Caller::Reviewer { tenant, .. } => Some(tenant),
        }
    }

    /// Refuses a tenant key acting on another tenant (`403`).
    pub fn may_act_for(&self, tenant: &str) -> Result<(), ApiError> {
        match self.tenant() {
            Some(own) if own != tenant => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("this key may not act for `{tenant}`")))
            }
            _ => Ok(()),
        }
    }

    /// Who approves or denies a held change of `tenant`: the admin or a
    /// reviewer key of the tenant; an agent's key never (`403
    /// reviewer_required`), so agents do not approve their own writes.
    pub fn reviewer_for(&self, tenant: &str) -> Result<String, ApiError> {
        self.may_act_for(tenant)?;
        match self {
            Caller::Admin => Ok("admin".to_string()),
            Caller::Reviewer { name, .. } => Ok(name.clone()),
            Caller::Tenant(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "reviewer_required",
                "only the admin key or a reviewer key (`memwarden tenant add-key T --role reviewer`) may decide reviews",
            )),
        }
    }

    /// Whether the caller may see things of `tenant`; things it may not see
    /// are reported missing, so ids of other tenants reveal nothing.
    pub fn sees(&self, tenant: &str) -> bool {
        self.tenant().is_none_or(|own| own == tenant)
    }
}

/// The SHA-256 of a key, hex-encoded, as the store keeps it.
pub fn key_sha256(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A key as configured or sent, without surrounding whitespace (a key
/// file's trailing newline, a padded header); `None` when nothing is left.
pub fn given_key(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|key| !key.is_empty())
}

/// The key in the environment variable `var` (the admin key, say),
/// trimmed (issue 9); `None` when it is unset, not UTF-8 or blank.
pub fn key_from_env(var: &str) -> Option<String> {
    std::env::var(var).ok().as_deref().and_then(given_key).map(str::to_string)
}

/// The key of an `Authorization` value `<scheme> <key>` whose scheme is
/// `Bearer` in any case.
fn bearer_key(value: &str) -> Option<&str> {
    let (scheme, key) = value.trim_start().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then_some(key).and_then(given_key)
}

/// A new random API key: `mwk_` and 32 random bytes in hex.
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    // INVARIANT: without an entropy source no key can be made safely.
    getrandom::fill(&mut bytes).unwrap_or_else(|err| panic!("no entropy for an API key: {err}"));
    format!("mwk_{}", hex::encode(bytes))
}

impl<S: JobStore> FromRequestParts<std::sync::Arc<super::Api<S>>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &std::sync::Arc<super::Api<S>>) -> Result<Caller, ApiError> {
        let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("an API key is required: `Authorization: Bearer <key>`"))?;
        let key = header
            .to_str()
            .ok()
            .and_then(bearer_key)
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <key>`"))?;
        caller_for_hash(api, &key_sha256(key)).await?.ok_or_else(|| unauthorized("unknown API key"))
    }
}

/// The caller a key with this SHA-256 stands for, or `None` for an unknown
/// key. The API and the console's sessions (which keep only the hash) both
/// decide roles here, so a console session has exactly its key's rights.
pub async fn caller_for_hash<S: JobStore>(api: &super::Api<S>, hash: &str) -> Result<Option<Caller>, ApiError> {
    if api.admin_key_sha256.as_deref() == Some(hash) {
        return Ok(Some(Caller::Admin));
    }
    Ok(match api.reflector.jobs.api_key(hash).await? {
        Some(ApiKey { tenant, role: KeyRole::Agent, .. }) => Some(Caller::Tenant(tenant)),
        Some(ApiKey { tenant, role: KeyRole::Reviewer, label }) => {
            let name = label.unwrap_or_else(|| format!("key {}", &hash[..hash.len().min(12)]));
            Some(Caller::Reviewer { tenant, name })
        }
        None => None,
    })
}
