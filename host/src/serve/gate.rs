//! How much blocking work the API runs at once (issue 9, item 8): policy
//! evaluations and tenant-store reads and writes run on blocking threads,
//! and each can hold a large proposal or a tenant's whole memory. The
//! [`Gate`] bounds them per tenant and per process, and refuses at once
//! rather than queueing: `429 tenant_busy` when one tenant has its share
//! in flight, `503 server_busy` when the process has — both with
//! `Retry-After`.
//!
//! A [`Permit`] moves into the blocking closure, so a slot is freed when
//! the work ends, not when a timed-out request stops waiting for it.
//! This module does not time requests (see `listener`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ApiError;

/// Codes of a refusal by the gate.
pub mod codes {
    /// The tenant already has `serve.max_blocking_per_tenant` in flight: 429.
    pub const TENANT_BUSY: &str = "tenant_busy";
    /// The process already has `serve.max_blocking` in flight: 503.
    pub const SERVER_BUSY: &str = "server_busy";
}

/// Requests refused for load. Tags: `code` (`tenant_busy`, `server_busy`,
/// and the listener's `request_timeout`).
pub const REFUSED_METRIC: &str = "memwarden_api_refused_total";

/// Bounds on blocking work, per process and per tenant.
#[derive(Debug, Clone)]
pub struct Gate {
    process: Arc<Semaphore>,
    per_tenant: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// A slot of the gate, held until dropped.
#[derive(Debug)]
pub struct Permit {
    _process: OwnedSemaphorePermit,
    _tenant: TenantSlot,
}

#[derive(Debug)]
struct TenantSlot {
    tenant: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for TenantSlot {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = in_flight.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.tenant);
            }
        }
    }
}

impl Gate {
    /// At most `process` at once in all, `per_tenant` for one tenant
    /// (each at least 1).
    pub fn new(process: usize, per_tenant: usize) -> Gate {
        Gate {
            process: Arc::new(Semaphore::new(process.max(1))),
            per_tenant: per_tenant.max(1),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for work of `tenant`, or the refusal to answer with. The
    /// tenant's share is taken first, so one tenant's flood is `429` to it
    /// and does not take the slots the other tenants need.
    pub fn enter(&self, tenant: &str) -> Result<Permit, ApiError> {
        let slot = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            let count = in_flight.entry(tenant.to_string()).or_insert(0);
            if *count >= self.per_tenant {
                drop(in_flight);
                return Err(refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::TENANT_BUSY,
                    format!("`{tenant}` already has {} requests in flight; retry shortly", self.per_tenant),
                ));
            }
            *count += 1;
            TenantSlot { tenant: tenant.to_string(), in_flight: self.in_flight.clone() }
        };
        let process = self.process.clone().try_acquire_owned().map_err(|_| {
            refused(StatusCode::SERVICE_UNAVAILABLE, codes::SERVER_BUSY, "the server is at capacity; retry shortly")
        })?;
        Ok(Permit { _process: process, _tenant: slot })
    }
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    metrics::counter!(REFUSED_METRIC, "code" => code).increment(1);
    ApiError::new(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_share_and_the_process_its_cap() {
        let gate = Gate::new(3, 2);
        let a1 = gate.enter("acme").expect("first");
        let _a2 = gate.enter("acme").expect("second");
        assert_eq!(gate.enter("acme").err().map(|e| e.code), Some(codes::TENANT_BUSY));
        let _b1 = gate.enter("beta").expect("beta has its own share");
        assert_eq!(gate.enter("gamma").err().map(|e| e.code), Some(codes::SERVER_BUSY));
        drop(a1);
        let _a3 = gate.enter("acme").expect("a slot came back");
        assert_eq!(gate.enter("acme").err().map(|e| e.status), Some(StatusCode::TOO_MANY_REQUESTS));
    }

    #[test]
    fn a_refused_process_slot_gives_the_tenant_share_back() {
        let gate = Gate::new(1, 1);
        let held = gate.enter("acme").expect("first");
        assert_eq!(gate.enter("beta").err().map(|e| e.code), Some(codes::SERVER_BUSY));
        drop(held);
        let _beta = gate.enter("beta").expect("beta's share was not kept by the refusal");
    }
}
