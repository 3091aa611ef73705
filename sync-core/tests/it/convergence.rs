//! Convergence under random delivery order, duplication and partition, for
//! three and four replicas. Runs natively under proptest (see `laws`) and here
//! over fixed seeds, so the same checks run on wasm32.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::world::{visits, Rng, World};
use sync_core::*;

/// Checks every convergence property for one seed.
pub fn check_seed(seed: u64, replicas: usize, steps: usize) {
    let mut w = World::run(seed, replicas, steps);
    w.full_sync();
    // 1. Every replica holds every op and the same visits.
    let first = visits(&w.replicas[0]);
    for r in &w.replicas {
        assert_eq!(r.op_count(), w.universe.len(), "seed {seed}");
        assert_eq!(
            r.version_vector(),
            w.replicas[0].version_vector(),
            "seed {seed}"
        );
        assert_eq!(visits(r), first, "seed {seed}: replica {} diverged", r.id());
    }
    // 2. Status never went backwards on any replica at any step.
    assert!(
        w.status_regressions.is_empty(),
        "seed {seed}: {:?}",
        w.status_regressions
    );
    // 3. Any delivery order, with duplicates, gives the same state.
    let mut rng = Rng::new(seed ^ 0x5EED);
    for k in 0..2 {
        let mut ops = w.universe.clone();
        let dups: Vec<Op> = ops.iter().filter(|_| rng.chance(15)).cloned().collect();
        ops.extend(dups);
        rng.shuffle(&mut ops);
        let mut fresh = Replica::new(ReplicaId::from_u128(900 + k));
        // Delivered in small batches, as a flaky connection would.
        for chunk in ops.chunks(7) {
            fresh.apply(w.now, chunk.to_vec());
        }
        assert_eq!(visits(&fresh), first, "seed {seed}: order-dependent");
    }
    // 4. Nothing is lost: every note is kept, and the status is the highest written.
    let notes = w
        .universe
        .iter()
        .filter(|o| matches!(o.action, Action::Note { .. }))
        .count();
    let kept: usize = first.iter().map(|v| v.notes().count()).sum();
    assert_eq!(kept, notes, "seed {seed}: notes lost");
    for v in &first {
        assert_eq!(v.has_conflict(), !v.conflicts().is_empty(), "seed {seed}");
        let top = w
            .universe
            .iter()
            .filter(|o| o.visit == v.id())
            .filter_map(|o| match &o.action {
                Action::Status { status, round, .. } => status.rank().map(|r| (*round, r)),
                _ => None,
            })
            .max()
            .unwrap_or((0, 0));
        let key = v.status().rank().map(|r| (v.status_register().round(), r));
        assert_eq!(key, Some(top), "seed {seed}");
    }
    // 5. The wire format round-trips the whole history.
    let bytes = wire::encode(&w.universe);
    assert_eq!(wire::decode(&bytes).unwrap(), w.universe, "seed {seed}");
}

/// Merge of states (not ops) is commutative, associative and idempotent, and
/// equals applying the union of the ops.
pub fn check_state_laws(seed: u64) {
    let mut w = World::run(seed, 3, 60);
    let v = crate::world::VISITS[0];
    let state = |r: &Replica| r.visit(&v).cloned().unwrap();
    let (a, b, c) = (
        state(&w.replicas[0]),
        state(&w.replicas[1]),
        state(&w.replicas[2]),
    );
    let join = |x: &Visit, y: &Visit| {
        let mut z = x.clone();
        z.merge(y);
        z
    };
    assert_eq!(join(&a, &b), join(&b, &a), "seed {seed}: not commutative");
    assert_eq!(
        join(&join(&a, &b), &c),
        join(&a, &join(&b, &c)),
        "seed {seed}: not associative"
    );
    assert_eq!(join(&a, &a), a, "seed {seed}: not idempotent");
    w.full_sync();
    assert_eq!(
        join(&join(&a, &b), &c),
        state(&w.replicas[0]),
        "seed {seed}: state merge differs from op delivery"
    );
}

#[test]
fn fixed_seeds_converge_three_and_four_replicas() {
    for seed in 0..48 {
        check_seed(seed, 3, 80);
        check_seed(seed + 1_000, 4, 60);
    }
}

#[test]
fn fixed_seeds_obey_state_merge_laws() {
    for seed in 0..48 {
        check_state_laws(seed);
    }
}
