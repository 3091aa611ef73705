//! Property tests (native): thousands of random scripts for the merge laws and
//! convergence, and lattice-level laws for the register and the set.

use crate::convergence::{check_seed, check_state_laws};
use proptest::prelude::*;
use sync_core::lattice::{MvRegister, OrSet};
use sync_core::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_under_any_delivery(seed in any::<u64>(), n in 3usize..=5, steps in 1usize..80) {
        check_seed(seed, n, steps);
    }

    #[test]
    fn state_merge_is_a_join(seed in any::<u64>()) {
        check_state_laws(seed);
    }

    #[test]
    fn a_snapshot_then_every_op_equals_every_op(seed in any::<u64>()) {
        crate::snapshot::check_snapshot(seed);
    }
}

/// A write to a register: (replica, seq, wall, value, which earlier writes it names).
type Write = (u8, u8, u16, u8, Vec<usize>);

fn reg_from(writes: &[Write], order: &[usize]) -> MvRegister<u8> {
    let id = |r: u8, s: u8| OpId::new(ReplicaId::from_u128(u128::from(r)), u64::from(s));
    let mut reg = MvRegister::default();
    for &i in order {
        let (r, s, wall, value, pred) = &writes[i];
        let pred: Vec<OpId> = pred
            .iter()
            .filter(|&&p| p < i)
            .map(|&p| id(writes[p].0, writes[p].1))
            .collect();
        let stamp = Stamp {
            hlc: Hlc::new(u64::from(*wall), 0),
            replica: ReplicaId::from_u128(u128::from(*r)),
        };
        reg.apply(id(*r, *s), stamp, *value, &pred);
    }
    reg
}

fn writes() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec(
        (
            0u8..3,
            0u8..40,
            any::<u16>(),
            any::<u8>(),
            prop::collection::vec(0usize..12, 0..3),
        ),
        0..12,
    )
    .prop_map(|mut ws| {
        // Op ids must be unique: make seq the position.
        for (i, w) in ws.iter_mut().enumerate() {
            w.1 = i as u8 + 1;
        }
        ws
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn register_apply_is_order_independent(ws in writes(), seed in any::<u64>()) {
        let straight: Vec<usize> = (0..ws.len()).collect();
        let mut shuffled = straight.clone();
        crate::world::Rng::new(seed).shuffle(&mut shuffled);
        prop_assert_eq!(reg_from(&ws, &straight), reg_from(&ws, &shuffled));
    }

    #[test]
    fn register_merge_laws(ws in writes(), cut1 in 0usize..12, cut2 in 0usize..12) {
        let idx: Vec<usize> = (0..ws.len()).collect();
        let (c1, c2) = (cut1.min(ws.len()), cut2.min(ws.len()));
        let a = reg_from(&ws, &idx[..c1]);
        let b = reg_from(&ws, &idx[c1.min(c2)..]);
        let c = reg_from(&ws, &idx[c2..]);
        let j = |x: &MvRegister<u8>, y: &MvRegister<u8>| { let mut z = x.clone(); z.merge(y); z };
        prop_assert_eq!(j(&a, &b), j(&b, &a));
        prop_assert_eq!(j(&j(&a, &b), &c), j(&a, &j(&b, &c)));
        prop_assert_eq!(j(&a, &a), a.clone());
        // A write naming every live value leaves exactly one.
        let mut d = j(&a, &b);
        let heads = d.heads();
        let stamp = Stamp { hlc: Hlc::new(0, 0), replica: ReplicaId::from_u128(7) };
        d.apply(OpId::new(ReplicaId::from_u128(7), 1), stamp, 0, &heads);
        prop_assert_eq!(d.versions().len(), 1);
    }

    #[test]
    fn orset_merge_laws(ops in prop::collection::vec((0u8..3, 0u8..4, any::<bool>()), 0..30)) {
        // Three replicas each apply their own adds/removes (by observed tags).
        let mut sets = [OrSet::default(), OrSet::default(), OrSet::default()];
        for (i, (r, e, add)) in ops.iter().enumerate() {
            let s = &mut sets[*r as usize];
            if *add {
                s.add(*e, OpId::new(ReplicaId::from_u128(u128::from(*r)), i as u64 + 1));
            } else {
                let tags = s.tags(e);
                s.remove(e, &tags);
            }
        }
        let j = |x: &OrSet<u8>, y: &OrSet<u8>| { let mut z = x.clone(); z.merge(y); z };
        let [a, b, c] = &sets;
        prop_assert_eq!(j(a, b), j(b, a));
        prop_assert_eq!(j(&j(a, b), c), j(a, &j(b, c)));
        prop_assert_eq!(j(a, a), a.clone());
        // Add wins: each replica removed only tags it saw (its own), so an
        // element present anywhere is present in the join.
        let all = j(&j(a, b), c);
        for s in &sets {
            for e in s.iter() {
                prop_assert!(all.contains(e));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any bytes decode to ops or an error, never a panic; a valid batch with
    /// bytes flipped, cut or appended likewise.
    #[test]
    fn wire_decode_never_panics(seed in any::<u64>(), noise in prop::collection::vec(any::<u8>(), 0..64), cut in any::<usize>(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4)) {
        let _ = wire::decode(&noise);
        let w = crate::world::World::run(seed, 3, 20);
        let mut bytes = wire::encode(&w.universe);
        prop_assert_eq!(wire::decode(&bytes).unwrap(), w.universe.clone());
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] ^= b;
        }
        let _ = wire::decode(&bytes);
        let cut = cut % (bytes.len() + 1);
        let _ = wire::decode(&bytes[..cut]);
        // Whatever decodes is then applied without panicking, bad ops rejected one by one.
        if let Ok(ops) = wire::decode(&bytes) {
            let mut r = Replica::new(ReplicaId::from_u128(77));
            let _ = r.apply(0, ops);
        }
    }
}

fn extreme_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just((1u64 << 53) - 1),
        Just(1u64 << 53),
        Just(1u64 << 61),
        Just(1u64 << 63),
        Just(u64::MAX),
        any::<u64>(),
        0u64..10_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any clock, counter and sequence numbers (valid or not) cross the wire
    /// unchanged, and validation accepts exactly the safe range.
    #[test]
    fn wire_and_validation_hold_at_any_clock_and_sequence(
        ops in prop::collection::vec((extreme_u64(), extreme_u64(), any::<u32>(), prop::collection::vec(extreme_u64(), 0..3)), 1..12)
    ) {
        let ops: Vec<Op> = ops
            .into_iter()
            .enumerate()
            .map(|(i, (seq, wall, counter, preds))| Op {
                id: OpId::new(ReplicaId::from_u128(i as u128 % 3), seq),
                hlc: Hlc::new(wall, counter),
                visit: VisitId::from_u128(1),
                action: Action::Set {
                    target: Target::Visit(VisitField::Summary),
                    value: Value::Text("x".into()),
                    pred: preds.into_iter().map(|s| OpId::new(ReplicaId::from_u128(9), s)).collect(),
                },
            })
            .collect();
        prop_assert_eq!(wire::decode(&wire::encode(&ops)), Ok(ops.clone()));
        for op in &ops {
            let safe = |s: u64| (1..=sync_core::ids::MAX_SEQ).contains(&s);
            let expected = safe(op.id.seq)
                && op.hlc.wall_ms <= sync_core::hlc::MAX_WALL_MS
                && match &op.action {
                    Action::Set { pred, .. } => pred.iter().all(|p| safe(p.seq)),
                    _ => true,
                };
            prop_assert_eq!(op.validate().is_ok(), expected, "{:?}", op);
        }
    }
}
