//! `cargo bench -p sync-core --bench adversarial`: how long `Replica::apply`
//! takes on the inputs a broken or hostile peer can send (issue 10, item 5).
//!
//! Each case builds its ops up front and times one `apply` of all of them on
//! a fresh replica (the best of a few runs). Applying N ops must cost
//! O(N log N) whatever their order and preds, so each case is run at two
//! sizes four times apart: the ratio of the times is printed beside them
//! (about 4–5 for N log N, 16 for N²). Figures are printed, never asserted.
//!
//! `ADVERSARIAL_BENCH_QUICK=1` runs the smaller size of each case only.

use std::time::{Duration, Instant};
use sync_core::*;

const R: ReplicaId = ReplicaId::from_u128(0xA);
const V: VisitId = VisitId::from_u128(0xB);
const T0: u64 = 1_790_000_000_000;

fn op(replica: ReplicaId, seq: u64, action: Action) -> Op {
    Op {
        id: OpId::new(replica, seq),
        hlc: Hlc::new(T0 + seq, 0),
        visit: V,
        action,
    }
}

fn create(replica: ReplicaId) -> Op {
    op(
        replica,
        1,
        Action::Create {
            operation: OperationId::from_u128(1),
        },
    )
}

/// One replica's history: a create, then field edits (each naming the one
/// before), notes and set adds, in order.
fn history(n: u64) -> Vec<Op> {
    let mut ops = vec![create(R)];
    for seq in 2..=n {
        let action = match seq % 3 {
            0 => Action::Set {
                target: Target::Visit(VisitField::Summary),
                value: Value::Text(format!("summary {seq}")),
                pred: if seq > 3 {
                    vec![OpId::new(R, seq - 3)]
                } else {
                    vec![]
                },
            },
            1 => Action::Note {
                text: format!("note {seq}"),
            },
            _ => Action::Add {
                set: SetTarget::Visit(VisitSet::Officers),
                elem: format!("PC {}", seq % 500),
            },
        };
        ops.push(op(R, seq, action));
    }
    ops
}

/// `n` writes to one field, each naming `preds` random earlier-or-not op ids.
fn max_preds(n: u64, preds: usize) -> Vec<Op> {
    // Reproducible preds, from the shared seeded source.
    let mut rng = sync_core::rand::SplitMix64::new(7);
    let mut ops = vec![create(R)];
    for seq in 2..=n + 1 {
        let pred = (0..preds)
            .map(|_| {
                OpId::new(
                    ReplicaId::from_u128(u128::from(rng.next_u64() % 64)),
                    1 + rng.next_u64() % (4 * n),
                )
            })
            .collect();
        ops.push(op(
            R,
            seq,
            Action::Set {
                target: Target::Visit(VisitField::Summary),
                value: Value::Text(format!("v{seq}")),
                pred,
            },
        ));
    }
    ops
}

/// `n` replicas each writing the same field once, none having seen another:
/// `n` concurrent live values.
fn concurrent(n: u64) -> Vec<Op> {
    let mut ops = vec![create(R)];
    for i in 0..n {
        let r = ReplicaId::from_u128(0x1000 + u128::from(i));
        let mut o = op(
            r,
            1,
            Action::Set {
                target: Target::Visit(VisitField::Summary),
                value: Value::Text(format!("v{i}")),
                pred: vec![],
            },
        );
        // Newest stamp first: each value sorts before every one held.
        o.hlc = Hlc::new(T0 + n - i, 0);
        ops.push(o);
    }
    ops
}

fn time(ops: &[Op]) -> Duration {
    let mut best = Duration::MAX;
    let mut budget = Duration::from_secs(3);
    for _ in 0..5 {
        let batch = ops.to_vec();
        let mut r = Replica::new(ReplicaId::from_u128(0xFFFF));
        let t = Instant::now();
        let report = r.apply(T0, batch);
        let took = t.elapsed();
        std::hint::black_box(report);
        best = best.min(took);
        budget = budget.saturating_sub(took);
        if budget.is_zero() {
            break;
        }
    }
    best
}

fn main() {
    let quick = std::env::var_os("ADVERSARIAL_BENCH_QUICK").is_some();
    type Case = (&'static str, [u64; 2], fn(u64) -> Vec<Op>);
    let cases: [Case; 5] = [
        ("max preds (256 random preds per op)", [250, 1_000], |n| {
            max_preds(n, 256)
        }),
        ("one replica, newest first", [10_000, 40_000], |n| {
            let mut ops = history(n);
            ops.reverse();
            ops
        }),
        (
            "one replica, gap at seq 1 filled last",
            [10_000, 40_000],
            |n| {
                let mut ops = history(n);
                ops.rotate_left(1);
                ops
            },
        ),
        (
            "one replica, in order (reference)",
            [10_000, 40_000],
            history,
        ),
        (
            "concurrent writes to one field, newest first",
            [10_000, 40_000],
            concurrent,
        ),
    ];
    println!(
        "{:<48} {:>8} {:>12} {:>8} {:>12}  ratio",
        "case", "ops", "time", "ops", "time"
    );
    for (name, sizes, make) in cases {
        let small = make(sizes[0]);
        let t_small = time(&small);
        if quick {
            println!(
                "{name:<48} {:>8} {:>10.3} s",
                small.len(),
                t_small.as_secs_f64()
            );
            continue;
        }
        let large = make(sizes[1]);
        let t_large = time(&large);
        println!(
            "{name:<48} {:>8} {:>10.3} s {:>8} {:>10.3} s  {:.1}",
            small.len(),
            t_small.as_secs_f64(),
            large.len(),
            t_large.as_secs_f64(),
            t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-9)
        );
    }
}
