//! Multi-value register: last writer wins by stamp, but a concurrent overwrite
//! stays visible.
//!
//! Each write names the writes it has seen (`pred`). A write is *live* until some
//! other write names it. Several live writes are a conflict: the one with the
//! greatest [`Stamp`] is the value shown, the others are kept beside it until a
//! write that has seen all of them (pred = every live id) resolves it.
//!
//! State: the live writes and the set of superseded ids. Live = all writes ever
//! delivered minus every id named as a pred, so delivery order does not matter.
//!
//! Cost: a peer chooses how many preds a write names (at most
//! [`MAX_PREDS`](crate::op::MAX_PREDS) for a valid op) and how many writes are
//! concurrent, so both collections are B-trees: applying a write with `p`
//! preds to a register holding `n` ids costs O((p + 1) log n), never O(n).

use super::VecSet;
use crate::hlc::Stamp;
use crate::ids::OpId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One write held by a register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version<V> {
    /// The op that wrote it.
    pub id: OpId,
    /// When (writer's clock) and by which replica.
    pub stamp: Stamp,
    /// The value written.
    pub value: V,
}

/// A multi-value register. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MvRegister<V> {
    /// Live versions by `(stamp, id)`: the greatest is the last.
    live: BTreeMap<(Stamp, OpId), Version<V>>,
    /// The stamp of each live version, by id (to drop a pred without a scan).
    live_stamps: BTreeMap<OpId, Stamp>,
    /// Ids of every write named as a pred by some delivered write.
    superseded: VecSet<OpId>,
}

impl<V> Default for MvRegister<V> {
    fn default() -> Self {
        Self {
            live: BTreeMap::new(),
            live_stamps: BTreeMap::new(),
            superseded: VecSet::default(),
        }
    }
}

impl<V: Clone + PartialEq> MvRegister<V> {
    /// Applies one write. Idempotent; commutative with every other write.
    pub fn apply(&mut self, id: OpId, stamp: Stamp, value: V, pred: &[OpId]) {
        for p in pred {
            // A live id is never superseded, so only a newly superseded id
            // can be live.
            if self.superseded.insert(*p) {
                if let Some(s) = self.live_stamps.remove(p) {
                    self.live.remove(&(s, *p));
                }
            }
        }
        if self.superseded.contains(&id) || self.live_stamps.contains_key(&id) {
            return;
        }
        self.live_stamps.insert(id, stamp);
        self.live.insert((stamp, id), Version { id, stamp, value });
    }

    /// Joins another replica's state of the same register into this one.
    pub fn merge(&mut self, other: &Self) {
        for p in other.superseded.iter() {
            if self.superseded.insert(*p) {
                if let Some(s) = self.live_stamps.remove(p) {
                    self.live.remove(&(s, *p));
                }
            }
        }
        for v in other.live.values() {
            self.apply(v.id, v.stamp, v.value.clone(), &[]);
        }
    }

    /// The value shown: the live write with the greatest stamp.
    pub fn get(&self) -> Option<&V> {
        self.winner().map(|v| &v.value)
    }

    /// The winning write with its id and stamp.
    pub fn winner(&self) -> Option<&Version<V>> {
        self.live.values().next_back()
    }

    /// Every live write, greatest stamp first. More than one is a conflict.
    pub fn versions(&self) -> Vec<&Version<V>> {
        self.live.values().rev().collect()
    }

    /// True when concurrent writes are both live.
    pub fn is_conflict(&self) -> bool {
        self.live.len() > 1
    }

    /// Ids of the writes named as a pred by some delivered write (a
    /// snapshot carries them, so a late copy of such a write stays dead).
    pub(crate) fn superseded(&self) -> impl Iterator<Item = &OpId> {
        self.superseded.iter()
    }

    /// Marks a write as superseded, as if a delivered write had named it.
    pub(crate) fn supersede(&mut self, id: OpId) {
        if self.superseded.insert(id) {
            if let Some(s) = self.live_stamps.remove(&id) {
                self.live.remove(&(s, id));
            }
        }
    }

    /// The ids a new local write must name to supersede what this replica
    /// sees, greatest stamp first.
    pub fn heads(&self) -> Vec<OpId> {
        self.live.values().rev().map(|v| v.id).collect()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::ReplicaId;

    fn w(r: u128, seq: u64, wall: u64) -> (OpId, Stamp) {
        let replica = ReplicaId::from_u128(r);
        (
            OpId::new(replica, seq),
            Stamp {
                hlc: Hlc::new(wall, 0),
                replica,
            },
        )
    }

    /// `(replica, seq, wall, value, preds as (replica, seq))`.
    type Write<'a> = (u128, u64, u64, &'a str, &'a [(u128, u64)]);

    /// Applies writes in order and checks the live values, greatest stamp first.
    fn check(writes: &[Write], expected: &[&str]) {
        let mut reg = MvRegister::default();
        for (r, s, wall, value, pred) in writes {
            let (id, stamp) = w(*r, *s, *wall);
            let pred: Vec<OpId> = pred
                .iter()
                .map(|(pr, ps)| OpId::new(ReplicaId::from_u128(*pr), *ps))
                .collect();
            reg.apply(id, stamp, value.to_string(), &pred);
        }
        let live: Vec<&str> = reg.versions().iter().map(|v| v.value.as_str()).collect();
        assert_eq!(live, expected, "writes {writes:?}");
    }

    #[test]
    fn table() {
        // Sequential overwrite: the later write names the earlier.
        check(&[(1, 1, 10, "a", &[]), (2, 1, 5, "b", &[(1, 1)])], &["b"]);
        // Same, delivered in reverse: the superseded write never becomes live.
        check(&[(2, 1, 5, "b", &[(1, 1)]), (1, 1, 10, "a", &[])], &["b"]);
        // Concurrent: both kept, greatest stamp first.
        check(&[(1, 1, 10, "a", &[]), (2, 1, 20, "b", &[])], &["b", "a"]);
        // Equal wall times: replica id breaks the tie.
        check(&[(2, 1, 10, "b", &[]), (1, 1, 10, "a", &[])], &["b", "a"]);
        // A write that saw both resolves the conflict.
        check(
            &[
                (1, 1, 10, "a", &[]),
                (2, 1, 20, "b", &[]),
                (1, 2, 30, "c", &[(1, 1), (2, 1)]),
            ],
            &["c"],
        );
        // A write that saw only one leaves the other in conflict.
        check(
            &[
                (1, 1, 10, "a", &[]),
                (2, 1, 20, "b", &[]),
                (1, 2, 30, "c", &[(1, 1)]),
            ],
            &["c", "b"],
        );
        // Duplicate delivery is a no-op.
        check(&[(1, 1, 10, "a", &[]), (1, 1, 10, "a", &[])], &["a"]);
        // A far-future concurrent write wins the display but the other stays visible,
        // and a later write that saw it wins whatever the clocks say.
        check(
            &[(1, 1, 99_999_999, "skewed", &[]), (2, 1, 10, "b", &[])],
            &["skewed", "b"],
        );
        check(
            &[
                (1, 1, 99_999_999, "skewed", &[]),
                (2, 1, 10, "fixed", &[(1, 1)]),
            ],
            &["fixed"],
        );
    }

    #[test]
    fn merge_joins_states() {
        let mut a = MvRegister::default();
        let mut b = MvRegister::default();
        let (i1, s1) = w(1, 1, 10);
        let (i2, s2) = w(2, 1, 20);
        a.apply(i1, s1, "a", &[]);
        b.apply(i2, s2, "b", &[]);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert!(ab.is_conflict());
        assert_eq!(ab.get(), Some(&"b"));
        let (i3, s3) = w(1, 2, 30);
        ab.apply(i3, s3, "c", &ab.heads());
        a.merge(&ab);
        assert_eq!(a.versions().len(), 1);
        assert_eq!(a.get(), Some(&"c"));
    }
}
