//! The tenants' rule packs, swappable while the host runs (issue 13, hot
//! reload). A reload loads and validates the whole new map first; only a
//! map that loaded entirely replaces the running one, so a bad pack file, a
//! pin mismatch or a bad config leaves the running packs in place. A job
//! takes the map once, when it decides, and keeps that one even if a reload
//! lands meanwhile; its decision record names the revision it used.
//!
//! Signed packs: a map is put in force only if no tenant's signed pack is
//! of a lower revision than the one it ran before ([`Revisions`]), at
//! start and on every reload; signature checks themselves happen as the
//! map loads.

use std::sync::{Arc, Mutex, RwLock};

use crate::policy::{PackError, PackMap};
use crate::trust::Revisions;

/// Loads the whole pack map afresh (from the files the config names).
pub type Loader = Box<dyn Fn() -> anyhow::Result<PackMap> + Send + Sync>;

/// Counter of reloads. Tags: `outcome` (`reloaded`, `failed`).
pub const RELOADS: &str = "memwarden_pack_reloads_total";

/// The running pack map, and how to load a new one.
pub struct Packs {
    current: RwLock<Arc<PackMap>>,
    loader: Option<Loader>,
    /// The highest signed revisions accepted; held while a new map is
    /// checked and put in force, so two reloads cannot interleave.
    revisions: Mutex<Revisions>,
}

impl Packs {
    /// `map`, with nothing to reload it from.
    pub fn fixed(map: PackMap) -> Packs {
        Packs { current: RwLock::new(Arc::new(map)), loader: None, revisions: Mutex::default() }
    }

    /// `map`, reloadable by `loader`; its signed packs must be no older
    /// than those `revisions` recorded (`pack_revision_rollback`).
    pub fn reloadable(map: PackMap, loader: Loader, mut revisions: Revisions) -> anyhow::Result<Packs> {
        revisions.accept(map.signed())?;
        Ok(Packs { current: RwLock::new(Arc::new(map)), loader: Some(loader), revisions: Mutex::new(revisions) })
    }

    /// The map in force now; a job keeps the one it took.
    pub fn current(&self) -> Arc<PackMap> {
        // A poisoned lock only means a panic while swapping an Arc; the
        // Arc inside is whole either way.
        self.current.read().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    /// Replaces the map in force.
    pub fn replace(&self, map: PackMap) {
        *self.current.write().unwrap_or_else(|poison| poison.into_inner()) = Arc::new(map);
    }

    /// Loads every pack afresh and, only if all of it loads, puts it in
    /// force; returns the default pack's revision now in force. On failure
    /// the running packs stay, and the error says why.
    pub fn reload(&self) -> anyhow::Result<String> {
        let reloaded = self.reload_when(|_| true);
        if let Err(err) = &reloaded {
            metrics::counter!(RELOADS, "outcome" => "failed").increment(1);
            tracing::error!(error = %format!("{err:#}"), "rule pack reload failed; the running packs stay");
        }
        reloaded.map(|revision| revision.unwrap_or_default())
    }

    /// Loads every pack afresh and puts it in force if any pack's revision
    /// differs from the running one's: what `watch` does. `None` when
    /// nothing changed. A failure is the caller's to report.
    pub fn reload_if_changed(&self) -> anyhow::Result<Option<String>> {
        // A pack signed anew (same content, higher revision) counts too.
        self.reload_when(|map| {
            let current = self.current();
            map.revisions() != current.revisions() || map.signed() != current.signed()
        })
    }

    fn reload_when(&self, changed: impl Fn(&PackMap) -> bool) -> anyhow::Result<Option<String>> {
        let Some(loader) = &self.loader else {
            anyhow::bail!("these packs were not loaded from files; there is nothing to reload");
        };
        let map = loader()?;
        if !changed(&map) {
            return Ok(None);
        }
        let revision = map.default_pack().revision().to_string();
        // Like the current map, a poisoned lock still holds whole data.
        let mut revisions = self.revisions.lock().unwrap_or_else(|poison| poison.into_inner());
        revisions.accept(map.signed())?;
        self.replace(map);
        drop(revisions);
        metrics::counter!(RELOADS, "outcome" => "reloaded").increment(1);
        tracing::info!(revision = %revision, "rule packs reloaded");
        Ok(Some(revision))
    }
}

/// The stable code of the pack error in `err`'s chain, if any.
pub fn pack_error_code(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|cause| cause.downcast_ref::<PackError>()).map(PackError::code)
}

impl From<PackMap> for Packs {
    fn from(map: PackMap) -> Packs {
        Packs::fixed(map)
    }
}

/// Reloads `packs` whenever a pack they load from changes, checking every
/// `period`: each check loads the packs afresh (modules are compiled once
/// per content hash, so an unchanged pack costs a parse and its configs)
/// and puts them in force if any revision differs. A pack that does not
/// load is reported once, until it changes again.
pub fn watch(packs: Arc<Packs>, period: std::time::Duration) {
    tokio::spawn(async move {
        let mut last_error = String::new();
        loop {
            tokio::time::sleep(period).await;
            let checked = packs.clone();
            let Ok(result) = tokio::task::spawn_blocking(move || checked.reload_if_changed()).await else { continue };
            match result {
                Ok(_) => last_error.clear(),
                Err(err) => {
                    let error = format!("{err:#}");
                    if error != last_error {
                        metrics::counter!(RELOADS, "outcome" => "failed").increment(1);
                        tracing::error!(error = %error, "a watched rule pack does not load; the running packs stay");
                        last_error = error;
                    }
                }
            }
        }
    });
}

/// Reloads `packs` on every SIGHUP, for as long as the process runs. A
/// failed reload keeps the running packs (and is logged and counted).
pub fn reload_on_sighup(packs: Arc<Packs>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; packs reload only through the API");
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let packs = packs.clone();
            // Loading compiles modules: off the async threads.
            let _ = tokio::task::spawn_blocking(move || packs.reload()).await;
        }
    });
}
