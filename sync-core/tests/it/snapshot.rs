//! Snapshots (a new phone's first sync): a replica that adopts the merged
//! state of some ops and then receives every op, in any order and with
//! duplicates, holds what a replica that applied every op holds; a snapshot
//! round-trips exactly; saved and loaded, a replica keeps what it adopted.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::world::{visits, Rng, World};
use std::collections::BTreeSet;
use sync_core::*;

/// Checks the snapshot properties for one seed.
pub fn check_snapshot(seed: u64) {
    let mut w = World::run(seed, 3, 80);
    w.full_sync();
    let full = visits(&w.replicas[0]);
    let mut rng = Rng::new(seed ^ 0xB007);
    // What the server held when the snapshot was taken: any subset of the ops.
    let mut ops = w.universe.clone();
    rng.shuffle(&mut ops);
    let cut = rng.below(ops.len() as u64 + 1) as usize;
    let mut server = Replica::new(ReplicaId::from_u128(800));
    server.apply(w.now, ops[..cut].to_vec());
    let held: Vec<&Visit> = server.visits().collect();
    let bytes = snapshot::encode(held.iter().copied());
    let decoded = snapshot::decode_limited(&bytes, held.len()).unwrap();
    assert_eq!(
        decoded.iter().collect::<Vec<_>>(),
        held,
        "seed {seed}: the snapshot does not round-trip"
    );

    let mut phone = Replica::new(ReplicaId::from_u128(801));
    let (changed, _) = phone.adopt(w.now, decoded.clone());
    assert_eq!(changed.len(), held.len(), "seed {seed}");
    // Saved and loaded before anything else arrives, it still holds them.
    let mut phone = Replica::load(&phone.save()).unwrap();
    assert_eq!(
        phone.visits().collect::<Vec<_>>(),
        held,
        "seed {seed}: save lost snapshots"
    );
    // Then every op, including those inside the snapshot, in any order,
    // with duplicates, in small batches; the snapshot adopted again midway.
    let mut rest = w.universe.clone();
    let dups: Vec<Op> = rest.iter().filter(|_| rng.chance(20)).cloned().collect();
    rest.extend(dups);
    rng.shuffle(&mut rest);
    for (i, chunk) in rest.chunks(9).enumerate() {
        phone.apply(w.now, chunk.to_vec());
        if i == 3 {
            phone.adopt(w.now, decoded.clone());
        }
    }
    assert_eq!(visits(&phone), full, "seed {seed}: snapshot phone diverged");
    let loaded = Replica::load(&phone.save()).unwrap();
    assert_eq!(
        visits(&loaded),
        full,
        "seed {seed}: diverged after a reload"
    );
    // Forgetting nothing and rekeying keep the adopted state.
    let kept = phone.forget(&BTreeSet::new());
    assert_eq!(visits(&kept), full, "seed {seed}: forget dropped snapshots");
    let (rekeyed, _) = phone.rekey(ReplicaId::from_u128(802), &[], 0);
    assert_eq!(
        visits(&rekeyed),
        full,
        "seed {seed}: rekey dropped snapshots"
    );
}

#[test]
fn fixed_seeds_snapshot_then_ops_equals_every_op() {
    for seed in 0..48 {
        check_snapshot(seed);
    }
}

#[test]
fn a_forgotten_visit_loses_its_snapshot_too() {
    let mut w = World::run(7, 3, 60);
    w.full_sync();
    let mut phone = Replica::new(ReplicaId::from_u128(801));
    let states: Vec<Visit> = w.replicas[0].visits().cloned().collect();
    let gone = states[0].id();
    phone.adopt(w.now, states);
    let small = phone.forget(&[gone].into());
    assert!(small.visit(&gone).is_none());
    let small = Replica::load(&small.save()).unwrap();
    assert!(small.visit(&gone).is_none());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut rng = Rng::new(11);
    let w = World::run(3, 3, 40);
    let good = snapshot::encode(w.replicas[0].visits());
    assert!(snapshot::decode_limited(b"AIDS", 10).is_err());
    assert!(snapshot::decode_limited(b"nope", 10).is_err());
    assert!(matches!(
        snapshot::decode_limited(&good, 0),
        Err(snapshot::SnapshotError::TooManyVisits { max: 0 }) | Ok(_)
    ));
    for _ in 0..2_000 {
        let mut b = good.clone();
        for _ in 0..=rng.below(4) {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        if rng.chance(30) {
            b.truncate(rng.below(b.len() as u64) as usize);
        }
        let _ = snapshot::decode_limited(&b, 1_000);
    }
}
