//! A small fixed-window rate limiter for login and enrolment, keyed by source
//! address and by account or code, kept in memory.
//!
//! Login counts attempts per source address ([`RateLimiter::check`]) but
//! *failures* per account and source ([`RateLimiter::peek`] before checking
//! the password, [`RateLimiter::hit`] after a wrong one), so failures from
//! other addresses never lock the owner out. Failures on an account from
//! everywhere only slow its logins down a little (see `api::session`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts allowed per key per window.
pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// `per_window` attempts per `window` for each key.
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for every key; `Err(seconds)` when any is over its limit.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), u64> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > 100_000 {
            let window = self.window;
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let mut wait = None;
        for k in keys {
            let e = hits.entry(k.clone()).or_insert((now, 0));
            if now.duration_since(e.0) >= self.window {
                *e = (now, 0);
            }
            e.1 += 1;
            if e.1 > self.per_window {
                let left = self
                    .window
                    .saturating_sub(now.duration_since(e.0))
                    .as_secs()
                    .max(1);
                wait = Some(wait.map_or(left, |w: u64| w.max(left)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    fn left(&self, start: Instant, now: Instant) -> u64 {
        self.window
            .saturating_sub(now.duration_since(start))
            .as_secs()
            .max(1)
    }

    /// `Err(seconds)` when `key` already has its limit in this window;
    /// counts nothing.
    pub fn peek(&self, key: &str, now: Instant) -> Result<(), u64> {
        let hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        match hits.get(key) {
            Some((start, n))
                if now.duration_since(*start) < self.window && *n >= self.per_window =>
            {
                Err(self.left(*start, now))
            }
            _ => Ok(()),
        }
    }

    /// Counts one for `key`; returns the count in its window so far.
    pub fn hit(&self, key: &str, now: Instant) -> u32 {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > 100_000 {
            let window = self.window;
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let e = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    /// The count for `key` in its current window.
    pub fn count(&self, key: &str, now: Instant) -> u32 {
        let hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        match hits.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window => *n,
            _ => 0,
        }
    }

    /// Forgets `key` (after a success).
    pub fn clear(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_resets_after_the_window() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        let k = |s: &str| vec![s.to_string()];
        assert!(rl.check(&k("ip:1"), t).is_ok());
        assert!(rl.check(&k("ip:1"), t).is_ok());
        assert_eq!(rl.check(&k("ip:1"), t + Duration::from_secs(10)), Err(50));
        assert!(rl.check(&k("ip:2"), t).is_ok());
        assert!(rl.check(&k("ip:1"), t + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn failures_are_counted_only_when_hit_and_peek_counts_nothing() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        let t = Instant::now();
        for _ in 0..10 {
            assert!(rl.peek("fail:admin:10.0.0.1", t).is_ok());
        }
        for n in 1..=3 {
            assert_eq!(rl.hit("fail:admin:10.0.0.1", t), n);
        }
        assert_eq!(
            rl.peek("fail:admin:10.0.0.1", t + Duration::from_secs(20)),
            Err(40)
        );
        // Another source for the same account is not affected.
        assert!(rl.peek("fail:admin:10.0.0.2", t).is_ok());
        assert_eq!(rl.count("fail:admin:10.0.0.1", t), 3);
        rl.clear("fail:admin:10.0.0.1");
        assert!(rl.peek("fail:admin:10.0.0.1", t).is_ok());
        rl.hit("fail:admin:10.0.0.1", t);
        assert!(rl
            .peek("fail:admin:10.0.0.1", t + Duration::from_secs(61))
            .is_ok());
        assert_eq!(
            rl.count("fail:admin:10.0.0.1", t + Duration::from_secs(61)),
            0
        );
    }
}
