//! Status in rounds: a visit can be sent back for correction and submitted
//! again, and every replica still agrees on where it stands.
//!
//! A status write carries a **round** (0 for every op written before rounds
//! existed, so old ops mean what they meant). The register is a max-register
//! over `(round, rank)`, where within a round
//! `draft (0) < submitted (1) < reviewed (2) < returned (3)`:
//!
//! - a **return** closes its round: it is written in the round it sends back,
//!   so it beats a concurrent submit of that round (the officer's phone had
//!   not seen it) and a review of that round;
//! - a **resubmit** after a return is written in the next round
//!   ([`StatusRegister::next_round`]), so it beats the return it has seen;
//! - a **review** of round r beats the submit of round r;
//! - a **concurrent review and return of the same round**: the return wins.
//!   A supervisor who found a mistake must not be silently overruled by a
//!   sign-off that did not see it; the visit goes back, the officer corrects
//!   and resubmits (round r + 1), and it is reviewed again. The opposite
//!   choice would drop the correction without anyone seeing it.
//!
//! Replica ids and clocks never decide the status: among writes of the same
//! `(round, rank)` the first (least stamp, then op id) is kept only to say
//! who reached it and, for a return, whose reason is shown. The latest return
//! (highest round) is also kept apart, so a resubmitted visit still shows why
//! it was sent back. A status this version does not know is kept aside (and
//! relayed through the op log) without changing anything.

use super::VecSet;
use crate::hlc::Stamp;
use crate::ids::OpId;
use crate::vocab::Status;
use serde::{Deserialize, Serialize};

/// A status write that reached the top, by whom and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    /// The status.
    pub status: Status,
    /// Its round.
    #[serde(default)]
    pub round: u32,
    /// The supervisor's reason (a return's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The first write that reached it.
    pub id: OpId,
    /// Its stamp.
    pub stamp: Stamp,
}

impl Reached {
    /// The lattice order: `(round, rank)` decides; among equals the least
    /// `(stamp, id, reason)` is kept (greater here), so the join is a total
    /// order's max whatever the delivery.
    fn beats(&self, other: &Reached) -> bool {
        let key = |r: &Reached| (r.round, r.status.rank().unwrap_or(0));
        match key(self).cmp(&key(other)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                (self.stamp, self.id, &self.reason) < (other.stamp, other.id, &other.reason)
            }
        }
    }
}

/// A max-register over `(round, status)`, plus the latest return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusRegister {
    top: Option<Reached>,
    last_return: Option<Reached>,
    unrecognised: VecSet<String>,
}

impl StatusRegister {
    /// Applies a status write. Idempotent and commutative.
    pub fn apply(
        &mut self,
        status: Status,
        round: u32,
        reason: Option<String>,
        id: OpId,
        stamp: Stamp,
    ) {
        if status.rank().is_none() {
            self.unrecognised.insert(status.as_str().to_owned());
            return;
        }
        self.join(Reached {
            status,
            round,
            reason,
            id,
            stamp,
        });
    }

    fn join(&mut self, w: Reached) {
        if w.status == Status::Returned && self.last_return.as_ref().is_none_or(|c| w.beats(c)) {
            self.last_return = Some(w.clone());
        }
        if self.top.as_ref().is_none_or(|c| w.beats(c)) {
            self.top = Some(w);
        }
    }

    /// Joins another replica's state.
    pub fn merge(&mut self, other: &Self) {
        for r in [&other.top, &other.last_return].into_iter().flatten() {
            self.join(r.clone());
        }
        self.unrecognised.extend_from(&other.unrecognised);
    }

    /// The current status (`draft` when nothing was written).
    pub fn get(&self) -> Status {
        self.top
            .as_ref()
            .map_or(Status::Draft, |r| r.status.clone())
    }

    /// The current round (0 when nothing was written).
    pub fn round(&self) -> u32 {
        self.top.as_ref().map_or(0, |r| r.round)
    }

    /// The round a submit (or draft) written now belongs to: the current one,
    /// or the next when the current one was returned.
    pub fn next_round(&self) -> u32 {
        match &self.top {
            Some(r) if r.status == Status::Returned => r.round.saturating_add(1),
            Some(r) => r.round,
            None => 0,
        }
    }

    /// The write that reached the current status.
    pub fn reached(&self) -> Option<&Reached> {
        self.top.as_ref()
    }

    /// The latest return (highest round), even after the visit was resubmitted.
    pub fn last_return(&self) -> Option<&Reached> {
        self.last_return.as_ref()
    }

    /// Status values from newer clients, kept as sent.
    pub fn unrecognised(&self) -> impl Iterator<Item = &str> {
        self.unrecognised.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::ReplicaId;

    /// `(status, round, replica, wall)` writes applied in order.
    fn check(writes: &[(&str, u32, u128, u64)], expected: (&str, u32)) {
        let mut reg = StatusRegister::default();
        for (i, (s, round, r, wall)) in writes.iter().enumerate() {
            let replica = ReplicaId::from_u128(*r);
            let stamp = Stamp {
                hlc: Hlc::new(*wall, 0),
                replica,
            };
            let reason = (*s == "returned").then(|| "why".to_owned());
            let id = OpId::new(replica, i as u64 + 1);
            reg.apply(Status::parse(s), *round, reason, id, stamp);
        }
        assert_eq!((reg.get().as_str(), reg.round()), expected, "{writes:?}");
    }

    #[test]
    fn table() {
        check(&[], ("draft", 0));
        check(&[("submitted", 0, 1, 10)], ("submitted", 0));
        // A stale device's later "submitted" never undoes "reviewed", whatever the
        // replica ids or clocks.
        check(
            &[("reviewed", 0, 1, 10), ("submitted", 0, 2, 99)],
            ("reviewed", 0),
        );
        check(
            &[("reviewed", 0, 2, 10), ("submitted", 0, 1, 99)],
            ("reviewed", 0),
        );
        check(
            &[
                ("submitted", 0, 9, 99),
                ("reviewed", 0, 1, 1),
                ("draft", 0, 9, 999),
            ],
            ("reviewed", 0),
        );
        // A return beats a concurrent submit of its round…
        check(
            &[("returned", 0, 1, 1), ("submitted", 0, 2, 99)],
            ("returned", 0),
        );
        // …and the resubmit of the next round beats the return.
        check(
            &[("submitted", 1, 2, 5), ("returned", 0, 1, 99)],
            ("submitted", 1),
        );
        // Review and return of the same round: the return wins, either way round.
        check(
            &[("reviewed", 0, 1, 1), ("returned", 0, 2, 2)],
            ("returned", 0),
        );
        check(
            &[("returned", 0, 1, 1), ("reviewed", 0, 2, 2)],
            ("returned", 0),
        );
        // The review of the resubmitted round settles it.
        check(
            &[
                ("returned", 0, 1, 1),
                ("submitted", 1, 2, 2),
                ("reviewed", 1, 1, 3),
            ],
            ("reviewed", 1),
        );
        // Unknown statuses are kept but do not move the rank.
        check(
            &[("submitted", 0, 1, 10), ("archived_v9", 0, 2, 20)],
            ("submitted", 0),
        );
    }

    #[test]
    fn next_round_opens_after_a_return_only() {
        let mut reg = StatusRegister::default();
        let r = ReplicaId::from_u128(1);
        let stamp = Stamp {
            hlc: Hlc::new(1, 0),
            replica: r,
        };
        assert_eq!(reg.next_round(), 0);
        reg.apply(Status::Submitted, 0, None, OpId::new(r, 1), stamp);
        assert_eq!(reg.next_round(), 0);
        reg.apply(
            Status::Returned,
            0,
            Some("x".into()),
            OpId::new(r, 2),
            stamp,
        );
        assert_eq!(reg.next_round(), 1);
        reg.apply(Status::Submitted, 1, None, OpId::new(r, 3), stamp);
        assert_eq!(reg.next_round(), 1);
        assert_eq!(
            reg.last_return().and_then(|x| x.reason.as_deref()),
            Some("x")
        );
    }
}
