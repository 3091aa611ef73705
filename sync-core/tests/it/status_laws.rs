//! Property tests (native) for the status lattice with rounds and returns:
//! the register's apply is order- and duplicate-independent, its merge is a
//! join (commutative, associative, idempotent), and whole replicas that
//! return, resubmit, review, void and un-void converge under any delivery
//! order, duplication and loss, whatever the replica ids and clocks.

use proptest::prelude::*;
use sync_core::lattice::StatusRegister;
use sync_core::*;

/// A status write: (status index, round, replica, wall, reason index).
type Write = (u8, u32, u8, u16, u8);

const STATUSES: [&str; 5] = ["draft", "submitted", "reviewed", "returned", "archived_v9"];

fn reg_from(ws: &[Write], order: &[usize]) -> StatusRegister {
    let mut reg = StatusRegister::default();
    for &i in order {
        let (s, round, r, wall, why) = ws[i];
        let status = Status::parse(STATUSES[s as usize]);
        let reason = (status == Status::Returned).then(|| format!("reason {why}"));
        let replica = ReplicaId::from_u128(u128::from(r));
        let stamp = Stamp {
            hlc: Hlc::new(u64::from(wall), 0),
            replica,
        };
        // Unique op ids: the position in the list.
        reg.apply(
            status,
            round,
            reason,
            OpId::new(replica, i as u64 + 1),
            stamp,
        );
    }
    reg
}

fn writes() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0u8..5, 0u32..3, 0u8..3, 0u16..8, 0u8..3), 0..14)
}

fn join(x: &StatusRegister, y: &StatusRegister) -> StatusRegister {
    let mut z = x.clone();
    z.merge(y);
    z
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// Any order, any duplication: the same register, and its status is the
    /// greatest `(round, rank)` written.
    #[test]
    fn status_apply_is_order_and_duplicate_independent(ws in writes(), seed in any::<u64>(), dups in prop::collection::vec(0usize..14, 0..6)) {
        let straight: Vec<usize> = (0..ws.len()).collect();
        let mut shuffled = straight.clone();
        shuffled.extend(dups.iter().filter(|&&d| d < ws.len()));
        crate::world::Rng::new(seed).shuffle(&mut shuffled);
        let a = reg_from(&ws, &straight);
        prop_assert_eq!(&a, &reg_from(&ws, &shuffled));
        let top = ws
            .iter()
            .filter_map(|w| Status::parse(STATUSES[w.0 as usize]).rank().map(|r| (w.1, r)))
            .max()
            .unwrap_or((0, 0));
        prop_assert_eq!((a.round(), a.get().rank().unwrap()), top);
    }

    #[test]
    fn status_merge_is_a_join(ws in writes(), cut1 in 0usize..14, cut2 in 0usize..14) {
        let idx: Vec<usize> = (0..ws.len()).collect();
        let (c1, c2) = (cut1.min(ws.len()), cut2.min(ws.len()));
        let a = reg_from(&ws, &idx[..c1]);
        let b = reg_from(&ws, &idx[c1.min(c2)..]);
        let c = reg_from(&ws, &idx[c2..]);
        prop_assert_eq!(join(&a, &b), join(&b, &a));
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
        prop_assert_eq!(join(&a, &a), a.clone());
        // The join of states is the state of the union of writes.
        let mut all: Vec<usize> = idx[..c1].to_vec();
        all.extend(&idx[c1.min(c2)..]);
        all.sort_unstable();
        all.dedup();
        prop_assert_eq!(join(&a, &b), reg_from(&ws, &all));
    }

    /// Two supervisors' phones and two officers' phones return, resubmit,
    /// review, void and un-void the same visit offline with arbitrary clocks
    /// and replica ids; after random partial, duplicated, shuffled syncs and
    /// then a full one, all agree.
    #[test]
    fn returns_and_voids_converge(seed in any::<u64>(), ids in prop::collection::vec(any::<u128>(), 4), steps in 1usize..60) {
        let mut rng = crate::world::Rng::new(seed);
        let v = VisitId::from_u128(7);
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        prop_assume!(ids.len() == 4);
        let mut reps: Vec<Replica> = ids.iter().map(|i| Replica::new(ReplicaId::from_u128(*i))).collect();
        reps[0].create_visit(1_000, v, OperationId::from_u128(1), LocationKind::Hotel).unwrap();
        for step in 0..steps {
            let i = rng.below(4) as usize;
            let now = 1_000 + rng.below(1_000_000);
            let r = &mut reps[i];
            if r.visit(&v).is_some() {
                let _ = match rng.below(6) {
                    0 => r.set_status(now, v, Status::Submitted).map(|_| ()),
                    1 => r.set_status(now, v, Status::Reviewed).map(|_| ()),
                    2 => r.return_visit(now, v, &format!("fix {step}")).map(|_| ()),
                    3 => r.void(now, v, "entered twice").map(|_| ()),
                    4 => r.unvoid(now, v).map(|_| ()),
                    _ => r.set(now, v, Target::Visit(VisitField::Address), Value::Text(format!("{step} High St"))).map(|_| ()),
                };
            }
            let (from, to) = (rng.below(4) as usize, rng.below(4) as usize);
            if from != to {
                let mut ops: Vec<Op> = reps[from].missing_for(reps[to].version_vector()).cloned().collect();
                ops.retain(|_| rng.chance(60));
                let dup: Vec<Op> = ops.iter().filter(|_| rng.chance(20)).cloned().collect();
                ops.extend(dup);
                rng.shuffle(&mut ops);
                let bytes = wire::encode(&ops);
                let report = reps[to].apply(now, wire::decode(&bytes).unwrap());
                prop_assert!(report.rejected().is_empty());
            }
        }
        for _ in 0..2 {
            for a in 0..4 {
                for b in 0..4 {
                    if a != b {
                        let ops: Vec<Op> = reps[a].missing_for(reps[b].version_vector()).cloned().collect();
                        reps[b].apply(2_000_000, ops);
                    }
                }
            }
        }
        for r in &reps[1..] {
            prop_assert_eq!(r.visit(&v), reps[0].visit(&v));
            prop_assert_eq!(r.visit(&v).map(VisitView::from), reps[0].visit(&v).map(VisitView::from));
        }
    }
}
