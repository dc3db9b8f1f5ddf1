//! Signed rule packs (issue 13, item 4): ed25519 keys, the detached
//! signature next to a pack (`<pack>.sig`), the manifest it signs, and the
//! check a load makes for a tenant that trusts keys.
//!
//! The manifest covers the exact bytes a load reads — the pack's YAML, the
//! YAML of every pack it extends, every module's component (built-ins by
//! their embedded bytes) — plus a revision number and an optional expiry.
//! The loader hashes the bytes it goes on to compile, and checks before it
//! compiles anything, so what was checked is what runs and an unsigned
//! module's code never runs for such a tenant.
//!
//! What it does not do: it keeps no state. Refusing a rollback to a lower
//! revision needs the highest one a tenant ran, across reloads and
//! restarts; the host keeps that, from the [`SignedPack`]s a load returns.
//! And no cryptography is written here: ed25519-dalek signs and verifies.

mod keys;
mod manifest;
mod time;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use keys::{KeyError, PUBLIC_KEY_FORMAT, PublicKey, SECRET_KEY_FORMAT, SecretKey};
pub use manifest::SIGNATURE_FORMAT;
pub(crate) use manifest::{PackContent, SignatureFile};
pub use time::{format_rfc3339, parse_rfc3339};

use crate::PackError;

/// The file a pack's signature is in: the pack's path with `.sig` appended.
pub fn signature_path(pack: &Path) -> PathBuf {
    let mut path = pack.as_os_str().to_owned();
    path.push(".sig");
    PathBuf::from(path)
}

/// Which keys may sign the packs of which tenants, and the time expiries
/// are checked against. A tenant trusts the global keys and its own; a
/// tenant that trusts no key runs unsigned packs, as before signing.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    global: Vec<PublicKey>,
    tenants: BTreeMap<String, Vec<PublicKey>>,
    now: u64,
}

impl Trust {
    /// Keys trusted for every tenant, keys trusted for one tenant each, and
    /// the time now, in seconds since the Unix epoch.
    pub fn new(global: Vec<PublicKey>, tenants: BTreeMap<String, Vec<PublicKey>>, now_unix_seconds: u64) -> Trust {
        Trust { global, tenants, now: now_unix_seconds }
    }

    /// True when no tenant needs a signed pack.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.tenants.values().all(Vec::is_empty)
    }

    /// The keys one of which must have signed the pack of `tenant` (`None`:
    /// every tenant not named otherwise); none means no signature is needed.
    pub(crate) fn keys_for(&self, tenant: Option<&str>) -> Vec<&PublicKey> {
        let own = tenant.and_then(|tenant| self.tenants.get(tenant)).into_iter().flatten();
        self.global.iter().chain(own).collect()
    }

    /// The time expiries are checked against, in seconds since the epoch.
    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// The tenants that trust keys of their own.
    pub(crate) fn tenants_with_keys(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().filter(|(_, keys)| !keys.is_empty()).map(|(tenant, _)| tenant.as_str())
    }
}

/// A tenant's use of a pack whose signature checked out: the host keeps the
/// highest revision per tenant and pack to refuse a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPack {
    /// The tenant; `None` for every tenant the pack map does not name.
    pub tenant: Option<String>,
    /// The pack's name.
    pub pack: String,
    /// The pack file, for messages.
    pub origin: String,
    /// The signed revision.
    pub revision: u64,
}

impl SignedPack {
    /// The refusal of this use, `highest` having been accepted before.
    pub fn rollback_error(&self, highest: u64) -> PackError {
        PackError::RevisionRollback {
            origin: self.origin.clone(),
            revision: self.revision,
            highest,
            tenant: tenant_label(self.tenant.as_deref()),
        }
    }
}

/// Who a refusal is for, in a message.
pub(crate) fn tenant_label(tenant: Option<&str>) -> String {
    match tenant {
        Some(tenant) => format!("tenant `{tenant}`"),
        // The tenants a pack map does not name, under the global keys.
        None => "this host".to_string(),
    }
}

/// A pack's signature file as read with the pack.
#[derive(Debug)]
pub(crate) enum SignatureState {
    /// There is none (or the pack is built in).
    Absent,
    /// It exists but cannot be read or parsed.
    Broken(String),
    /// It parsed (boxed: a parsed key is a few hundred bytes).
    Read(Box<SignatureFile>),
}

impl SignatureState {
    /// Reads `<pack>.sig`, if any.
    pub(crate) fn read(pack: &Path) -> SignatureState {
        match std::fs::read_to_string(signature_path(pack)) {
            Ok(text) => SignatureFile::parse(&text)
                .map_or_else(SignatureState::Broken, |file| SignatureState::Read(Box::new(file))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => SignatureState::Absent,
            Err(err) => SignatureState::Broken(format!("cannot read it: {err}")),
        }
    }
}

/// Checks `content` against its signature for `tenant`, who trusts `keys`
/// (at least one); returns the signed revision.
pub(crate) fn verify(
    state: &SignatureState,
    content: &PackContent,
    keys: &[&PublicKey],
    now: u64,
    origin: &str,
    tenant: Option<&str>,
) -> Result<u64, PackError> {
    let invalid = |reason: String| PackError::SignatureInvalid { origin: origin.to_string(), reason };
    let file = match state {
        SignatureState::Absent => {
            return Err(PackError::Unsigned { origin: origin.to_string(), tenant: tenant_label(tenant) });
        }
        SignatureState::Broken(reason) => return Err(invalid(reason.clone())),
        SignatureState::Read(file) => file,
    };
    if !keys.contains(&&file.key) {
        return Err(PackError::KeyUntrusted {
            origin: origin.to_string(),
            key: file.key.id(),
            tenant: tenant_label(tenant),
        });
    }
    let manifest = content.manifest(file.revision, file.expires);
    if !file.key.verifies(manifest.as_bytes(), &file.signature) {
        return Err(invalid("the pack, a pack it extends or one of its modules changed since it was signed".into()));
    }
    if let Some(expires) = file.expires
        && expires <= now
    {
        return Err(PackError::SignatureExpired { origin: origin.to_string(), expired: format_rfc3339(expires) });
    }
    Ok(file.revision)
}

/// Signs `content` with `key`: the text of the signature file.
pub(crate) fn sign(content: &PackContent, key: &SecretKey, revision: u64, expires: Option<u64>) -> String {
    let signature = key.sign(content.manifest(revision, expires).as_bytes());
    SignatureFile { key: key.public_key(), revision, expires, signature }.to_file()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn signed(content: &PackContent, key: &SecretKey, expires: Option<u64>) -> SignatureState {
        SignatureState::Read(Box::new(SignatureFile::parse(&sign(content, key, 4, expires)).unwrap()))
    }

    #[test]
    fn a_signature_checks_out_only_for_its_content_key_and_time() {
        let content = PackContent { packs: vec![[1; 32]], modules: vec![([2; 32], "schema".into())] };
        let (key, other) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
        let public = key.public_key();
        let code = |result: Result<u64, PackError>| result.map_err(|err| err.code());
        let check = |state: &SignatureState, content: &PackContent| {
            code(verify(state, content, &[&public], 100, "p.yaml", Some("acme")))
        };
        assert_eq!(check(&signed(&content, &key, None), &content), Ok(4));
        assert_eq!(check(&signed(&content, &key, Some(101)), &content), Ok(4));
        assert_eq!(check(&signed(&content, &key, Some(100)), &content), Err("pack_signature_expired"));
        assert_eq!(check(&signed(&content, &other, None), &content), Err("pack_key_untrusted"));
        assert_eq!(check(&SignatureState::Absent, &content), Err("pack_unsigned"));
        assert_eq!(check(&SignatureState::Broken("x".into()), &content), Err("pack_signature_invalid"));
        let mut changed = content.clone();
        changed.modules[0].0[0] = 9;
        assert_eq!(check(&signed(&content, &key, None), &changed), Err("pack_signature_invalid"));
    }

    #[test]
    fn a_tenant_trusts_the_global_keys_and_its_own() {
        let (a, b) = (SecretKey::generate().unwrap().public_key(), SecretKey::generate().unwrap().public_key());
        let trust = Trust::new(vec![a.clone()], BTreeMap::from([("acme".to_string(), vec![b.clone()])]), 0);
        assert_eq!(trust.keys_for(None), vec![&a]);
        assert_eq!(trust.keys_for(Some("acme")), vec![&a, &b]);
        assert_eq!(trust.keys_for(Some("other")), vec![&a]);
        assert!(Trust::default().is_empty() && !trust.is_empty());
    }
}
