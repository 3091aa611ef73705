//! Retention: a phone forgets visits it no longer needs, so a phone lost
//! after a week of action holds days, not months.
//!
//! A visit is forgotten when its day (Europe/London, from `started_at`) plus
//! its operation's retention period is before today, and only once it is
//! synced: no op of this replica on it after `acked` (what the server has
//! acknowledged). Its ops leave the log; this replica's own numbering goes on
//! from where it was (the forgotten own ops stay counted, and the count is
//! saved), so a forgetful phone never reuses an op id. Forgetting is local:
//! the visit stays on the server and on other phones.

use super::Replica;
use crate::ids::{OperationId, VisitId};
use crate::summary::london_date;
use std::collections::{BTreeMap, BTreeSet};

impl Replica {
    /// The visits that have expired at `now_ms` under `retention_days` per
    /// operation (operations not listed keep their visits), leaving out any
    /// with own ops after `acked` (not yet synced) and any without a start.
    pub fn expired(
        &self,
        now_ms: u64,
        retention_days: &BTreeMap<OperationId, u32>,
        acked: u64,
    ) -> BTreeSet<VisitId> {
        let today = london_date(i64::try_from(now_ms).unwrap_or(i64::MAX)).days_since_epoch();
        let unsynced: BTreeSet<VisitId> = self.own_ops_after(acked).map(|o| o.visit).collect();
        self.visits()
            .filter(|v| !unsynced.contains(&v.id()))
            .filter(|v| {
                let (Some(op), Some(start)) = (v.operation(), v.started_at()) else {
                    return false;
                };
                let Some(days) = retention_days.get(&op) else {
                    return false;
                };
                london_date(start).days_since_epoch() + i64::from(*days) < today
            })
            .map(|v| v.id())
            .collect()
    }

    /// This replica without the ops of `visits` (see the module docs).
    pub fn forget(&self, visits: &BTreeSet<VisitId>) -> Replica {
        let mut next = Replica::resume(self.id, self.clock.clone(), self.next_seq() - 1);
        let kept: Vec<_> = self
            .log
            .iter()
            .flat_map(|(_, slots)| slots.after(0))
            .filter(|op| !visits.contains(&op.visit))
            .cloned()
            .collect();
        for op in kept {
            next.insert(op);
        }
        next.take_bases_of(self, |v| !visits.contains(v));
        next
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::ids::{OperationId, ReplicaId, VisitId};
    use crate::model::{Value, VisitField};
    use crate::op::Target;
    use crate::vocab::LocationKind;
    use crate::Replica;
    use std::collections::BTreeMap;

    const OP: OperationId = OperationId::from_u128(9);
    const DAY: u64 = 86_400_000;
    /// 2026-11-23 12:00 UTC.
    const MONDAY: u64 = 1_795_435_200_000;

    #[test]
    fn synced_visits_past_retention_are_forgotten_and_numbering_goes_on() {
        let me = ReplicaId::from_u128(1);
        let mut r = Replica::new(me);
        let (old, recent, unsynced) = (
            VisitId::from_u128(1),
            VisitId::from_u128(2),
            VisitId::from_u128(3),
        );
        r.create_visit(MONDAY, old, OP, LocationKind::Hotel)
            .unwrap();
        r.create_visit(MONDAY, unsynced, OP, LocationKind::CarWash)
            .unwrap();
        r.create_visit(MONDAY + 6 * DAY, recent, OP, LocationKind::NailBar)
            .unwrap();
        let acked = r.next_seq() - 1;
        // An edit to the old unsynced visit, not yet acknowledged.
        r.set(
            MONDAY + 9 * DAY,
            unsynced,
            Target::Visit(VisitField::PremisesName),
            Value::Text("Bubbles".into()),
        )
        .unwrap();
        let keep = BTreeMap::from([(OP, 7)]);

        // Day 7 after Monday: nothing is past "its day + 7 days" yet.
        assert!(r.expired(MONDAY + 7 * DAY, &keep, acked).is_empty());
        // Day 9: the old synced visit goes; the unsynced one stays.
        let gone = r.expired(MONDAY + 9 * DAY, &keep, acked);
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), vec![old]);
        let before = r.next_seq();
        let small = r.forget(&[old].into());
        assert!(small.visit(&old).is_none());
        assert!(small.visit(&unsynced).is_some() && small.visit(&recent).is_some());
        assert_eq!(small.next_seq(), before, "numbering goes on");
        assert_eq!(
            small.own_ops_after(acked).count(),
            r.own_ops_after(acked).count(),
            "unsynced ops still to send"
        );
        // Saved and loaded, it still numbers on and never reuses an id.
        let mut again = Replica::load(&small.save()).unwrap();
        assert_eq!(again.next_seq(), before);
        let op = again
            .note(MONDAY + 9 * DAY, recent, "After forgetting.")
            .unwrap();
        assert_eq!(op.id.seq, before);
        // An operation without a retention keeps everything.
        assert!(r
            .expired(MONDAY + 400 * DAY, &BTreeMap::new(), acked)
            .is_empty());
    }
}
