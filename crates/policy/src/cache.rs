//! The on-disk cache of compiled modules, keyed by the component's SHA-256
//! and the engine's compatibility hash.
//!
//! Deserialising compiled code runs it without validation, so the cache only
//! ever loads what this host wrote: every artifact carries an HMAC under a
//! key that lives (mode 0600) in the cache directory. An artifact without a
//! valid tag — copied in from elsewhere, truncated, tampered with — is
//! ignored and recompiled. All file access goes through a `cap_std::fs::Dir`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

const KEY_FILE: &str = "cache.key";
const MAGIC: &[u8; 8] = b"mwcwasm1";
const TAG_BYTES: usize = 32;

pub(crate) struct ModuleCache {
    dir: Dir,
    key: [u8; 32],
    engine_hash: u64,
}

impl ModuleCache {
    pub(crate) fn open(path: &Path, engine: &Engine) -> Result<ModuleCache, LoadError> {
        let cache_error =
            |err: std::io::Error| LoadError::Cache { path: path.display().to_string(), message: err.to_string() };
        Dir::create_ambient_dir_all(path, ambient_authority()).map_err(cache_error)?;
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(cache_error)?;
        let key = load_or_create_key(&dir).map_err(cache_error)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(ModuleCache { dir, key, engine_hash: hasher.finish() })
    }

    /// The cached compilation of the component with this hash, if this host
    /// wrote one and it still loads.
    pub(crate) fn get(&self, engine: &Engine, sha256: &[u8; 32]) -> Option<Component> {
        let bytes = self.dir.read(self.file_name(sha256)).ok()?;
        let payload = self.verified_payload(sha256, &bytes)?;
        // SAFETY: `payload` carries a valid HMAC under this cache's secret
        // key, so it is exactly what `Component::serialize` produced in
        // `put`; wasmtime still checks engine compatibility itself.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(?err, module_sha256 = hex::encode(sha256), "cached module does not load; recompiling");
                None
            }
        }
    }

    /// Stores a compilation; failures only cost a recompile later.
    pub(crate) fn put(&self, sha256: &[u8; 32], component: &Component) {
        let result = component.serialize().map_err(|err| std::io::Error::other(err.to_string())).and_then(|payload| {
            let mut bytes = Vec::with_capacity(MAGIC.len() + TAG_BYTES + payload.len());
            bytes.extend_from_slice(MAGIC);
            bytes.extend_from_slice(&self.tag(sha256, &payload));
            bytes.extend_from_slice(&payload);
            let name = self.file_name(sha256);
            let temp = format!("{name}.tmp-{}", std::process::id());
            self.dir.write(&temp, &bytes)?;
            self.dir.rename(&temp, &self.dir, &name)
        });
        if let Err(err) = result {
            tracing::warn!(?err, module_sha256 = hex::encode(sha256), "could not cache a compiled module");
        }
    }

    fn file_name(&self, sha256: &[u8; 32]) -> String {
        format!("{}-{:016x}.cwasm", hex::encode(sha256), self.engine_hash)
    }

    fn verified_payload<'a>(&self, sha256: &[u8; 32], bytes: &'a [u8]) -> Option<&'a [u8]> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (tag, payload) = rest.split_at_checked(TAG_BYTES)?;
        self.mac(sha256, payload).verify_slice(tag).ok()?;
        Some(payload)
    }

    fn tag(&self, sha256: &[u8; 32], payload: &[u8]) -> [u8; TAG_BYTES] {
        self.mac(sha256, payload).finalize().into_bytes().into()
    }

    /// The MAC binds the payload to the component it compiles and to this
    /// engine, so a valid artifact cannot be swapped in under another name.
    fn mac(&self, sha256: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
        // INVARIANT: HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(sha256);
        mac.update(&self.engine_hash.to_be_bytes());
        mac.update(payload);
        mac
    }
}

fn load_or_create_key(dir: &Dir) -> std::io::Result<[u8; 32]> {
    if let Ok(bytes) = dir.read(KEY_FILE)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|err| std::io::Error::other(err.to_string()))?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    let mut file = dir.open_with(KEY_FILE, &options)?;
    file.write_all(&key)?;
    file.sync_all()?;
    Ok(key)
}
