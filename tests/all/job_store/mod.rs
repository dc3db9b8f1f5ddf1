//! The job-store conformance suite: every backend runs these unchanged —
//! SQLite always, PostgreSQL when `MEMWARDEN_TEST_POSTGRES_URL` is set (each
//! test in a schema of its own; without the variable every PostgreSQL test
//! says it was skipped). Time is passed in, so leases and backoff need no
//! sleeps.

use memwarden::jobs::{
    FailOutcome, IdempotencyKey, JobKind, JobOutcome, JobStore, JobStoreError, KeyRole, MetricsRow, NewReflection,
    OWNER_GONE, ReflectionPayload, Shard, SqliteJobStore,
};
use memwarden::policy::RunOutcome;

use crate::util::temp_dir;

#[macro_use]
mod consolidation;
#[macro_use]
mod reviews;

const T0: u64 = 1_700_000_000_000;
const LEASE: u64 = 30_000;

fn reflection(tenant: &str, key: Option<&str>, max_attempts: u32) -> NewReflection {
    reflection_of(tenant, key, max_attempts, "ran tests; 2 failed")
}

fn reflection_of(tenant: &str, key: Option<&str>, max_attempts: u32, activity_log: &str) -> NewReflection {
    let payload = ReflectionPayload {
        piece: "research".into(),
        outcome: RunOutcome::Failed,
        activity_log: activity_log.into(),
        source_run: None,
    };
    NewReflection {
        tenant: tenant.to_string(),
        idempotency_key: key.map(|key| IdempotencyKey::new(tenant, key, &payload).expect("a valid key")),
        payload,
        max_attempts,
    }
}

/// Runs every conformance check against stores made by `open`.
macro_rules! conformance {
    ($open:expr) => {
        #[tokio::test]
        async fn enqueue_then_claim_once() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            assert!(job.created);
            let claim = store.claim(JobKind::Reflection, "w1", LEASE, T0).await.expect("claim").expect("a job");
            assert_eq!((claim.id, claim.tenant.as_str(), claim.attempt), (job.id, "acme", 1));
            assert_eq!(claim.payload.activity_log, "ran tests; 2 failed");
            assert_eq!(claim.recorded, None);
            assert!(store.claim(JobKind::Reflection, "w2", LEASE, T0).await.expect("claim").is_none());
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.attempts), ("running", 1));
        }

        #[tokio::test]
        async fn the_decision_log_lists_committed_reflections_newest_first() {
            use memwarden::jobs::{DecisionFilter, DecisionLog};
            let Some((_guard, store)) = $open.await else { return };
            let mut decided = Vec::new();
            for (n, tenant) in ["acme", "other", "acme", "acme"].into_iter().enumerate() {
                let at = T0 + n as u64 * 1000;
                let job = store.enqueue_reflection(&reflection(tenant, None, 3), at).await.expect("enqueue");
                let claim = store.claim(JobKind::Reflection, "w1", LEASE, at).await.expect("claim").expect("a job");
                // The third job recorded but never committed: not decided.
                store.record(job.id, &claim.token, &format!("{{\"n\":{n}}}"), at).await.expect("record");
                if n != 2 {
                    let snapshot = format!("snap-{n}");
                    store
                        .succeed(job.id, &claim.token, JobOutcome::Succeeded, Some(&snapshot), at)
                        .await
                        .expect("succeed");
                    decided.push((job.id, tenant));
                }
            }
            let all = store.decided_jobs(&DecisionFilter { limit: 10, ..Default::default() }).await.expect("log");
            let listed: Vec<_> = all.iter().map(|job| (job.id, job.tenant.as_str())).collect();
            assert_eq!(listed, decided.iter().rev().copied().collect::<Vec<_>>());
            assert_eq!((all[0].snapshot_id.as_str(), all[0].recorded.as_str()), ("snap-3", r#"{"n":3}"#));
            let filter = DecisionFilter { tenant: Some("acme".into()), since_ms: T0 + 500, limit: 10 };
            let acme = store.decided_jobs(&filter).await.expect("log");
            assert_eq!(acme.iter().map(|job| job.id).collect::<Vec<_>>(), [decided[2].0]);
            let newest = store.decided_jobs(&DecisionFilter { limit: 1, ..Default::default() }).await.expect("log");
            assert_eq!(newest.len(), 1);
        }

        #[tokio::test]
        async fn a_direct_job_runs_in_its_caller_and_no_worker_claims_it() {
            let Some((_guard, store)) = $open.await else { return };
            let payload = r#"{"reasoning":"r","memory_changes":[]}"#;
            let started = store.start_direct(JobKind::Mcp, "acme", payload, "mcp", LEASE, T0).await.expect("start");
            let status = store.job(started.id).await.expect("job").expect("exists");
            assert_eq!((status.kind, status.status.as_str(), status.attempts), (JobKind::Mcp, "running", 1));
            assert!(store.claim(JobKind::Reflection, "w", LEASE, T0).await.expect("claim").is_none());
            assert!(store.claim(JobKind::Mcp, "w", LEASE, T0).await.expect("claim").is_none(), "never queued");
            assert_eq!(store.queue_depth(T0).await.expect("depth"), 0, "not a queued reflection");
            assert!(store.record(started.id, &started.token, "{}", T0).await.expect("record"));
            let done = store.succeed(started.id, &started.token, JobOutcome::Held, Some("snap"), T0).await;
            assert!(done.expect("succeed"));
            let status = store.job(started.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.outcome.as_deref()), ("succeeded", Some("held")));
            // A failed one is dead at once: the agent proposes again instead.
            let other = store.start_direct(JobKind::Mcp, "acme", payload, "mcp", LEASE, T0).await.expect("start");
            let failed = store.fail(other.id, &other.token, "db_busy", "busy", Some(1), T0).await.expect("fail");
            assert_eq!(failed, FailOutcome::Dead);
        }

        #[tokio::test]
        async fn an_idempotency_key_enqueues_once() {
            let Some((_guard, store)) = $open.await else { return };
            let first = store.enqueue_reflection(&reflection("acme", Some("run-7"), 3), T0).await.expect("enqueue");
            let again = store.enqueue_reflection(&reflection("acme", Some("run-7"), 3), T0 + 5).await.expect("enqueue");
            assert!(first.created && !again.created);
            assert_eq!(first.id, again.id);
            let other = store.enqueue_reflection(&reflection("acme", Some("run-8"), 3), T0).await.expect("enqueue");
            assert_ne!(other.id, first.id);
        }

        /// Issue 9, item 13: a key names one request of one tenant.
        #[tokio::test]
        async fn issue9_a_key_reused_for_another_request_conflicts_and_keys_are_per_tenant() {
            let Some((_guard, store)) = $open.await else { return };
            let first = store.enqueue_reflection(&reflection("acme", Some("k1"), 3), T0).await.expect("enqueue");
            let other = reflection_of("acme", Some("k1"), 3, "a different run");
            match store.enqueue_reflection(&other, T0 + 1).await {
                Err(err @ JobStoreError::IdempotencyConflict { .. }) => {
                    assert_eq!(err.code(), "idempotency_conflict");
                    assert!(err.to_string().contains(&first.id.to_string()), "{err}");
                }
                other => panic!("expected a conflict, got {other:?}"),
            }
            // Another tenant's `k1`, and a key that looks like acme's scoped
            // one, are keys of their own.
            let beta = store.enqueue_reflection(&reflection("beta", Some("k1"), 3), T0).await.expect("enqueue");
            let lookalike =
                store.enqueue_reflection(&reflection("beta", Some("acme/k1"), 3), T0).await.expect("enqueue");
            assert!(beta.created && lookalike.created);
            assert_ne!(beta.id, first.id);
            assert_ne!(lookalike.id, first.id);
            let again = store.enqueue_reflection(&reflection("acme", Some("k1"), 3), T0 + 2).await.expect("enqueue");
            assert_eq!((again.id, again.created), (first.id, false));
        }

        /// Issue 9, item 1: a job whose worker dies every time (its lease
        /// expires unrenewed) spends an attempt per death and ends dead with
        /// `owner_gone` — by kind and by id alike.
        #[tokio::test]
        async fn issue9_expired_leases_spend_attempts_until_the_job_is_dead() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            let mut now = T0;
            let mut tokens = Vec::new();
            for attempt in 1..=3 {
                let claim = store.claim(JobKind::Reflection, "w", LEASE, now).await.expect("claim").expect("claimable");
                assert_eq!((claim.id, claim.attempt), (job.id, attempt));
                if attempt == 1 {
                    assert!(store.record(job.id, &claim.token, "decided", now + 1).await.expect("record"));
                } else {
                    assert_eq!(claim.recorded.as_deref(), Some("decided"), "the record survives each death");
                }
                tokens.push(claim.token);
                // The worker dies: no heartbeat, no fail; the lease runs out.
                now += LEASE;
                if attempt < 3 {
                    assert_eq!(store.queue_depth(now).await.expect("depth"), 1, "attempts are left");
                }
            }
            assert_eq!(store.queue_depth(now).await.expect("depth"), 0, "the last attempt is spent");
            assert!(store.claim(JobKind::Reflection, "w", LEASE, now).await.expect("claim").is_none());
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!(
                (status.status.as_str(), status.outcome.as_deref(), status.last_error_code.as_deref(), status.attempts),
                ("dead", Some("failed"), Some(OWNER_GONE), 3)
            );
            assert!(status.last_error.as_deref().is_some_and(|e| e.ends_with(": w")), "{status:?}");
            assert!(store.claim(JobKind::Reflection, "w", LEASE, now + 10 * LEASE).await.expect("claim").is_none());
            // A dead owner that wakes up changes nothing.
            let last = tokens.last().expect("a token");
            assert!(!store.heartbeat(job.id, last, LEASE, now).await.expect("heartbeat"));
            assert!(!store.succeed(job.id, last, JobOutcome::Succeeded, None, now).await.expect("succeed"));
            let reasons: Vec<_> =
                store.metrics("acme").await.expect("rows").into_iter().map(|r| r.reason_code).collect();
            assert_eq!(reasons, vec![Some(OWNER_GONE.to_string()); 3], "one failed attempt counted per death");

            // The same by id, as `memwarden reflect` claims.
            let job = store.enqueue_reflection(&reflection("beta", None, 2), now).await.expect("enqueue");
            for attempt in 1..=2 {
                let claim = store.claim_id(job.id, "w", LEASE, now).await.expect("claim").expect("claimable");
                assert_eq!(claim.attempt, attempt);
                now += LEASE;
            }
            assert!(store.claim_id(job.id, "w", LEASE, now).await.expect("claim").is_none());
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.last_error_code.as_deref()), ("dead", Some(OWNER_GONE)));
        }

        #[tokio::test]
        async fn a_given_job_can_be_claimed_by_id() {
            let Some((_guard, store)) = $open.await else { return };
            let a = store.enqueue_reflection(&reflection("a", None, 3), T0).await.expect("enqueue");
            let b = store.enqueue_reflection(&reflection("b", None, 3), T0).await.expect("enqueue");
            let claim = store.claim_id(b.id, "w", LEASE, T0).await.expect("claim").expect("b is claimable");
            assert_eq!(claim.tenant, "b");
            assert!(store.claim_id(b.id, "w", LEASE, T0).await.expect("claim").is_none(), "b is leased");
            assert_eq!(store.claim(JobKind::Reflection, "w", LEASE, T0).await.expect("claim").expect("a").id, a.id);
        }

        #[tokio::test]
        async fn jobs_are_claimed_oldest_first() {
            let Some((_guard, store)) = $open.await else { return };
            let a = store.enqueue_reflection(&reflection("a", None, 3), T0).await.expect("enqueue");
            let b = store.enqueue_reflection(&reflection("b", None, 3), T0 + 1).await.expect("enqueue");
            let first = store.claim(JobKind::Reflection, "w", LEASE, T0 + 10).await.expect("claim").expect("job");
            let second = store.claim(JobKind::Reflection, "w", LEASE, T0 + 10).await.expect("claim").expect("job");
            assert_eq!((first.id, second.id), (a.id, b.id));
        }

        #[tokio::test]
        async fn an_expired_lease_is_taken_over_and_the_old_owner_is_locked_out() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            let old = store.claim(JobKind::Reflection, "w1", LEASE, T0).await.expect("claim").expect("job");
            assert!(store.heartbeat(job.id, &old.token, LEASE, T0 + 10_000).await.expect("heartbeat"));
            // The heartbeat moved the lease to T0 + 40 s.
            assert!(store.claim(JobKind::Reflection, "w2", LEASE, T0 + 39_000).await.expect("claim").is_none());
            let new =
                store.claim(JobKind::Reflection, "w2", LEASE, T0 + 40_000).await.expect("claim").expect("taken over");
            assert_eq!((new.id, new.attempt), (job.id, 2));
            assert_ne!(new.token, old.token);

            assert!(!store.heartbeat(job.id, &old.token, LEASE, T0 + 41_000).await.expect("heartbeat"));
            assert!(!store.record(job.id, &old.token, "stale", T0 + 41_000).await.expect("record"));
            assert!(
                !store.succeed(job.id, &old.token, JobOutcome::Succeeded, None, T0 + 41_000).await.expect("succeed")
            );
            assert_eq!(
                store.fail(job.id, &old.token, "x", "stale", Some(0), T0 + 41_000).await.expect("fail"),
                FailOutcome::LostOwnership
            );

            assert!(
                store.succeed(job.id, &new.token, JobOutcome::Abstained, None, T0 + 42_000).await.expect("succeed")
            );
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.outcome.as_deref()), ("succeeded", Some("abstained")));
            assert!(store.claim(JobKind::Reflection, "w3", LEASE, T0 + 999_000).await.expect("claim").is_none());
        }

        /// Reaping expired leases is a statement of its own: a store does it
        /// at most once a second per kind while there is something else to
        /// claim, and at once when there is not.
        #[tokio::test]
        async fn expired_leases_are_reaped_once_a_second_or_when_nothing_else_is_claimable() {
            let Some((_guard, store)) = $open.await else { return };
            let mut ids = Vec::new();
            for (n, tenant) in ["a", "b", "c"].into_iter().enumerate() {
                ids.push(
                    store.enqueue_reflection(&reflection(tenant, None, 3), T0 + n as u64).await.expect("enqueue").id,
                );
            }
            let claim = |at| store.claim(JobKind::Reflection, "w", LEASE, at);
            assert_eq!(claim(T0 + 10).await.expect("claim").expect("a").id, ids[0]);
            // A second later the reap runs; a's lease has not run out yet.
            assert_eq!(claim(T0 + LEASE - 500).await.expect("claim").expect("b").id, ids[1]);
            // a's lease ran out, but the last reap was half a second ago.
            assert_eq!(claim(T0 + LEASE + 10).await.expect("claim").expect("c").id, ids[2]);
            // Nothing else is claimable: reaped at once, a is taken over.
            let again = claim(T0 + LEASE + 20).await.expect("claim").expect("a, again");
            assert_eq!((again.id, again.attempt), (ids[0], 2));
            assert!(claim(T0 + LEASE + 30).await.expect("claim").is_none());
        }

        #[tokio::test]
        async fn a_record_survives_to_the_next_owner() {
            let Some((_guard, store)) = $open.await else { return };
            store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            let first = store.claim(JobKind::Reflection, "w1", LEASE, T0).await.expect("claim").expect("job");
            assert!(store.record(first.id, &first.token, r#"{"plan": 1}"#, T0 + 1).await.expect("record"));
            // The worker dies; its lease runs out.
            let second = store.claim(JobKind::Reflection, "w2", LEASE, T0 + LEASE).await.expect("claim").expect("job");
            assert_eq!(second.recorded.as_deref(), Some(r#"{"plan": 1}"#));
        }

        #[tokio::test]
        async fn a_failure_is_retried_after_its_delay_then_dies() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 2), T0).await.expect("enqueue");
            let claim = store.claim(JobKind::Reflection, "w", LEASE, T0).await.expect("claim").expect("job");
            let outcome = store
                .fail(job.id, &claim.token, "llm_unavailable", "connection refused", Some(5_000), T0 + 100)
                .await
                .expect("fail");
            assert_eq!(outcome, FailOutcome::Retrying { at_ms: T0 + 5_100 });
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!(
                (status.status.as_str(), status.last_error_code.as_deref()),
                ("queued", Some("llm_unavailable"))
            );
            assert!(
                store.claim(JobKind::Reflection, "w", LEASE, T0 + 5_099).await.expect("claim").is_none(),
                "backoff is honoured"
            );
            let retry =
                store.claim(JobKind::Reflection, "w", LEASE, T0 + 5_100).await.expect("claim").expect("retried");
            assert_eq!(retry.attempt, 2);
            let outcome = store
                .fail(job.id, &retry.token, "invalid_proposal", "not JSON", Some(5_000), T0 + 6_000)
                .await
                .expect("fail");
            assert_eq!(outcome, FailOutcome::Dead);
            let status = store.job(job.id).await.expect("job").expect("exists");
            assert_eq!(status.status, "dead");
            assert_eq!(status.outcome.as_deref(), Some("failed"));
            assert_eq!(status.last_error.as_deref(), Some("not JSON"));
            assert!(store.claim(JobKind::Reflection, "w", LEASE, T0 + 999_000).await.expect("claim").is_none());
        }

        #[tokio::test]
        async fn a_failure_without_a_retry_delay_is_dead_at_once() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 5), T0).await.expect("enqueue");
            let claim = store.claim(JobKind::Reflection, "w", LEASE, T0).await.expect("claim").expect("job");
            let outcome = store.fail(job.id, &claim.token, "llm_auth", "HTTP 401", None, T0 + 1).await.expect("fail");
            assert_eq!(outcome, FailOutcome::Dead);
            assert_eq!(
                store.job(job.id).await.expect("job").expect("exists").last_error_code.as_deref(),
                Some("llm_auth")
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn racing_workers_claim_each_job_exactly_once() {
            let Some((_guard, store)) = $open.await else { return };
            for i in 0..20 {
                store.enqueue_reflection(&reflection(&format!("t{i}"), None, 3), T0).await.expect("enqueue");
            }
            let worker = |name: &'static str| {
                let store = store.clone();
                async move {
                    let mut claimed = Vec::new();
                    while let Some(claim) = store.claim(JobKind::Reflection, name, LEASE, T0).await.expect("claim") {
                        claimed.push(claim.id);
                    }
                    claimed
                }
            };
            let (a, b) = tokio::join!(tokio::spawn(worker("a")), tokio::spawn(worker("b")));
            let (a, b) = (a.expect("worker a"), b.expect("worker b"));
            let mut all: Vec<_> = a.iter().chain(&b).copied().collect();
            all.sort();
            all.dedup();
            assert_eq!(a.len() + b.len(), 20, "a claimed {a:?}, b claimed {b:?}");
            assert_eq!(all.len(), 20, "no job was claimed twice");
        }

        #[tokio::test]
        async fn metrics_rows_round_trip() {
            let Some((_guard, store)) = $open.await else { return };
            let job = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            let row = MetricsRow {
                job_id: job.id,
                tenant: "acme".into(),
                kind: JobKind::Reflection,
                outcome: "succeeded".into(),
                reason_code: None,
                changes_applied: 2,
                piece_edited: true,
                tokens_in: 1200,
                tokens_out: 300,
                duration_ms: 42,
                rejections: [("near_duplicate".to_string(), 1)].into(),
                created_at_ms: T0,
            };
            store.record_metrics(&row).await.expect("insert");
            assert_eq!(store.metrics("acme").await.expect("rows"), vec![row]);
            assert!(store.metrics("other").await.expect("rows").is_empty());
        }

        #[tokio::test]
        async fn api_keys_are_found_by_their_hash_only() {
            let Some((_guard, store)) = $open.await else { return };
            let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
            store.add_api_key("acme", hash, KeyRole::Agent, Some("ci"), T0).await.expect("add");
            let key = store.api_key(hash).await.expect("lookup").expect("found");
            assert_eq!((key.tenant.as_str(), key.role, key.label.as_deref()), ("acme", KeyRole::Agent, Some("ci")));
            assert_eq!(store.api_key("00").await.expect("lookup"), None);
            assert!(
                store.add_api_key("beta", hash, KeyRole::Agent, None, T0).await.is_err(),
                "a hash names one tenant"
            );
            let reviewer = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
            store.add_api_key("acme", reviewer, KeyRole::Reviewer, Some("alice"), T0).await.expect("add");
            assert_eq!(store.api_key(reviewer).await.expect("lookup").expect("found").role, KeyRole::Reviewer);
        }

        #[tokio::test]
        async fn the_queue_depth_counts_claimable_reflections() {
            let Some((_guard, store)) = $open.await else { return };
            for _ in 0..3 {
                store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            }
            assert_eq!(store.queue_depth(T0).await.expect("depth"), 3);
            store.claim(JobKind::Reflection, "w", LEASE, T0).await.expect("claim").expect("job");
            assert_eq!(store.queue_depth(T0).await.expect("depth"), 2);
            assert_eq!(store.queue_depth(T0 + LEASE).await.expect("depth"), 3, "an expired lease is claimable");
        }

        /// Issue 9, item 3: a sharded store claims, reaps, counts and
        /// consolidates only its own tenants — `a_b` owns no `axb`, though
        /// `_` is a wildcard to `LIKE`.
        #[tokio::test]
        async fn issue9_a_sharded_store_sees_only_its_tenants() {
            let Some((_guard, store)) = $open.await else { return };
            let mine = store.clone().with_shard(Some(Shard::new(["acme", "a_b"]).expect("shard")));
            let theirs = store.clone().with_shard(Some(Shard::new(["beta"]).expect("shard")));
            let acme = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
            let axb = store.enqueue_reflection(&reflection("axb", None, 3), T0).await.expect("enqueue");
            let beta = store.enqueue_reflection(&reflection("beta", None, 3), T0).await.expect("enqueue");
            let depths = (
                mine.queue_depth(T0).await.expect("depth"),
                theirs.queue_depth(T0).await.expect("depth"),
                store.queue_depth(T0).await.expect("depth"),
            );
            assert_eq!(depths, (1, 1, 3));

            let claim = theirs.claim(JobKind::Reflection, "b", LEASE, T0).await.expect("claim").expect("beta's job");
            assert_eq!(claim.id, beta.id);
            let claim = mine.claim(JobKind::Reflection, "a", LEASE, T0).await.expect("claim").expect("acme's job");
            assert_eq!(claim.id, acme.id);
            assert!(mine.claim(JobKind::Reflection, "a", LEASE, T0).await.expect("claim").is_none(), "not axb");
            assert!(mine.claim_id(axb.id, "a", LEASE, T0).await.expect("claim").is_none(), "not by id either");

            // Both leases expire; each shard takes over only its own.
            let later = T0 + LEASE;
            let again = mine.claim(JobKind::Reflection, "a", LEASE, later).await.expect("claim").expect("acme again");
            assert_eq!((again.id, again.attempt), (acme.id, 2));
            let status = store.job(beta.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.attempts), ("running", 1), "another shard's lease is left");
            let again = theirs.claim(JobKind::Reflection, "b", LEASE, later).await.expect("claim").expect("beta again");
            assert_eq!((again.id, again.attempt), (beta.id, 2));
            let status = store.job(axb.id).await.expect("job").expect("exists");
            assert_eq!((status.status.as_str(), status.attempts), ("queued", 0), "nobody's tenant waits");

            // Consolidations likewise.
            for tenant in ["acme", "beta"] {
                store.enqueue_consolidation(tenant, 1, 3, T0).await.expect("dirty");
            }
            assert_eq!(mine.due_consolidations(0, 10, T0).await.expect("due"), ["acme"]);
            let claimed = mine.claim_consolidation("beta", "a", LEASE, T0).await.expect("claim");
            assert_eq!(claimed, memwarden::jobs::ConsolidationClaim::SkippedNotDirty);
            let claimed = theirs.claim_consolidation("beta", "b", LEASE, T0).await.expect("claim");
            assert!(matches!(claimed, memwarden::jobs::ConsolidationClaim::Claimed(_)), "{claimed:?}");
        }
    };
}

mod sqlite {
    use super::*;

    async fn open() -> Option<(tempfile::TempDir, SqliteJobStore)> {
        let dir = temp_dir();
        let store = SqliteJobStore::open(dir.path().join("jobs.db").to_str().expect("utf-8")).await.expect("open");
        Some((dir, store))
    }

    conformance!(open());
    consolidation_conformance!(open());
    reviews_conformance!(open());

    #[tokio::test]
    async fn the_schema_survives_reopening() {
        let dir = temp_dir();
        let path = dir.path().join("jobs.db");
        let store = SqliteJobStore::open(path.to_str().expect("utf-8")).await.expect("open");
        let job = store.enqueue_reflection(&reflection("acme", None, 3), T0).await.expect("enqueue");
        drop(store);
        let reopened = SqliteJobStore::open(&format!("sqlite://{}", path.display())).await.expect("reopen");
        assert_eq!(reopened.job(job.id).await.expect("job").expect("exists").tenant, "acme");
    }
}

mod postgres {
    use memwarden::jobs::PgJobStore;

    use super::*;
    use crate::util::postgres::{Schema, fresh_schema};

    async fn open() -> Option<(Schema, PgJobStore)> {
        let (schema, options) = fresh_schema().await?;
        Some((schema, PgJobStore::open_with(options).await.expect("open the PostgreSQL job store")))
    }

    conformance!(open());
    consolidation_conformance!(open());
    reviews_conformance!(open());

    #[tokio::test]
    async fn the_tenant_lock_excludes_other_sessions_until_dropped() {
        let Some((_schema, store)) = open().await else { return };
        // Advisory locks are database-wide: a tenant name no other test uses.
        let tenant = format!("lock-{}", std::process::id());
        let held = store.lock_tenant(&tenant).await.expect("lock");
        let waiter = tokio::spawn({
            let (store, tenant) = (store.clone(), tenant.clone());
            async move { store.lock_tenant(&tenant).await.map(drop) }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "a second session waits for the lock");
        let _other = store.lock_tenant(&format!("{tenant}-other")).await.expect("another tenant's lock is free");
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the lock is released on drop")
            .expect("join")
            .expect("lock");
    }

    #[tokio::test]
    async fn claims_from_many_connections_never_collide() {
        let Some((_schema, store)) = open().await else { return };
        for n in 0..40 {
            store.enqueue_reflection(&reflection(&format!("t{}", n % 5), None, 3), T0).await.expect("enqueue");
        }
        let store = std::sync::Arc::new(store);
        let claimers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let worker = format!("w{w}");
                    while let Some(claim) = store.claim(JobKind::Reflection, &worker, LEASE, T0).await.expect("claim") {
                        mine.push(claim.id);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.await.expect("claimer"));
        }
        let claimed = all.len();
        all.sort();
        all.dedup();
        assert_eq!((claimed, all.len()), (40, 40), "every job claimed exactly once");
    }
}
