//! Applying N ops costs O(N log N) whatever their order and preds (issue
//! 10, item 5).
//!
//! A test cannot assert seconds on a shared machine, but it can assert how
//! time *grows*: each adversarial case is applied at N and 8N ops, and the
//! ratio of the best times must stay far below the 64 of a quadratic cost
//! (N log N gives about 9; the bound is 32). The absolute figures are
//! `benches/adversarial.rs`'s.

use crate::ALONE;
use std::time::{Duration, Instant};
use sync_core::*;

const R: ReplicaId = ReplicaId::from_u128(0xA);
const V: VisitId = VisitId::from_u128(0xB);
const T0: u64 = 1_790_000_000_000;

fn op(replica: ReplicaId, seq: u64, wall: u64, action: Action) -> Op {
    Op {
        id: OpId::new(replica, seq),
        hlc: Hlc::new(wall, 0),
        visit: V,
        action,
    }
}

fn history(n: u64) -> Vec<Op> {
    (1..=n)
        .map(|seq| {
            let action = if seq == 1 {
                Action::Create {
                    operation: OperationId::from_u128(1),
                }
            } else if seq % 2 == 0 {
                Action::Note {
                    text: format!("n{seq}"),
                }
            } else {
                Action::Set {
                    target: Target::Visit(VisitField::Summary),
                    value: Value::Text(format!("s{seq}")),
                    pred: vec![OpId::new(R, seq - 2)],
                }
            };
            op(R, seq, T0 + seq, action)
        })
        .collect()
}

fn newest_first(n: u64) -> Vec<Op> {
    let mut ops = history(n);
    ops.reverse();
    ops
}

fn gap_filled_last(n: u64) -> Vec<Op> {
    let mut ops = history(n);
    ops.rotate_left(1);
    ops
}

fn max_preds(n: u64) -> Vec<Op> {
    let mut x = 7u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (1..=n)
        .map(|seq| {
            let pred = (0..op::MAX_PREDS)
                .map(|_| {
                    OpId::new(
                        ReplicaId::from_u128(u128::from(next() % 64)),
                        1 + next() % (4 * n),
                    )
                })
                .collect();
            op(
                R,
                seq,
                T0 + seq,
                Action::Set {
                    target: Target::Visit(VisitField::Summary),
                    value: Value::Text(format!("s{seq}")),
                    pred,
                },
            )
        })
        .collect()
}

fn concurrent_newest_first(n: u64) -> Vec<Op> {
    (0..n)
        .map(|i| {
            op(
                ReplicaId::from_u128(0x1000 + u128::from(i)),
                1,
                T0 + n - i,
                Action::Set {
                    target: Target::Visit(VisitField::Summary),
                    value: Value::Text(format!("s{i}")),
                    pred: vec![],
                },
            )
        })
        .collect()
}

fn best(ops: &[Op], best: &mut Duration) {
    let batch = ops.to_vec();
    let mut r = Replica::new(ReplicaId::from_u128(0xFFFF));
    let t = Instant::now();
    let report = r.apply(T0, batch);
    *best = (*best).min(t.elapsed());
    // The ops must be applied, not rejected, for the timing to mean anything.
    assert!(report.rejected().is_empty(), "{:?}", report.rejected()[0]);
}

fn check(name: &str, n: u64, make: fn(u64) -> Vec<Op>) {
    let (small, large) = (make(n), make(8 * n));
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let (mut s, mut l) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        best(&small, &mut s);
        best(&large, &mut l);
    }
    let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-6);
    eprintln!("{name}: {n} ops {s:?}, {} ops {l:?}: ×{ratio:.1}", 8 * n);
    assert!(
        ratio < 32.0,
        "{name}: {n} ops {s:?}, {} ops {l:?}: ×{ratio:.1}, quadratic",
        8 * n
    );
}

#[test]
fn apply_of_one_replicas_ops_newest_first_is_not_quadratic() {
    check("newest first", 4_000, newest_first);
}

#[test]
fn apply_of_a_gap_at_seq_1_filled_last_is_not_quadratic() {
    check("gap filled last", 4_000, gap_filled_last);
}

#[test]
fn apply_of_ops_with_256_random_preds_is_not_quadratic() {
    check("max preds", 100, max_preds);
}

#[test]
fn apply_of_concurrent_writes_newest_first_is_not_quadratic() {
    check("concurrent", 4_000, concurrent_newest_first);
}
