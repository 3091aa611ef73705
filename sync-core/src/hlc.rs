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

use crate::ids::ReplicaId;
use serde::{Deserialize, Serialize};

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

    /// A new reading for a local event at wall time `wall_ms`; strictly greater
    /// than every reading before it.
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        self.last = if wall_ms > self.last.wall_ms {
            Hlc::new(wall_ms, 0)
        } else if self.last.counter == u32::MAX {
            Hlc::new(self.last.wall_ms + 1, 0)
        } else {
            Hlc::new(self.last.wall_ms, self.last.counter + 1)
        };
        self.last
    }

    /// Takes note of a remote reading received at local wall time `wall_ms`.
    /// Readings up to `wall_ms + max_forward_ms` are adopted; beyond that the
    /// clock advances only to the bound and the skew is reported.
    pub fn observe(&mut self, remote: Hlc, wall_ms: u64) -> Option<SkewWarning> {
        let bound = wall_ms.saturating_add(self.max_forward_ms);
        if remote.wall_ms <= bound {
            self.last = self.last.max(remote);
            None
        } else {
            self.last = self.last.max(Hlc::new(bound, 0));
            Some(SkewWarning {
                ahead_by_ms: remote.wall_ms - wall_ms,
            })
        }
    }

    /// Restores a clock from a persisted reading.
    pub fn restore(last: Hlc, max_forward_ms: u64) -> Self {
        Self {
            last,
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
}
