//! Which pack each tenant uses: a default plus per-tenant overrides, each
//! pack loaded once, and checked against the keys of every tenant that
//! runs it ([`Trust`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::PackError;
use super::builtin;
use super::engine::PolicyEngine;
use super::host_checks::HostRules;
use super::pack::RulePack;
use super::pack_read::absolute;
use super::signing::{SignedPack, Trust};

/// Which pack each tenant uses: a default plus per-tenant overrides.
pub struct PackMap {
    default: Arc<RulePack>,
    tenants: BTreeMap<String, Arc<RulePack>>,
    signed: Vec<SignedPack>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackMapFile {
    default: String,
    #[serde(default)]
    tenants: BTreeMap<String, String>,
}

impl PackMap {
    /// Loads a mapping file (`default: <pack>`, `tenants: {name: <pack>}`),
    /// resolving every pack it names now, relative to the file, under the
    /// default [`HostRules`].
    pub fn load(engine: &PolicyEngine, path: &Path) -> Result<PackMap, PackError> {
        PackMap::load_with(engine, path, HostRules::default())
    }

    /// Loads a mapping file with every pack under the operator's `rules`.
    pub fn load_with(engine: &PolicyEngine, path: &Path, rules: HostRules) -> Result<PackMap, PackError> {
        PackMap::load_trusted(engine, path, rules, &Trust::default())
    }

    /// Loads a mapping file; the pack of a tenant that trusts keys must be
    /// signed by one of them.
    pub fn load_trusted(
        engine: &PolicyEngine,
        path: &Path,
        rules: HostRules,
        trust: &Trust,
    ) -> Result<PackMap, PackError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PackError::Read { path: path.display().to_string(), source })?;
        let file: PackMapFile = serde_norway::from_str(&text).map_err(|err| PackError::Parse {
            origin: path.display().to_string(),
            message: crate::messages::parse_error(&err),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let reference = |reference: &str| match builtin::pack(reference) {
            Some(_) => reference.to_string(),
            None => absolute(dir, reference).display().to_string(),
        };
        let tenants = file.tenants.iter().map(|(tenant, pack)| (tenant.clone(), reference(pack))).collect();
        PackMap::assemble(engine, reference(&file.default), tenants, rules, trust)
    }

    /// One pack, a built-in name or a file, for every tenant (the host
    /// config's `pack:`); signed for the tenants that trust keys.
    pub fn single_trusted(
        engine: &PolicyEngine,
        reference: &str,
        rules: HostRules,
        trust: &Trust,
    ) -> Result<PackMap, PackError> {
        PackMap::assemble(engine, reference.to_string(), BTreeMap::new(), rules, trust)
    }

    /// Loads each pack once, checked for every tenant that runs it.
    fn assemble(
        engine: &PolicyEngine,
        default: String,
        tenants: BTreeMap<String, String>,
        rules: HostRules,
        trust: &Trust,
    ) -> Result<PackMap, PackError> {
        // Who runs which pack. `None` is every tenant the map does not
        // name; a tenant with keys of its own but no pack of its own runs
        // the default pack, which must then satisfy its keys too.
        let mut users: Vec<(&str, Vec<Option<&str>>)> = vec![(default.as_str(), vec![None])];
        let own = tenants.iter().map(|(tenant, pack)| (tenant.as_str(), pack.as_str()));
        let on_default = trust.tenants_with_keys().filter(|tenant| !tenants.contains_key(*tenant));
        for (tenant, pack) in own.chain(on_default.map(|tenant| (tenant, default.as_str()))) {
            match users.iter_mut().find(|(reference, _)| *reference == pack) {
                Some((_, list)) => list.push(Some(tenant)),
                None => users.push((pack, vec![Some(tenant)])),
            }
        }
        let mut loaded: BTreeMap<&str, Arc<RulePack>> = BTreeMap::new();
        let mut signed = Vec::new();
        for (reference, tenants) in &users {
            let (pack, uses) = RulePack::load_for(engine, reference, rules, trust, tenants)?;
            loaded.insert(reference, Arc::new(pack));
            signed.extend(uses);
        }
        let pack = |reference: &str| {
            loaded.get(reference).cloned().ok_or_else(|| PackError::UnknownPack { name: reference.to_string() })
        };
        let default_pack = pack(&default)?;
        let tenants = tenants
            .iter()
            .map(|(tenant, reference)| Ok((tenant.clone(), pack(reference)?)))
            .collect::<Result<_, _>>()?;
        Ok(PackMap { default: default_pack, tenants, signed })
    }

    /// A mapping that gives every tenant `pack`.
    pub fn uniform(pack: RulePack) -> PackMap {
        PackMap { default: Arc::new(pack), tenants: BTreeMap::new(), signed: Vec::new() }
    }

    /// Every pack of the mapping, the default's first (a pack two tenants
    /// share comes once per tenant).
    pub fn packs(&self) -> impl Iterator<Item = &Arc<RulePack>> {
        std::iter::once(&self.default).chain(self.tenants.values())
    }

    /// The revision of every pack of the mapping, the default's first:
    /// two mappings with equal revisions decide alike.
    pub fn revisions(&self) -> Vec<(Option<&str>, &str)> {
        let tenants = self.tenants.iter().map(|(tenant, pack)| (Some(tenant.as_str()), pack.revision()));
        std::iter::once((None, self.default.revision())).chain(tenants).collect()
    }

    /// Every tenant's use of a signed pack that checked out, with its
    /// signed revision: what rollback protection compares.
    pub fn signed(&self) -> &[SignedPack] {
        &self.signed
    }

    /// The pack of every tenant the mapping does not name.
    pub fn default_pack(&self) -> &Arc<RulePack> {
        &self.default
    }

    /// The pack for `tenant`.
    pub fn pack_for(&self, tenant: &str) -> &Arc<RulePack> {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }
}
