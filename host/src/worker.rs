//! A worker: `concurrency` reflection loops that claim and run jobs, and one
//! consolidation loop that consolidates dirty tenants as they come due —
//! until told to stop, when the jobs in flight finish first. Used by
//! `memwarden worker` and `memwarden serve`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::consolidation::{self, Consolidator};
use crate::jobs::{JobKind, JobStore};
use crate::reflection::{self, Reflector, now_ms};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Reflection jobs run at once.
    pub concurrency: usize,
    /// Sleep when the queue is empty.
    pub poll: Duration,
    /// Stop once the reflection queue is empty and no tenant is due.
    pub drain: bool,
    /// Consolidate dirty tenants; `None` leaves that to others.
    pub consolidation: Option<Schedule>,
}

/// When the worker looks for dirty tenants.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How often to look.
    pub check: Duration,
    /// At least this long between two starts for one tenant.
    pub min_interval: Duration,
}

/// What a worker finished.
pub enum Finished<'a> {
    /// A reflection job's attempt.
    Reflection(&'a reflection::Report),
    /// A consolidation attempt.
    Consolidation(&'a consolidation::Report),
}

/// Runs until `stop` turns true (or, draining, until there is no work).
pub async fn run<S: JobStore + 'static>(
    reflector: Arc<Reflector<S>>,
    consolidator: Arc<Consolidator<S>>,
    options: Options,
    stop: watch::Receiver<bool>,
    on_finished: Arc<dyn Fn(Finished<'_>) + Send + Sync>,
) {
    let loops: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| tokio::spawn(reflection_loop(reflector.clone(), stop.clone(), options.clone(), on_finished.clone())))
        .collect();
    let (reflections_done, reflections_done_rx) = watch::channel(false);
    let consolidating = options.consolidation.map(|schedule| {
        let drain = options.drain.then_some(reflections_done_rx);
        tokio::spawn(consolidation_loop(consolidator, stop.clone(), schedule, drain, on_finished.clone()))
    });
    for handle in loops {
        if let Err(err) = handle.await {
            tracing::error!(error = %err, "a reflection loop panicked");
        }
    }
    let _ = reflections_done.send(true);
    if let Some(handle) = consolidating
        && let Err(err) = handle.await
    {
        tracing::error!(error = %err, "the consolidation loop panicked");
    }
}

/// How often an idle reflection loop expires overdue reviews.
const REVIEW_EXPIRY_PERIOD_MS: u64 = 60_000;

async fn reflection_loop<S: JobStore>(
    reflector: Arc<Reflector<S>>,
    mut stop: watch::Receiver<bool>,
    options: Options,
    on_finished: Arc<dyn Fn(Finished<'_>) + Send + Sync>,
) {
    let lease = reflector.settings.lease.as_millis() as u64;
    let mut reviews_expired_at = 0;
    while !*stop.borrow() {
        match reflector.jobs.claim(JobKind::Reflection, &reflector.settings.worker, lease, now_ms()).await {
            Ok(Some(claim)) => on_finished(Finished::Reflection(&reflector.run(claim).await)),
            Ok(None) if options.drain => return,
            Ok(None) => {
                // Idle: expire the reviews nobody decided in time, once a
                // minute at most.
                if now_ms().saturating_sub(reviews_expired_at) >= REVIEW_EXPIRY_PERIOD_MS {
                    reviews_expired_at = now_ms();
                    if let Err(err) = reflector.expire_reviews(reviews_expired_at).await {
                        tracing::error!(error = %err, code = err.code(), "cannot expire reviews");
                    }
                }
                // Jittered, so idle loops do not poll the database in step.
                let pause = options.poll.mul_f64(0.5 + fastrand::f64());
                let _ = tokio::time::timeout(pause, stop.changed()).await;
            }
            Err(err) => {
                tracing::error!(error = %err, code = err.code(), "cannot claim; retrying");
                let _ = tokio::time::timeout(options.poll * 4, stop.changed()).await;
            }
        }
    }
}

/// Consolidates due tenants one at a time, beside the reflection loops.
/// Draining (`drain` is set), it starts once the reflection queue is empty
/// and ends when no tenant is due.
async fn consolidation_loop<S: JobStore>(
    consolidator: Arc<Consolidator<S>>,
    mut stop: watch::Receiver<bool>,
    schedule: Schedule,
    drain: Option<watch::Receiver<bool>>,
    on_finished: Arc<dyn Fn(Finished<'_>) + Send + Sync>,
) {
    if let Some(mut done) = drain.clone() {
        let _ = done.wait_for(|done| *done).await;
    }
    let min_interval_ms = schedule.min_interval.as_millis() as u64;
    while !*stop.borrow() {
        let now = now_ms();
        if let Err(err) = consolidator.jobs.fail_abandoned_consolidations(now).await {
            tracing::error!(error = %err, code = err.code(), "cannot fail abandoned consolidations");
        }
        let due = match consolidator.jobs.due_consolidations(min_interval_ms, 16, now).await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(error = %err, code = err.code(), "cannot list due consolidations");
                Vec::new()
            }
        };
        for tenant in &due {
            if *stop.borrow() {
                return;
            }
            on_finished(Finished::Consolidation(&consolidator.run(tenant, &|_| {}).await));
        }
        if due.is_empty() && drain.is_some() {
            return;
        }
        if due.is_empty() {
            let _ = tokio::time::timeout(schedule.check, stop.changed()).await;
        }
    }
}
