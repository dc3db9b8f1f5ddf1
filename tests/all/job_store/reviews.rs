//! The review queue's conformance checks, run on every backend through
//! `reviews_conformance!`.

macro_rules! reviews_conformance {
    ($open:expr) => {
        mod reviews {
            use memwarden::jobs::{JobId, JobKind, NewReview, Resolution, ReviewQueue, ReviewStatus};

            use super::*;

            fn held(tenant: &str, job: i64, name: &str, expires_at_ms: u64) -> NewReview {
                NewReview {
                    tenant: tenant.to_string(),
                    job_id: JobId(job),
                    job_kind: JobKind::Reflection,
                    decision_id: format!("dec-{job}"),
                    change: format!(r#"{{"op":"add","name":"{name}"}}"#),
                    decision: r#"{"held":true}"#.to_string(),
                    store_version: "20261201T000000.000Z-job-1".to_string(),
                    created_at_ms: T0,
                    expires_at_ms,
                }
            }

            #[tokio::test]
            async fn held_changes_wait_until_one_reviewer_decides() {
                let Some((_guard, store)) = $open.await else { return };
                let ids = store
                    .add_reviews(&[held("acme", 7, "a", T0 + 1000), held("acme", 7, "b", T0 + 1000)])
                    .await
                    .expect("queue");
                store.add_reviews(&[held("other", 8, "c", T0 + 1000)]).await.expect("queue");
                let counts = store.pending_reviews().await.expect("counts");
                assert_eq!(counts, [("acme".to_string(), 2), ("other".to_string(), 1)]);
                let pending = store.reviews("acme", Some(ReviewStatus::Pending)).await.expect("list");
                assert_eq!(pending.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
                assert_eq!((pending[0].job_id, pending[0].change.as_str()), (7, r#"{"op":"add","name":"a"}"#));

                let approve = Resolution {
                    status: ReviewStatus::Approved,
                    by: "alice",
                    reason: None,
                    snapshot_id: Some("snap-1"),
                    now_ms: T0 + 10,
                };
                assert!(store.resolve_review(ids[0], &approve).await.expect("resolve"));
                let deny = Resolution {
                    status: ReviewStatus::Denied,
                    by: "bob",
                    reason: Some("no"),
                    snapshot_id: None,
                    now_ms: T0 + 11,
                };
                assert!(!store.resolve_review(ids[0], &deny).await.expect("resolve"), "decided once");
                let review = store.review(ids[0]).await.expect("read").expect("exists");
                assert_eq!(review.status, ReviewStatus::Approved);
                assert_eq!(
                    (review.resolved_by.as_deref(), review.snapshot_id.as_deref()),
                    (Some("alice"), Some("snap-1"))
                );

                // What nobody decides in time expires as denied.
                assert_eq!(store.expire_reviews(T0 + 999).await.expect("expire"), Vec::<String>::new());
                let expired = store.expire_reviews(T0 + 1000).await.expect("expire");
                assert_eq!(expired.len(), 2, "{expired:?}");
                assert!(!store.resolve_review(ids[1], &deny).await.expect("resolve"), "expired");
                let all = store.reviews("acme", None).await.expect("list");
                let statuses: Vec<ReviewStatus> = all.iter().map(|r| r.status).collect();
                assert_eq!(statuses, [ReviewStatus::Approved, ReviewStatus::Expired]);
                assert!(store.review(9_999).await.expect("read").is_none());
            }
        }
    };
}
