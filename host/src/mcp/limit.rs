//! The per-session rate limit on `memory_propose` (issue 14, item 3): a
//! token bucket per session that holds `per_minute` proposals and refills
//! at `per_minute` a minute, so a burst up to the limit passes and a
//! steady stream above it is refused with how long to wait.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Sessions whose bucket is kept; the oldest is dropped past this, which
/// at worst gives a forgotten session a full bucket again.
const MAX_SESSIONS: usize = 10_000;

/// One bucket per session.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// At most `per_minute` proposals a minute per session; 0 turns the
    /// limit off.
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one proposal from `session`'s bucket at `now`, or says how long
    /// until one is there.
    pub fn take(&self, session: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_SESSIONS
            && !buckets.contains_key(session)
            && let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| k.clone())
        {
            buckets.remove(&oldest);
        }
        let bucket = buckets.entry(session.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_gets_its_burst_then_waits_and_others_are_not_touched() {
        let limit = RateLimit::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.take("a", t0), Ok(()));
        }
        let wait = limit.take("a", t0).expect_err("the fourth is refused");
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "{wait:?}");
        assert_eq!(limit.take("b", t0), Ok(()), "another session has its own bucket");
        assert_eq!(limit.take("a", t0 + Duration::from_secs(20)), Ok(()), "one came back after 20 s");
        assert!(limit.take("a", t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limit = RateLimit::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| limit.take("a", t0).is_ok()));
    }
}
