//! Regression tests for what a broken or hostile peer could do (issue 10),
//! each named after what broke: forged removes, arithmetic at the extremes
//! (0, 2^53, 2^61, 2^63 and u64::MAX for clocks, sequences and dates),
//! decoding limits and corrupt saves.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use sync_core::hlc::MAX_WALL_MS;
use sync_core::ids::MAX_SEQ;
use sync_core::summary::{london_date, london_day_bounds, london_offset_ms, LocalDate};
use sync_core::*;

const OPERATION: OperationId = OperationId::from_u128(1);
const V: VisitId = VisitId::from_u128(2);
const T0: u64 = 1_790_000_000_000;
const EVIL: ReplicaId = ReplicaId::from_u128(666);

/// The values the issue names, for clocks, sequences and dates.
const EXTREMES: [u64; 7] = [0, 1, MAX_SEQ, 1 << 53, 1 << 61, 1 << 63, u64::MAX];

fn replica(n: u128) -> Replica {
    Replica::new(ReplicaId::from_u128(n))
}

fn op(replica: ReplicaId, seq: u64, hlc: Hlc, action: Action) -> Op {
    Op {
        id: OpId::new(replica, seq),
        hlc,
        visit: V,
        action,
    }
}

fn note(replica: ReplicaId, seq: u64, wall: u64) -> Op {
    op(
        replica,
        seq,
        Hlc::new(wall, 0),
        Action::Note {
            text: format!("note {seq}"),
        },
    )
}

/// A replica holding a visit created by replica 1.
fn with_visit() -> (Replica, Vec<Op>) {
    let mut a = replica(1);
    let ops = a
        .create_visit(T0, V, OPERATION, LocationKind::Hotel)
        .unwrap();
    (a, ops)
}

#[test]
fn forged_remove_naming_another_elements_tag_does_not_split_replicas() {
    let (mut a, mut ops) = with_visit();
    let indicators = SetTarget::Visit(VisitSet::Indicators);
    let x = a
        .add(T0 + 1, V, indicators.clone(), "no_id_documents")
        .unwrap()
        .clone();
    let y = a
        .add(T0 + 2, V, indicators.clone(), "fear_of_police")
        .unwrap()
        .clone();
    ops.extend([x.clone(), y.clone()]);
    // Removes "no_id_documents", naming "fear_of_police"'s add tag too.
    let forged = op(
        EVIL,
        1,
        Hlc::new(T0 + 3, 0),
        Action::Remove {
            set: indicators.clone(),
            elem: "no_id_documents".into(),
            observed: vec![x.id, y.id],
        },
    );
    assert_eq!(
        forged.validate(),
        Ok(()),
        "stateless validation cannot see it"
    );
    let mut add_then_remove = replica(2);
    add_then_remove.apply(T0, ops.clone());
    add_then_remove.apply(T0, [forged.clone()]);
    let mut remove_then_add = replica(3);
    remove_then_add.apply(T0, [forged]);
    remove_then_add.apply(T0, ops);
    assert_eq!(add_then_remove.visit(&V), remove_then_add.visit(&V));
    let v = add_then_remove.visit(&V).unwrap();
    assert_eq!(
        v.set(&VisitSet::Indicators).collect::<Vec<_>>(),
        ["fear_of_police"]
    );
}

#[test]
fn tick_after_a_stamp_of_u64_max_does_not_wrap_to_stamp_zero() {
    let (mut a, _) = with_visit();
    let huge = op(
        EVIL,
        1,
        Hlc::new(u64::MAX, u32::MAX),
        Action::Note { text: "x".into() },
    );
    let report = a.apply(u64::MAX, [huge]);
    assert_eq!(report.rejected().len(), 1, "out of range: rejected");
    let before = a.clock().last();
    let next = a.note(u64::MAX, V, "still writing").unwrap().hlc;
    assert!(
        next > before && next.wall_ms <= MAX_WALL_MS,
        "{before:?} then {next:?}"
    );
    // A valid stamp at the very top saturates rather than overflowing.
    let top = op(
        EVIL,
        2,
        Hlc::new(MAX_WALL_MS, u32::MAX),
        Action::Note { text: "x".into() },
    );
    assert_eq!(a.apply(u64::MAX, [top]).accepted(), 1);
    for _ in 0..3 {
        let h = a.note(u64::MAX, V, "at the top").unwrap().hlc;
        assert_eq!(h, Hlc::new(MAX_WALL_MS, u32::MAX));
    }
}

#[test]
fn create_visit_at_u64_max_ms_does_not_store_a_negative_start() {
    for now in EXTREMES {
        let mut a = replica(1);
        let ops = a
            .create_visit(now, V, OPERATION, LocationKind::Hotel)
            .unwrap();
        assert!(ops.iter().all(|o| o.validate().is_ok()), "{now}");
        let started = a.visit(&V).unwrap().started_at().unwrap();
        assert!(started >= 0, "{now}: started at {started}");
        assert_eq!(started as u64, now.min(MAX_WALL_MS), "{now}");
    }
}

/// Every clock, counter and sequence number, valid or not, survives the wire
/// unchanged, so no two replicas can hold different ops under one id.
#[test]
fn wire_keeps_clock_values_at_or_above_2_pow_61() {
    let mut ops = Vec::new();
    for (i, &wall) in EXTREMES.iter().enumerate() {
        for (j, &seq) in EXTREMES.iter().enumerate() {
            for counter in [0, 1, u32::MAX] {
                let r = ReplicaId::from_u128(100 + (i * 16 + j) as u128);
                ops.push(op(
                    r,
                    seq,
                    Hlc::new(wall, counter),
                    Action::Set {
                        target: Target::Visit(VisitField::Summary),
                        value: Value::Time(wall as i64),
                        pred: EXTREMES.iter().map(|&s| OpId::new(EVIL, s)).collect(),
                    },
                ));
            }
        }
    }
    let bytes = wire::encode(&ops);
    assert_eq!(wire::decode(&bytes).unwrap(), ops);
    // And one op at a time, after an op at each extreme.
    for a in &ops {
        for b in ops.iter().step_by(7) {
            let pair = [a.clone(), b.clone()];
            assert_eq!(wire::decode(&wire::encode(&pair)).unwrap(), pair);
        }
    }
}

#[test]
fn batch_whose_seqs_run_through_u64_max_to_0_decodes() {
    let ops: Vec<Op> = [u64::MAX - 1, u64::MAX, 0, 1]
        .into_iter()
        .map(|s| note(EVIL, s, T0))
        .collect();
    let bytes = wire::encode(&ops);
    assert_eq!(wire::decode(&bytes), Ok(ops));
}

/// Validation at the extremes: the same verdict on every replica, and an
/// out-of-range op never changes a visit nor stops the rest of the batch.
#[test]
fn clocks_and_seqs_beyond_2_pow_53_are_rejected_alike_everywhere() {
    for &wall in &EXTREMES {
        for &seq in &EXTREMES {
            let o = note(EVIL, seq, wall);
            let expected = match (seq, wall) {
                (0, _) => Err(Reason::ZeroSeq),
                (s, _) if s > MAX_SEQ => Err(Reason::SeqOutOfRange { max: MAX_SEQ }),
                (_, w) if w > MAX_WALL_MS => Err(Reason::ClockOutOfRange { max: MAX_WALL_MS }),
                _ => Ok(()),
            };
            assert_eq!(o.validate().map_err(|e| e.reason), expected, "{seq} {wall}");
            let (mut a, ops) = with_visit();
            let mut b = replica(2);
            let report = a.apply(T0, [o.clone(), note(EVIL, 2, T0)]);
            b.apply(T0, [note(EVIL, 2, T0), o.clone()]);
            b.apply(T0, ops);
            assert_eq!(a.visit(&V), b.visit(&V), "{seq} {wall}");
            let notes = a.visit(&V).unwrap().notes().count();
            assert_eq!(notes, 1 + usize::from(expected.is_ok() && seq != 2));
            assert_eq!(report.outcomes.len(), 2);
            // A local edit after any of it is valid and in range.
            let next = a.note(wall, V, "after").unwrap().clone();
            assert_eq!(next.validate(), Ok(()));
        }
    }
    // Preds and observed tags are sequence numbers too.
    for seq in [0, 1 << 53, u64::MAX] {
        let o = op(
            EVIL,
            1,
            Hlc::new(T0, 0),
            Action::Set {
                target: Target::Visit(VisitField::Summary),
                value: Value::Text("x".into()),
                pred: vec![OpId::new(EVIL, seq)],
            },
        );
        assert_eq!(
            o.validate().map_err(|e| e.reason),
            Err(Reason::SeqOutOfRange { max: MAX_SEQ })
        );
    }
    // Numbers in values stay within what JavaScript holds exactly.
    for (t, ok) in [
        (0i64, true),
        ((1 << 53) - 1, true),
        (1 << 53, false),
        (i64::MAX, false),
        (-(1 << 53) + 1, true),
        (i64::MIN, false),
    ] {
        for target in [
            Target::Visit(VisitField::StartedAt),
            Target::Visit(VisitField::parse("a_newer_clients_time")),
        ] {
            let o = op(
                EVIL,
                1,
                Hlc::new(T0, 0),
                Action::Set {
                    target,
                    value: Value::Time(t),
                    pred: vec![],
                },
            );
            assert_eq!(o.validate().is_ok(), ok, "{t}");
        }
    }
}

#[test]
fn london_date_at_i64_max_does_not_overflow() {
    let mut instants: Vec<i64> = EXTREMES.iter().map(|&x| x as i64).collect();
    instants.extend([i64::MAX, i64::MIN, -(1 << 53), 1 << 53]);
    for t in instants {
        let d = london_date(t);
        assert!(
            (1..=12).contains(&d.month) && (1..=31).contains(&d.day),
            "{t}: {d}"
        );
        assert!([0, 3_600_000].contains(&london_offset_ms(t)));
        let (start, end) = london_day_bounds(d);
        assert!(start <= end, "{t}: {d} {start} {end}");
    }
    // Beyond the safe range an instant reads as the bound.
    assert_eq!(london_date(i64::MAX), london_date((1 << 53) - 1));
    for year in [i32::MIN, -1, 0, 1970, 9999, i32::MAX] {
        let d = LocalDate::new(year, 12, 31).unwrap();
        let _ = london_day_bounds(d);
        let _ = d.days_since_epoch();
    }
    let _ = LocalDate::from_days_since_epoch(i64::MAX);
    let _ = LocalDate::from_days_since_epoch(i64::MIN);
}

#[test]
fn own_op_arriving_at_seq_1_000_000_leaves_no_gap_in_own_sequence() {
    let (mut a, _) = with_visit();
    assert_eq!(a.next_seq(), 4);
    let forged = note(a.id(), 1_000_000, T0);
    a.apply(T0, [forged]);
    let next = a.note(T0 + 1, V, "mine").unwrap().id.seq;
    assert_eq!(next, 4, "no jump over 999,996 numbers");
    assert_eq!(a.version_vector().get(&a.id()), 4);
    // Every own op is sent, in one contiguous run.
    let sent: Vec<u64> = a.own_ops_after(0).map(|o| o.id.seq).collect();
    assert_eq!(&sent[..4], [1, 2, 3, 4]);
}

#[test]
fn own_op_at_seq_u64_max_does_not_overflow_the_next_seq() {
    let (mut a, _) = with_visit();
    for seq in [MAX_SEQ, 1 << 53, 1 << 63, u64::MAX] {
        a.apply(T0, [note(a.id(), seq, T0)]);
    }
    let o = a.note(T0, V, "mine").unwrap().clone();
    assert_eq!(o.id.seq, 4);
    assert_eq!(o.validate(), Ok(()));
    // What it holds still encodes and decodes.
    let all: Vec<Op> = a.missing_for(&VersionVector::default()).cloned().collect();
    assert_eq!(wire::decode(&wire::encode(&all)).unwrap(), all);
}

#[test]
fn decode_limited_refuses_a_batch_claiming_too_many_ops_before_building_them() {
    let ops: Vec<Op> = (1..=10).map(|s| note(EVIL, s, T0)).collect();
    let bytes = wire::encode(&ops);
    assert_eq!(wire::decode_limited(&bytes, 10), Ok(ops.clone()));
    assert_eq!(
        wire::decode_limited(&bytes, 9),
        Err(wire::WireError::TooManyOps { max: 9 })
    );
    // Two runs of 5: the second run's header is over the limit.
    let two_runs: Vec<Op> = ops
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, mut o)| {
            if i >= 5 {
                o.id.replica = ReplicaId::from_u128(667);
            }
            o
        })
        .collect();
    assert_eq!(
        wire::decode_limited(&wire::encode(&two_runs), 7),
        Err(wire::WireError::TooManyOps { max: 7 })
    );
    // A header claiming a million ops, with nothing behind it.
    let mut claim = vec![wire::FORMAT_VERSION, 1];
    claim.extend_from_slice(EVIL.as_bytes());
    claim.extend([0, 0, 1, 0, 1]); // no visits, no others, 1 run of replica 0 from seq 1
    claim.extend([0xC0, 0x84, 0x3D]); // 1,000,000 ops
    claim.resize(claim.len() + 1_000_000, 0);
    assert_eq!(
        wire::decode_limited(&claim, 1_000),
        Err(wire::WireError::TooManyOps { max: 1_000 })
    );
    // Too many preds on one op.
    let preds = op(
        EVIL,
        1,
        Hlc::new(T0, 0),
        Action::Set {
            target: Target::Visit(VisitField::Summary),
            value: Value::Empty,
            pred: (1..=300).map(|s| OpId::new(EVIL, s)).collect(),
        },
    );
    let bytes = wire::encode([&preds]);
    assert!(matches!(
        wire::decode_limited(&bytes, 1_000),
        Err(wire::WireError::TooManyPreds { max: 256, .. })
    ));
    assert_eq!(wire::decode(&bytes), Ok(vec![preds]));
}

#[test]
fn varint_with_bits_beyond_64_is_malformed_not_truncated() {
    // An empty batch whose run count is a 10-byte varint with high bits set.
    let bytes = [
        wire::FORMAT_VERSION,
        0,
        0,
        0,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x02,
    ];
    assert!(matches!(
        wire::decode(&bytes),
        Err(wire::WireError::Malformed { .. })
    ));
}

/// A saved replica with a note whose "RED van" became "BED van".
fn saved() -> (Replica, Vec<u8>) {
    let (mut a, _) = with_visit();
    a.note(T0 + 1, V, "RED van, two men").unwrap();
    let bytes = a.save();
    (a, bytes)
}

#[test]
fn corrupted_save_is_refused_not_loaded() {
    let (a, bytes) = saved();
    let loaded = Replica::load(&bytes).unwrap();
    assert_eq!(loaded.visit(&V), a.visit(&V));
    let at = bytes.windows(3).position(|w| w == b"RED").unwrap();
    let mut bad = bytes.clone();
    bad[at] = b'B';
    assert!(
        matches!(Replica::load(&bad), Err(replica::LoadError::Corrupt { .. })),
        "a flipped byte must not load"
    );
    // Every single-bit flip anywhere, and every truncation, is refused.
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[i] ^= 1 << bit;
            assert!(Replica::load(&bad).is_err(), "bit {bit} of byte {i}");
        }
        assert!(Replica::load(&bytes[..i]).is_err(), "cut at {i}");
    }
}

#[test]
fn save_without_checksum_still_loads() {
    let (a, bytes) = saved();
    // A version 1 save is the same payload without magic, version and CRC.
    let magic = replica::SAVE_MAGIC.len();
    let legacy = &bytes[magic + 1..bytes.len() - 4];
    assert_eq!(legacy[0], 16, "version 1 starts with the UUID's length");
    let loaded = Replica::load(legacy).unwrap();
    assert_eq!(loaded.visit(&V), a.visit(&V));
    assert_eq!(loaded.next_seq(), a.next_seq());
    // A newer format is refused as such.
    let mut newer = bytes.clone();
    newer[magic] = replica::SAVE_VERSION + 1;
    assert!(matches!(
        Replica::load(&newer),
        Err(replica::LoadError::Version(v)) if v == replica::SAVE_VERSION + 1
    ));
}

/// Found by the fuzz harness (case 78341 of seed 0xA1DA2026): two creates
/// with the same stamp (a forgery, or a clock saturated at its bound) named
/// different operations, and each replica kept the first it received.
#[test]
fn creates_with_equal_stamps_pick_the_same_operation_in_any_order() {
    let create = |seq, operation| {
        op(
            EVIL,
            seq,
            Hlc::new(MAX_WALL_MS, u32::MAX),
            Action::Create {
                operation: OperationId::from_u128(operation),
            },
        )
    };
    let (one, two) = (create(1, 7), create(2, 5));
    let mut a = replica(1);
    a.apply(T0, [one.clone(), two.clone()]);
    let mut b = replica(2);
    b.apply(T0, [two, one]);
    assert_eq!(a.visit(&V), b.visit(&V));
    assert_eq!(
        a.visit(&V).unwrap().operation(),
        Some(OperationId::from_u128(5))
    );
}
