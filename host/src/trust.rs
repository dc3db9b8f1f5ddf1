//! Rollback protection for signed packs (issue 13, item 4): the highest
//! signed revision each tenant has run of each pack, kept in
//! `<data_dir>/trust/revisions.json`, so that neither a hot reload nor a
//! restart can put an older signed pack back in force.
//!
//! The tenant store is the only code that touches tenant files; this is
//! host-level data beside them, written the same way: through a
//! `cap_std::fs::Dir`, to a temporary file that is synced and renamed.
//!
//! What it does not do: check signatures. The policy runtime does, and
//! hands over the [`SignedPack`]s that checked out; this only compares
//! their revision numbers.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use crate::policy::SignedPack;

/// The directory under the data directory, and the file in it.
const TRUST_DIR: &str = "trust";
const REVISIONS_FILE: &str = "revisions.json";

/// Highest accepted revision per pack name: for every tenant a pack map
/// does not name (`default`) and per tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionFile {
    #[serde(default)]
    default: BTreeMap<String, u64>,
    #[serde(default)]
    tenants: BTreeMap<String, BTreeMap<String, u64>>,
}

impl RevisionFile {
    /// Keeps the higher revision of each pack of each tenant.
    fn merge(&mut self, other: RevisionFile) {
        let tenants = other.tenants.into_iter().map(|(tenant, packs)| (Some(tenant), packs));
        for (tenant, packs) in std::iter::once((None, other.default)).chain(tenants) {
            let highest = self.highest(tenant.as_deref());
            for (pack, revision) in packs {
                let entry = highest.entry(pack).or_default();
                *entry = (*entry).max(revision);
            }
        }
    }

    fn highest(&mut self, tenant: Option<&str>) -> &mut BTreeMap<String, u64> {
        match tenant {
            Some(tenant) => self.tenants.entry(tenant.to_string()).or_default(),
            None => &mut self.default,
        }
    }
}

/// The highest signed revisions accepted so far, and where they persist.
#[derive(Debug, Default)]
pub struct Revisions {
    /// `None`: kept in memory only (packs not loaded from a host config).
    dir: Option<PathBuf>,
    accepted: RevisionFile,
}

impl Revisions {
    /// Revisions kept for as long as the process runs.
    pub fn in_memory() -> Revisions {
        Revisions::default()
    }

    /// The revisions persisted under `data_dir`, if any were.
    pub fn open(data_dir: &Path) -> anyhow::Result<Revisions> {
        let dir = data_dir.join(TRUST_DIR);
        let accepted = read(&dir)?;
        Ok(Revisions { dir: Some(dir), accepted })
    }

    /// Refuses `signed` if any use is of a lower revision than that tenant
    /// ran of that pack before (`pack_revision_rollback`); otherwise
    /// records the new highest revisions, durably, before the caller puts
    /// the packs in force.
    pub fn accept(&mut self, signed: &[SignedPack]) -> anyhow::Result<()> {
        let mut next = self.accepted.clone();
        // Another process on this data dir (a worker beside `serve`) may
        // have gone further since: its revisions count too, and are kept.
        if let Some(dir) = &self.dir {
            next.merge(read(dir)?);
        }
        for pack in signed {
            let highest = next.highest(pack.tenant.as_deref()).entry(pack.pack.clone()).or_default();
            if pack.revision < *highest {
                return Err(pack.rollback_error(*highest).into());
            }
            *highest = pack.revision;
        }
        if next == self.accepted {
            return Ok(());
        }
        if let Some(dir) = &self.dir {
            persist(dir, &next)
                .with_context(|| format!("cannot record signed-pack revisions in `{}`", dir.display()))?;
        }
        self.accepted = next;
        Ok(())
    }
}

/// The revisions persisted in `dir`, none if there are none yet.
fn read(dir: &Path) -> anyhow::Result<RevisionFile> {
    let file = dir.join(REVISIONS_FILE);
    match Dir::open_ambient_dir(dir, ambient_authority()) {
        Ok(trust) => match trust.read_to_string(REVISIONS_FILE) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("the signed-pack revisions `{}` are not valid", file.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(RevisionFile::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read `{}`", file.display())),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(RevisionFile::default()),
        Err(err) => Err(err).with_context(|| format!("cannot open `{}`", dir.display())),
    }
}

/// Writes `revisions` whole: a temporary file, synced, renamed over the
/// old one, and the directory synced, so a crash leaves one or the other.
fn persist(path: &Path, revisions: &RevisionFile) -> std::io::Result<()> {
    Dir::create_ambient_dir_all(path, ambient_authority())?;
    let dir = Dir::open_ambient_dir(path, ambient_authority())?;
    let temp = format!("{REVISIONS_FILE}.tmp-{}", std::process::id());
    let mut file = dir.create(&temp)?;
    file.write_all(serde_json::to_string_pretty(revisions)?.as_bytes())?;
    file.sync_all()?;
    dir.rename(&temp, &dir, REVISIONS_FILE)?;
    // Some platforms cannot open a directory as a file; the rename's
    // durability is then the file system's business.
    if let Ok(handle) = dir.open(".") {
        handle.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn used(tenant: Option<&str>, pack: &str, revision: u64) -> SignedPack {
        SignedPack { tenant: tenant.map(str::to_string), pack: pack.into(), origin: "p.yaml".into(), revision }
    }

    fn code(err: &anyhow::Error) -> Option<&'static str> {
        crate::packs::pack_error_code(err)
    }

    #[test]
    fn a_lower_revision_is_refused_after_a_restart_too() {
        let data = tempfile::tempdir().unwrap();
        let mut revisions = Revisions::open(data.path()).unwrap();
        revisions.accept(&[used(Some("acme"), "p", 3), used(None, "p", 1)]).unwrap();
        // Another tenant, another pack: its own count.
        revisions.accept(&[used(Some("beta"), "p", 1), used(Some("acme"), "q", 1)]).unwrap();
        let err = revisions.accept(&[used(Some("acme"), "p", 2)]).unwrap_err();
        assert_eq!(code(&err), Some("pack_revision_rollback"));
        let mut reopened = Revisions::open(data.path()).unwrap();
        let err = reopened.accept(&[used(Some("acme"), "p", 2)]).unwrap_err();
        assert_eq!(code(&err), Some("pack_revision_rollback"), "{err:#}");
        reopened.accept(&[used(Some("acme"), "p", 3), used(None, "p", 2)]).unwrap();
        // A refused set records nothing of itself.
        assert!(reopened.accept(&[used(None, "p", 5), used(Some("acme"), "p", 1)]).is_err());
        reopened.accept(&[used(None, "p", 4)]).unwrap();
        // What another process accepted since counts as well.
        let err = revisions.accept(&[used(None, "p", 3)]).unwrap_err();
        assert_eq!(code(&err), Some("pack_revision_rollback"), "{err:#}");
    }
}
