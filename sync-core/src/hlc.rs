//! Hybrid logical clock with a bound on how far a remote clock may drag ours.
//!
//! The caller passes the wall time (milliseconds since the Unix epoch); nothing
//! here reads a clock. A stamp is `(wall_ms, counter)`; ties between replicas are
//! broken by [`ReplicaId`](crate::ReplicaId) in [`Stamp`].
//!
//! Clock skew policy (see ARCHITECTURE.md):
//! * Causality never depends on clocks: a write supersedes exactly the values its
//!   writer had seen (`pred`), so a phone whose clock is hours ahead cannot win a
//!   write made after its value was seen, and a phone hours behind can always
//!   overwrite what it has seen.
//! * Clocks only order *concurrent* values, and those stay visible as a conflict.
//! * A remote stamp more than [`Clock::max_forward_ms`] ahead of our wall time is
//!   not adopted beyond that bound, so one bad phone cannot drag every replica's
//!   clock hours into the future; [`Clock::observe`] reports the skew so the
//!   caller can warn the officer.
//!
//! Range: a valid stamp's wall time is at most [`MAX_WALL_MS`] (2^53 − 1 ms,
//! the year 287,396). Every stamp crosses JSON (read by JavaScript, exact only
//! below 2^53), SQLite (i64) and the wire's clock deltas, so all of them hold
//! it exactly. The bound is absolute, never relative to "now": a phone whose
//! clock is wrong by years still writes. The clock itself never leaves the
//! range: a later wall time is taken as the bound, and once the clock sits at
//! `(MAX_WALL_MS, u32::MAX)` it stays there (ops then share a stamp and are
//! ordered by op id, as ties always are) instead of overflowing.

use crate::ids::ReplicaId;
use serde::{Deserialize, Serialize};

/// The largest wall time a valid stamp may carry: 2^53 − 1 ms (see the module docs).
pub const MAX_WALL_MS: u64 = (1 << 53) - 1;

/// Default bound on how far ahead of local wall time a remote stamp is adopted.
pub const DEFAULT_MAX_FORWARD_MS: u64 = 5 * 60 * 1000;

/// A hybrid logical clock reading.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Wall-clock milliseconds since the Unix epoch (as the writer believed it).
    pub wall_ms: u64,
    /// Logical counter to order events within one millisecond.
    pub counter: u32,
}

impl Hlc {
    /// Builds a reading.
    pub const fn new(wall_ms: u64, counter: u32) -> Self {
        Self { wall_ms, counter }
    }
}

/// A totally ordered stamp: the clock reading, then the replica id as tie-break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Clock reading.
    pub hlc: Hlc,
    /// Writer, breaking ties.
    pub replica: ReplicaId,
}

/// A remote stamp that was further ahead of our wall clock than the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkewWarning {
    /// How far ahead of local wall time the remote stamp was, in milliseconds.
    pub ahead_by_ms: u64,
}

/// The local clock state of one replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    last: Hlc,
    max_forward_ms: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FORWARD_MS)
    }
}

impl Clock {
    /// A fresh clock with the given forward bound.
    pub const fn new(max_forward_ms: u64) -> Self {
        Self {
            last: Hlc::new(0, 0),
            max_forward_ms,
        }
    }

    /// The bound on adopting remote stamps ahead of local wall time.
    pub fn max_forward_ms(&self) -> u64 {
        self.max_forward_ms
    }

    /// The last reading issued or adopted.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// The reading [`Clock::tick`] would give at wall time `wall_ms`, without
    /// taking it.
    pub fn peek(&self, wall_ms: u64) -> Hlc {
        let wall = wall_ms.min(MAX_WALL_MS);
        let last = self.last;
        if wall > last.wall_ms {
            Hlc::new(wall, 0)
        } else if last.counter < u32::MAX {
            Hlc::new(last.wall_ms, last.counter + 1)
        } else if last.wall_ms < MAX_WALL_MS {
            Hlc::new(last.wall_ms + 1, 0)
        } else {
            // Saturated: see the module docs.
            last
        }
    }

    /// A new reading for a local event at wall time `wall_ms`; strictly greater
    /// than every reading before it until the clock saturates at
    /// `(MAX_WALL_MS, u32::MAX)`. Never above [`MAX_WALL_MS`].
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        self.last = self.peek(wall_ms);
        self.last
    }

    /// Takes note of a remote reading received at local wall time `wall_ms`.
    /// Readings up to `wall_ms + max_forward_ms` (and [`MAX_WALL_MS`]) are
    /// adopted; beyond that the clock advances only to the bound and the skew
    /// is reported.
    pub fn observe(&mut self, remote: Hlc, wall_ms: u64) -> Option<SkewWarning> {
        let bound = wall_ms.saturating_add(self.max_forward_ms).min(MAX_WALL_MS);
        if remote.wall_ms <= bound {
            self.last = self.last.max(remote);
            None
        } else {
            self.last = self.last.max(Hlc::new(bound, 0));
            Some(SkewWarning {
                ahead_by_ms: remote.wall_ms.saturating_sub(wall_ms),
            })
        }
    }

    /// Restores a clock from a persisted reading (brought into range).
    pub fn restore(last: Hlc, max_forward_ms: u64) -> Self {
        Self {
            last: last.min(Hlc::new(MAX_WALL_MS, u32::MAX)),
            max_forward_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn tick_is_strictly_monotonic_even_when_wall_goes_back() {
        let mut c = Clock::default();
        let a = c.tick(1_000);
        let b = c.tick(1_000);
        let d = c.tick(500);
        let e = c.tick(2_000);
        assert!(a < b && b < d && d < e);
        assert_eq!(e, Hlc::new(2_000, 0));
    }

    #[test]
    fn observe_adopts_within_bound_and_caps_beyond() {
        let mut c = Clock::new(60_000);
        assert_eq!(c.observe(Hlc::new(30_000, 4), 0), None);
        assert_eq!(c.last(), Hlc::new(30_000, 4));
        let w = c.observe(Hlc::new(3_600_000, 0), 0).unwrap();
        assert_eq!(w.ahead_by_ms, 3_600_000);
        assert_eq!(c.last(), Hlc::new(60_000, 0));
        // The next local event is after what we adopted, not an hour ahead.
        assert_eq!(c.tick(0), Hlc::new(60_000, 1));
    }

    /// The extremes the issue names: 0, 2^53, 2^61, 2^63 and u64::MAX, as
    /// remote stamps, as local wall times and as restored readings.
    #[test]
    fn clock_never_overflows_or_leaves_the_range_at_the_extremes() {
        let walls = [0, MAX_WALL_MS, 1 << 53, 1 << 61, 1 << 63, u64::MAX];
        let counters = [0, 1, u32::MAX];
        for &now in &walls {
            for &remote in &walls {
                for &counter in &counters {
                    let mut c = Clock::default();
                    c.observe(Hlc::new(remote, counter), now);
                    let a = c.tick(now);
                    let b = c.tick(now);
                    assert!(a.wall_ms <= MAX_WALL_MS && b.wall_ms <= MAX_WALL_MS);
                    assert!(a <= b, "{now} {remote} {counter}: {a:?} then {b:?}");
                    let mut r = Clock::restore(Hlc::new(remote, counter), 0);
                    assert!(r.tick(now).wall_ms <= MAX_WALL_MS);
                }
            }
        }
    }

    #[test]
    fn tick_after_adopting_the_largest_stamp_does_not_wrap_to_zero() {
        let mut c = Clock::default();
        c.observe(Hlc::new(u64::MAX, u32::MAX), u64::MAX);
        assert_eq!(c.last(), Hlc::new(MAX_WALL_MS, 0));
        assert_eq!(c.tick(u64::MAX), Hlc::new(MAX_WALL_MS, 1));
        // At the very top the clock saturates instead of overflowing.
        let mut c = Clock::restore(Hlc::new(MAX_WALL_MS, u32::MAX), 0);
        assert_eq!(c.tick(u64::MAX), Hlc::new(MAX_WALL_MS, u32::MAX));
        // Below it, a full counter carries into the wall time.
        let mut c = Clock::restore(Hlc::new(5, u32::MAX), 0);
        assert_eq!(c.tick(0), Hlc::new(6, 0));
    }
}
