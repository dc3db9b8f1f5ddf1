//! The policy archive: every rule pack revision a host put in force and
//! every module it ran, kept by content, so that a recorded decision can be
//! run again with exactly what made it (`memwarden policy verify`, issue
//! 13) after the pack files have changed.
//!
//! `policy-archive/modules/<sha256>.wasm` holds a module's bytes,
//! `policy-archive/packs/<revision>.json` a pack's manifest (its modules by
//! hash, with their configs and modes). Both are written once, never
//! changed: a name is its content. The archive does not check what it
//! reads against its name; the verifier does, and reports a file that was
//! swapped.

use std::io::{self, Read as _};

use cap_std::fs::Dir;

use super::{StoreError, files};

/// The largest module the archive reads back.
pub const ARCHIVED_MODULE_MAX_BYTES: u64 = 64 << 20;
/// The largest pack manifest the archive reads back.
pub const ARCHIVED_PACK_MAX_BYTES: u64 = 4 << 20;

/// The policy archive of one data directory.
pub struct PolicyArchive {
    modules: Dir,
    packs: Dir,
}

impl PolicyArchive {
    pub(super) fn open(root: &Dir) -> Result<PolicyArchive, StoreError> {
        let archive = files::open_subdir(root, "policy-archive").map_err(StoreError::io("policy-archive"))?;
        let open =
            |sub: &str| files::open_subdir(&archive, sub).map_err(StoreError::io(format!("policy-archive/{sub}")));
        Ok(PolicyArchive { modules: open("modules")?, packs: open("packs")? })
    }

    /// Keeps module `sha256` (lowercase hex) unless it is kept already;
    /// returns whether it wrote it.
    pub fn keep_module(&self, sha256: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let name = module_file(sha256)?;
        keep(&self.modules, "modules", &name, bytes)
    }

    /// Module `sha256`'s bytes as kept, if any.
    pub fn module(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = module_file(sha256)?;
        let path = format!("policy-archive/modules/{name}");
        read_bounded(&self.modules, &name, ARCHIVED_MODULE_MAX_BYTES).map_err(StoreError::io(path))
    }

    /// Keeps the manifest of pack `revision` unless it is kept already;
    /// returns whether it wrote it.
    pub fn keep_pack(&self, revision: &str, manifest: &str) -> Result<bool, StoreError> {
        let name = pack_file(revision)?;
        keep(&self.packs, "packs", &name, manifest.as_bytes())
    }

    /// The manifest of pack `revision` as kept, if any.
    pub fn pack(&self, revision: &str) -> Result<Option<String>, StoreError> {
        let name = pack_file(revision)?;
        let path = format!("policy-archive/packs/{name}");
        let bytes = read_bounded(&self.packs, &name, ARCHIVED_PACK_MAX_BYTES).map_err(StoreError::io(path.clone()))?;
        bytes
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| StoreError::io(path)(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8")))
    }
}

fn module_file(sha256: &str) -> Result<String, StoreError> {
    hex_name("module hash", sha256, 64)?;
    Ok(format!("{sha256}.wasm"))
}

fn pack_file(revision: &str) -> Result<String, StoreError> {
    hex_name("pack revision", revision, 64)?;
    Ok(format!("{revision}.json"))
}

/// Archive names are lowercase hex digests: nothing else can reach a path.
fn hex_name(what: &'static str, name: &str, max_len: usize) -> Result<(), StoreError> {
    let hex = !name.is_empty() && name.len() <= max_len && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match hex {
        true => Ok(()),
        false => Err(StoreError::UnsafeName {
            what,
            name: name.escape_debug().to_string(),
            problem: "is not a lowercase hex digest",
        }),
    }
}

fn keep(dir: &Dir, dir_key: &str, name: &str, bytes: &[u8]) -> Result<bool, StoreError> {
    let path = format!("policy-archive/{dir_key}/{name}");
    match dir.symlink_metadata(name) {
        Ok(_) => return Ok(false),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(StoreError::io(path)(err)),
    }
    let mut durable = files::Durable::default();
    durable.write(dir, dir_key, name, bytes).map_err(StoreError::io(path.clone()))?;
    durable.sync().map_err(StoreError::io(path))?;
    Ok(true)
}

fn read_bounded(dir: &Dir, name: &str, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match files::open_read(dir, name) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut bytes = Vec::new();
    io::Read::take(&file, limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(io::ErrorKind::FileTooLarge, format!("over the {limit}-byte limit")));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use crate::DataDir;

    #[test]
    fn keeps_each_name_once_and_refuses_names_that_are_not_digests() {
        let temp = tempfile::tempdir().expect("temp");
        let archive = DataDir::open(temp.path()).expect("data").policy_archive().expect("archive");
        let sha = "ab".repeat(32);
        assert!(archive.keep_module(&sha, b"one").expect("keep"));
        assert!(!archive.keep_module(&sha, b"two").expect("keep"));
        assert_eq!(archive.module(&sha).expect("read"), Some(b"one".to_vec()));
        assert_eq!(archive.module(&"cd".repeat(32)).expect("read"), None);
        assert!(archive.keep_pack("0a1b2c", "{}").expect("keep"));
        assert_eq!(archive.pack("0a1b2c").expect("read").as_deref(), Some("{}"));
        for bad in ["../x", "", "ABCD", "a/b", &"a".repeat(65)] {
            assert!(archive.module(bad).is_err(), "{bad}");
            assert!(archive.pack(bad).is_err(), "{bad}");
        }
    }
}
