//! Conformance checks of the consolidation rows, run by every backend
//! through `consolidation_conformance!`.

/// Every consolidation claim outcome, races, lease takeover, watermarks
/// and backoff, against stores made by `open`.
macro_rules! consolidation_conformance {
    ($open:expr) => {
        mod consolidation {
            use memwarden::jobs::consolidation::OWNER_GONE;
            use memwarden::jobs::{ConsolidationClaim, ConsolidationLease, FailOutcome, JobStore};

            use super::*;

            async fn claimed<S: JobStore>(store: &S, tenant: &str, worker: &str, now: u64) -> ConsolidationLease {
                match store.claim_consolidation(tenant, worker, LEASE, now).await.expect("claim") {
                    ConsolidationClaim::Claimed(lease) => lease,
                    other => panic!("expected a claim, got {other:?}"),
                }
            }

            async fn outcome<S: JobStore>(store: &S, tenant: &str, now: u64) -> &'static str {
                store.claim_consolidation(tenant, "probe", LEASE, now).await.expect("claim").as_str()
            }

            #[tokio::test]
            async fn a_tenant_without_input_is_not_dirty() {
                let Some((_guard, store)) = $open.await else { return };
                assert_eq!(outcome(&store, "acme", T0).await, "skipped_not_dirty");
                assert_eq!(store.consolidation("acme").await.expect("state"), None);
            }

            #[tokio::test]
            async fn input_makes_a_tenant_dirty_and_success_makes_it_clean() {
                let Some((_guard, store)) = $open.await else { return };
                assert_eq!(store.enqueue_consolidation("acme", 10, 3, T0).await.expect("enqueue"), 10);
                let lease = claimed(&store, "acme", "w1", T0).await;
                assert_eq!((lease.input_watermark, lease.notes_cursor, lease.run), (10, 0, 1));
                assert_eq!(lease.job_id(), "consolidation-1");
                let succeeded = store
                    .succeed_consolidation("acme", &lease.token, lease.input_watermark, 7, T0 + 5)
                    .await
                    .expect("succeed");
                assert!(succeeded);
                assert_eq!(outcome(&store, "acme", T0 + 10).await, "skipped_not_dirty");
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!((state.success_watermark, state.status.as_str(), state.is_dirty()), (10, "idle", false));
                // The next run starts its notes where this one stopped.
                store.enqueue_consolidation("acme", 11, 3, T0 + 20).await.expect("enqueue");
                let next = claimed(&store, "acme", "w1", T0 + 20).await;
                assert_eq!((next.notes_cursor, next.run), (7, 2));
            }

            #[tokio::test]
            async fn a_watermark_that_is_not_larger_still_raises_the_input() {
                let Some((_guard, store)) = $open.await else { return };
                assert_eq!(store.enqueue_consolidation("acme", 50, 3, T0).await.expect("enqueue"), 50);
                assert_eq!(store.enqueue_consolidation("acme", 20, 3, T0).await.expect("enqueue"), 51);
                assert_eq!(store.enqueue_consolidation("acme", 51, 3, T0).await.expect("enqueue"), 52);
                assert_eq!(store.enqueue_consolidation("acme", 90, 3, T0).await.expect("enqueue"), 90);
                assert_eq!(store.enqueue_consolidation("new", 0, 3, T0).await.expect("enqueue"), 1);
            }

            #[tokio::test]
            async fn a_live_lease_makes_others_skip_and_two_racing_workers_claim_once() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 1, 3, T0).await.expect("enqueue");
                let store = std::sync::Arc::new(store);
                let race = |worker: &'static str| {
                    let store = store.clone();
                    async move { store.claim_consolidation("acme", worker, LEASE, T0).await.expect("claim") }
                };
                let (a, b) = tokio::join!(tokio::spawn(race("a")), tokio::spawn(race("b")));
                let mut outcomes = [a.expect("a").as_str(), b.expect("b").as_str()];
                outcomes.sort();
                assert_eq!(outcomes, ["claimed", "skipped_running"]);
                assert_eq!(outcome(&*store, "acme", T0 + LEASE - 1).await, "skipped_running");
            }

            #[tokio::test]
            async fn an_expired_lease_is_taken_over_and_the_old_owner_changes_nothing() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 5, 3, T0).await.expect("enqueue");
                let old = claimed(&store, "acme", "w1", T0).await;
                let later = T0 + LEASE + 1;
                let new = claimed(&store, "acme", "w2", later).await;
                assert_ne!(old.token, new.token);
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!(state.retries_left, 2, "the vanished attempt spent a retry");
                assert_eq!(state.lease_owner.as_deref(), Some("w2"));
                // The old owner learns it lost the lease and cannot finish.
                assert!(!store.heartbeat_consolidation("acme", &old.token, LEASE, later).await.expect("beat"));
                assert!(!store.succeed_consolidation("acme", &old.token, 5, 3, later).await.expect("succeed"));
                let failed = store.fail_consolidation("acme", &old.token, "x", "y", Some(1), later).await;
                assert_eq!(failed.expect("fail"), FailOutcome::LostOwnership);
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!((state.success_watermark, state.status.as_str()), (0, "running"));
                // The new owner heartbeats and finishes.
                assert!(store.heartbeat_consolidation("acme", &new.token, LEASE, later + 10).await.expect("beat"));
                assert!(store.succeed_consolidation("acme", &new.token, 5, 0, later + 20).await.expect("succeed"));
            }

            #[tokio::test]
            async fn input_that_arrives_during_a_run_keeps_the_tenant_dirty() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 100, 3, T0).await.expect("enqueue");
                let lease = claimed(&store, "acme", "w1", T0).await;
                // A reflection applies a change while the run works; the
                // running lease is left alone.
                assert_eq!(store.enqueue_consolidation("acme", 101, 3, T0 + 1).await.expect("enqueue"), 101);
                assert_eq!(outcome(&store, "acme", T0 + 2).await, "skipped_running");
                assert!(store.succeed_consolidation("acme", &lease.token, 100, 0, T0 + 3).await.expect("succeed"));
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!((state.input_watermark, state.success_watermark), (101, 100));
                assert!(state.is_dirty());
                assert_eq!(claimed(&store, "acme", "w1", T0 + 4).await.input_watermark, 101);
            }

            #[tokio::test]
            async fn retry_backoff_is_honoured_and_exhausted_retries_wait_for_new_input() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 1, 2, T0).await.expect("enqueue");
                let first = claimed(&store, "acme", "w", T0).await;
                let failed = store.fail_consolidation("acme", &first.token, "llm_timeout", "slow", Some(1_000), T0);
                assert_eq!(failed.await.expect("fail"), FailOutcome::Retrying { at_ms: T0 + 1_000 });
                assert_eq!(outcome(&store, "acme", T0 + 999).await, "skipped_not_dirty", "in backoff");
                assert!(store.due_consolidations(0, 10, T0 + 999).await.expect("due").is_empty());
                assert_eq!(store.due_consolidations(0, 10, T0 + 1_000).await.expect("due"), ["acme"]);
                let second = claimed(&store, "acme", "w", T0 + 1_000).await;
                let failed =
                    store.fail_consolidation("acme", &second.token, "llm_timeout", "slow", Some(1), T0 + 1_001);
                assert_eq!(failed.await.expect("fail"), FailOutcome::Dead);
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!((state.status.as_str(), state.last_error_code.as_deref()), ("dead", Some("llm_timeout")));
                assert_eq!(outcome(&store, "acme", T0 + 99_000).await, "skipped_not_dirty", "retries exhausted");
                // New input resets retries and backoff.
                store.enqueue_consolidation("acme", 2, 2, T0 + 99_000).await.expect("enqueue");
                assert_eq!(outcome(&store, "acme", T0 + 99_000).await, "claimed");
            }

            #[tokio::test]
            async fn new_input_cancels_a_backoff() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 1, 3, T0).await.expect("enqueue");
                let lease = claimed(&store, "acme", "w", T0).await;
                store.fail_consolidation("acme", &lease.token, "c", "m", Some(60_000), T0).await.expect("fail");
                assert_eq!(outcome(&store, "acme", T0 + 1).await, "skipped_not_dirty");
                store.enqueue_consolidation("acme", 2, 3, T0 + 2).await.expect("enqueue");
                assert_eq!(outcome(&store, "acme", T0 + 3).await, "claimed");
            }

            #[tokio::test]
            async fn a_stuck_row_is_failed_when_its_owner_is_gone() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 1, 3, T0).await.expect("enqueue");
                store.enqueue_consolidation("beta", 1, 3, T0).await.expect("enqueue");
                let _stuck = claimed(&store, "acme", "crashed", T0).await;
                let _live = claimed(&store, "beta", "alive", T0 + LEASE).await;
                let gone = store.fail_abandoned_consolidations(T0 + LEASE + 1).await.expect("reap");
                assert_eq!(gone, ["acme"]);
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!((state.status.as_str(), state.last_error_code.as_deref()), ("failed", Some(OWNER_GONE)));
                assert_eq!(state.lease_owner, None);
                assert_eq!(store.consolidation("beta").await.expect("state").expect("row").status, "running");
            }

            /// Issue 9, item 1, for consolidations: each expired lease spends
            /// a retry, and the last ends the run dead with `owner_gone`.
            #[tokio::test]
            async fn issue9_expired_leases_spend_retries_until_the_run_is_dead() {
                let Some((_guard, store)) = $open.await else { return };
                store.enqueue_consolidation("acme", 1, 2, T0).await.expect("enqueue");
                let _first = claimed(&store, "acme", "crashing", T0).await;
                let _second = claimed(&store, "acme", "crashing", T0 + LEASE).await;
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!(state.retries_left, 1);
                assert_eq!(outcome(&store, "acme", T0 + 2 * LEASE).await, "skipped_not_dirty", "retries are spent");
                let state = store.consolidation("acme").await.expect("state").expect("row");
                assert_eq!(
                    (state.status.as_str(), state.last_error_code.as_deref(), state.retries_left, state.runs),
                    ("dead", Some(OWNER_GONE), 0, 2)
                );
                assert!(store.due_consolidations(0, 10, T0 + 3 * LEASE).await.expect("due").is_empty());
            }

            #[tokio::test]
            async fn due_tenants_respect_the_minimum_interval() {
                let Some((_guard, store)) = $open.await else { return };
                for tenant in ["a", "b", "clean"] {
                    store.enqueue_consolidation(tenant, 1, 3, T0).await.expect("enqueue");
                }
                let lease = claimed(&store, "clean", "w", T0).await;
                store.succeed_consolidation("clean", &lease.token, 1, 0, T0).await.expect("succeed");
                let lease = claimed(&store, "a", "w", T0).await;
                store.fail_consolidation("a", &lease.token, "c", "m", Some(0), T0).await.expect("fail");
                // `a` ran at T0; with a 10 s interval only `b` is due.
                assert_eq!(store.due_consolidations(10_000, 10, T0 + 1).await.expect("due"), ["b"]);
                assert_eq!(store.due_consolidations(10_000, 10, T0 + 10_000).await.expect("due"), ["b", "a"]);
                assert_eq!(store.due_consolidations(10_000, 1, T0 + 10_000).await.expect("due"), ["b"]);
            }
        }
    };
}
