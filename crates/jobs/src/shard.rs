//! A shard: the tenants one host owns when hosts share a job database but
//! not a data directory (issue 9, item 3). A sharded store claims, reaps
//! and counts only its own tenants' jobs, so no worker applies a tenant's
//! job to a data directory that does not hold that tenant; the API answers
//! `421 wrong_shard` for the rest.
//!
//! This module does not route requests and knows nothing of files: it only
//! says which tenants are owned, and how a query filters on them.

use std::collections::BTreeSet;

use memwarden_names::name_problem;

/// The tenants a host owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    tenants: BTreeSet<String>,
    /// `,a,b,`: the list as the claim queries take it (see [`Shard::sql_list`]).
    sql_list: String,
}

/// Why a shard cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// The list is empty: a host that owns nothing would claim nothing.
    #[error("a shard must name at least one tenant")]
    Empty,
    /// A name that is not a safe tenant name.
    #[error("shard tenant `{name}` {problem}")]
    UnsafeName {
        /// The name, escaped.
        name: String,
        /// Why it is refused.
        problem: &'static str,
    },
}

impl Shard {
    /// A shard owning exactly `tenants`, each a safe tenant name.
    pub fn new<I, T>(tenants: I) -> Result<Shard, ShardError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut owned = BTreeSet::new();
        for tenant in tenants {
            let tenant = tenant.into();
            if let Some(problem) = name_problem(&tenant) {
                return Err(ShardError::UnsafeName { name: tenant.escape_debug().to_string(), problem });
            }
            owned.insert(tenant);
        }
        if owned.is_empty() {
            return Err(ShardError::Empty);
        }
        let sql_list = format!(",{},", owned.iter().map(String::as_str).collect::<Vec<_>>().join(","));
        Ok(Shard { tenants: owned, sql_list })
    }

    /// Whether this shard owns `tenant`.
    pub fn owns(&self, tenant: &str) -> bool {
        self.tenants.contains(tenant)
    }

    /// The owned tenants, sorted.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(String::as_str)
    }

    /// The tenants as one comma-delimited string with a comma at each end.
    /// The queries test membership with `REPLACE` and `LENGTH`, which both
    /// backends have: `LIKE` would read the `_` of a tenant name as a
    /// wildcard, and a bound list of varying length would make the SQL
    /// differ per shard. Safe names hold no comma, so the match is exact.
    pub(crate) fn sql_list(&self) -> &str {
        &self.sql_list
    }
}

/// The shard filter of a query, as a bind: `NULL` owns every tenant.
pub(crate) fn sql_param(shard: Option<&Shard>) -> Option<String> {
    shard.map(|shard| shard.sql_list().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_owns_only_its_tenants() {
        let shard = Shard::new(["beta", "acme", "a_b"]).expect("valid");
        assert!(shard.owns("acme") && shard.owns("a_b"));
        assert!(!shard.owns("axb") && !shard.owns("acm") && !shard.owns(""));
        assert_eq!(shard.sql_list(), ",a_b,acme,beta,");
    }

    #[test]
    fn unsafe_or_empty_shards_are_refused() {
        assert!(matches!(Shard::new(Vec::<String>::new()), Err(ShardError::Empty)));
        assert!(matches!(Shard::new(["a,b"]), Err(ShardError::UnsafeName { .. })));
        assert!(matches!(Shard::new(["../x"]), Err(ShardError::UnsafeName { .. })));
    }
}
