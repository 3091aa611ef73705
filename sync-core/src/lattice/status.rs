//! Status that never goes backwards: `draft < submitted < reviewed`.
//!
//! The register keeps the highest rank reached and the first write (least stamp)
//! that reached it, so "who submitted" and "who reviewed" are deterministic.
//! Replica ids play no part in the rank. A status this version does not know is
//! kept aside (and relayed through the op log) without changing the rank.

use super::VecSet;
use crate::hlc::Stamp;
use crate::ids::OpId;
use crate::vocab::Status;
use serde::{Deserialize, Serialize};

/// The highest status reached, by whom and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    /// The status.
    pub status: Status,
    /// The first write that reached it.
    pub id: OpId,
    /// Its stamp.
    pub stamp: Stamp,
}

/// A max-register over [`Status`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusRegister {
    top: Option<Reached>,
    unrecognised: VecSet<String>,
}

impl StatusRegister {
    /// Applies a status write. Idempotent and commutative.
    pub fn apply(&mut self, status: Status, id: OpId, stamp: Stamp) {
        let Some(rank) = status.rank() else {
            self.unrecognised.insert(status.as_str().to_owned());
            return;
        };
        let replace = match &self.top {
            None => true,
            Some(cur) => {
                let cur_rank = cur.status.rank().unwrap_or(0);
                rank > cur_rank || (rank == cur_rank && (stamp, id) < (cur.stamp, cur.id))
            }
        };
        if replace {
            self.top = Some(Reached { status, id, stamp });
        }
    }

    /// Joins another replica's state.
    pub fn merge(&mut self, other: &Self) {
        if let Some(r) = &other.top {
            self.apply(r.status.clone(), r.id, r.stamp);
        }
        self.unrecognised.extend_from(&other.unrecognised);
    }

    /// The current status (`draft` when nothing was written).
    pub fn get(&self) -> Status {
        self.top
            .as_ref()
            .map_or(Status::Draft, |r| r.status.clone())
    }

    /// The write that reached the current status.
    pub fn reached(&self) -> Option<&Reached> {
        self.top.as_ref()
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

    fn check(writes: &[(&str, u128, u64)], expected: &str) {
        let mut reg = StatusRegister::default();
        for (i, (s, r, wall)) in writes.iter().enumerate() {
            let replica = ReplicaId::from_u128(*r);
            let stamp = Stamp {
                hlc: Hlc::new(*wall, 0),
                replica,
            };
            reg.apply(Status::parse(s), OpId::new(replica, i as u64 + 1), stamp);
        }
        assert_eq!(reg.get().as_str(), expected, "{writes:?}");
    }

    #[test]
    fn table() {
        check(&[], "draft");
        check(&[("submitted", 1, 10)], "submitted");
        // A stale device's later "submitted" never undoes "reviewed", whatever the
        // replica ids or clocks.
        check(&[("reviewed", 1, 10), ("submitted", 2, 99)], "reviewed");
        check(&[("reviewed", 2, 10), ("submitted", 1, 99)], "reviewed");
        check(
            &[("submitted", 9, 99), ("reviewed", 1, 1), ("draft", 9, 999)],
            "reviewed",
        );
        // Unknown statuses are kept but do not move the rank.
        check(&[("submitted", 1, 10), ("archived_v9", 2, 20)], "submitted");
    }
}
