//! A small fixed-window rate limiter for login and enrolment attempts, keyed
//! by source address and by code, kept in each instance's memory: a shield
//! against floods that costs no database work.
//!
//! Failed logins are counted in the database instead (`db::throttle`), per
//! account and source (so failures from other addresses never lock the
//! owner out) and per account from everywhere (which only slows its logins
//! down a little; see `api::session`), the same at every instance.

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
}
