//! Healing equivocation: a replica that reused its own op ids (a phone
//! restored from an old backup, a copied browser profile) starts over under a
//! fresh replica id without losing what was typed.
//!
//! The server keeps the first op it received under each id and refuses a
//! different op under the same id (`id_reused`), so every honest replica
//! holds the server's version. The equivocating replica [`Replica::rekey`]s:
//! its own ops from the first refused sequence number on leave the log and
//! are made again, in order, under the new id (same visit, same action, the
//! same clock reading or later; preds and observed tags that named them are
//! renamed). The old ids are then free for the server's versions, which the
//! next pull brings. Every replica ends up holding the same set of ops.

use super::Replica;
use crate::ids::{OpId, ReplicaId};
use crate::op::{Action, Op};
use std::collections::BTreeMap;

impl Replica {
    /// A replica that carries on `id`'s numbering after `held_up_to` without
    /// holding those earlier ops: its next own op is `held_up_to + 1`. For
    /// generators that write a device's log visit by visit (`aidant demo`)
    /// without keeping it all in memory; its version vector claims ops it
    /// does not hold, so it must never serve `missing_for` to a peer.
    pub fn resume(id: ReplicaId, clock: crate::hlc::Clock, held_up_to: u64) -> Replica {
        let mut r = Replica::with_clock(id, clock);
        let slots = r.log.get_or_insert_with(id, Default::default);
        slots.base = held_up_to;
        r.vv.set(id, held_up_to);
        r
    }

    /// This replica's state under `new_id`, with some of its own ops
    /// re-issued as new ops of `new_id` (see the module docs): those whose
    /// sequence number the server `refused` as reused, and those it has not
    /// received yet (after `pushed_up_to`). Own ops the server accepted stay
    /// as they are. Ops that no longer validate are dropped (they were
    /// refused everywhere anyway). Returns the new replica and the ids it
    /// re-issued, old → new.
    pub fn rekey(
        &self,
        new_id: ReplicaId,
        refused: &[u64],
        pushed_up_to: u64,
    ) -> (Replica, Vec<(OpId, OpId)>) {
        let old_id = self.id;
        let mut next = Replica::with_clock(new_id, self.clock.clone());
        let mut mine: Vec<&Op> = Vec::new();
        let kept: Vec<Op> = self
            .log
            .iter()
            .flat_map(|(_, slots)| slots.after(0))
            .filter(|op| {
                let redo = op.id.replica == old_id
                    && (op.id.seq > pushed_up_to || refused.contains(&op.id.seq));
                if redo {
                    mine.push(op);
                }
                !redo
            })
            .cloned()
            .collect();
        for op in kept {
            next.insert(op);
        }
        next.take_bases_of(self, |_| true);
        mine.sort_by_key(|op| op.id.seq);
        let mut renamed: BTreeMap<OpId, OpId> = BTreeMap::new();
        let mut pairs = Vec::with_capacity(mine.len());
        for op in mine {
            let rename = |ids: &[OpId]| -> Vec<OpId> {
                ids.iter()
                    .map(|id| renamed.get(id).copied().unwrap_or(*id))
                    .collect()
            };
            let action = match &op.action {
                Action::Set {
                    target,
                    value,
                    pred,
                } => Action::Set {
                    target: target.clone(),
                    value: value.clone(),
                    pred: rename(pred),
                },
                Action::Remove {
                    set,
                    elem,
                    observed,
                } => Action::Remove {
                    set: set.clone(),
                    elem: elem.clone(),
                    observed: rename(observed),
                },
                other => other.clone(),
            };
            if let Ok(new) = next.commit(op.hlc.wall_ms, op.visit, action) {
                let new_op = new.id;
                renamed.insert(op.id, new_op);
                pairs.push((op.id, new_op));
            }
        }
        (next, pairs)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::ids::{OperationId, ReplicaId, VisitId};
    use crate::model::{Value, VisitField};
    use crate::op::{Op, SetTarget, Target};
    use crate::vocab::LocationKind;
    use crate::{Replica, VisitSet};

    const OP: OperationId = OperationId::from_u128(7);
    const V: VisitId = VisitId::from_u128(70);

    fn postcode(r: &Replica) -> Option<String> {
        r.visit(&V)?.text(&VisitField::Postcode).map(str::to_owned)
    }

    /// A generator's replica carries on a device's numbering without its log.
    #[test]
    fn a_resumed_replica_numbers_on_from_where_the_device_stopped() {
        let id = ReplicaId::from_u128(5);
        let mut r = Replica::resume(id, Default::default(), 41);
        assert_eq!(r.next_seq(), 42);
        r.create_visit(1_000, V, OP, LocationKind::Hotel).unwrap();
        let mine: Vec<u64> = r.own_ops_after(41).map(|o| o.id.seq).collect();
        assert_eq!(mine.first(), Some(&42));
        assert!(mine.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(r.next_seq(), 42 + mine.len() as u64);
    }

    /// A phone restored from a backup reuses sequence numbers the server
    /// already holds with other ops; after rekeying, it and a second phone
    /// (which only ever saw the server's versions) hold the same ops, and
    /// both edits are there.
    #[test]
    fn a_restored_replica_rekeys_and_everyone_converges() {
        let phone_id = ReplicaId::from_u128(1);
        let mut phone = Replica::new(phone_id);
        phone
            .create_visit(1_000, V, OP, LocationKind::CarWash)
            .unwrap();
        let backup = phone.clone();
        // Edited after the backup and synced: the "server" (and phone two) hold it.
        phone
            .set(
                2_000,
                V,
                Target::Visit(VisitField::Postcode),
                Value::Text("OX4 1AA".into()),
            )
            .unwrap();
        let mut server = Replica::new(ReplicaId::from_u128(99));
        server.apply(
            2_000,
            phone
                .missing_for(server.version_vector())
                .cloned()
                .collect::<Vec<Op>>(),
        );
        let mut two = Replica::new(ReplicaId::from_u128(2));
        two.apply(
            2_000,
            server
                .missing_for(two.version_vector())
                .cloned()
                .collect::<Vec<Op>>(),
        );

        // The backup comes back and the officer types under the same seqs.
        let mut restored = backup;
        let before = restored.own_ops_after(0).count() as u64;
        restored
            .add(
                3_000,
                V,
                SetTarget::Visit(VisitSet::PartnerAgencies),
                "glaa",
            )
            .unwrap();
        restored.note(3_001, V, "After the restore.").unwrap();
        let pushed: Vec<Op> = restored.own_ops_after(before).cloned().collect();
        let report = server.apply(3_000, pushed.clone());
        let reused: Vec<u64> = report
            .rejected()
            .iter()
            .filter(|e| e.reason == crate::op::Reason::IdReused)
            .map(|e| e.op.seq)
            .collect();
        assert_eq!(
            reused.len(),
            1,
            "the reused id is refused, the next one accepted"
        );
        // One more edit typed before the phone hears back: never pushed.
        restored.note(3_002, V, "Typed meanwhile.").unwrap();
        let pushed_up_to = pushed.last().unwrap().id.seq;

        let (mut healed, renamed) = restored.rekey(ReplicaId::from_u128(3), &reused, pushed_up_to);
        assert_eq!(renamed.len(), 2, "the refused op and the unpushed one");
        assert!(renamed
            .iter()
            .all(|(_, n)| n.replica == ReplicaId::from_u128(3)));
        // Push the re-issued ops; pull everything the server has.
        let mine: Vec<Op> = healed.own_ops_after(0).cloned().collect();
        let report = server.apply(3_500, mine);
        assert!(report.rejected().is_empty(), "{:?}", report.rejected());
        healed.apply(
            3_600,
            server
                .missing_for(healed.version_vector())
                .cloned()
                .collect::<Vec<Op>>(),
        );
        two.apply(
            3_600,
            server
                .missing_for(two.version_vector())
                .cloned()
                .collect::<Vec<Op>>(),
        );
        server.apply(
            3_600,
            healed
                .missing_for(server.version_vector())
                .cloned()
                .collect::<Vec<Op>>(),
        );

        let v = healed.visit(&V).unwrap();
        assert_eq!(Some(v), two.visit(&V));
        assert_eq!(Some(v), server.visit(&V));
        assert_eq!(postcode(&healed).as_deref(), Some("OX4 1AA"));
        assert!(v.has(&VisitSet::PartnerAgencies, "glaa"));
        assert_eq!(v.notes().count(), 2);
        assert_eq!(healed.op_count(), server.op_count());
    }
}
