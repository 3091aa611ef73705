//! A deterministic fuzz harness (cargo-fuzz needs a nightly toolchain and
//! libFuzzer; this runs everywhere, wasm32 included). Three kinds of case,
//! in turn:
//!
//! 1. a valid batch with structured mutations (bits and bytes, huge varints,
//!    cut, duplicated and spliced ranges) through `decode` and
//!    `decode_limited`;
//! 2. random bytes through the same;
//! 3. random op sequences (valid and not: extreme clocks and sequence
//!    numbers, preds and forged removes) through validation and `apply`.
//!
//! Whatever decodes must re-encode to the same ops, and every op set is
//! applied on two replicas in different orders (shuffled, duplicated, in
//! chunks): the replicas must converge, equal the server's way of building a
//! visit (valid ops only, `Visit::apply`), equal the join of two halves'
//! states, and survive a save and load. Nothing may panic.
//!
//! Short by default (a few seconds in the normal test run). For the long
//! run: `AIDANT_FUZZ_CASES=1000000 cargo test -p sync-core --release fuzz`;
//! `AIDANT_FUZZ_SEED` picks another seed (the seed and a failing case's
//! number are printed, and `AIDANT_FUZZ_FROM=<case>` replays from one).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::mutate::{corpus, mutate, random_bytes, random_ops};
use crate::world::Rng;
use std::collections::BTreeMap;
use sync_core::*;

fn env(name: &str, default: u64) -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(v) = std::env::var(name).ok().and_then(|v| v.parse().ok()) {
        return v;
    }
    let _ = name;
    default
}

/// Checks one op set: convergence in two orders, the server's rebuild, the
/// state join, the wire and a save.
pub fn check_ops(ops: &[Op], rng: &mut Rng, case: u64) {
    let now = 1_790_000_000_000 + rng.below(1 << 20);
    let mut a = Replica::new(ReplicaId::from_u128(0xAAAA));
    let report = a.apply(now, ops.to_vec());
    assert_eq!(report.outcomes.len(), ops.len(), "case {case}");

    let mut shuffled = ops.to_vec();
    let dups: Vec<Op> = ops.iter().filter(|_| rng.chance(10)).cloned().collect();
    shuffled.extend(dups);
    rng.shuffle(&mut shuffled);
    let mut b = Replica::new(ReplicaId::from_u128(0xBBBB));
    let chunk = 1 + rng.below(8) as usize;
    for c in shuffled.chunks(chunk) {
        b.apply(now, c.to_vec());
    }
    let visits = |r: &Replica| r.visits().cloned().collect::<Vec<_>>();
    assert_eq!(visits(&a), visits(&b), "case {case}: replicas diverged");
    assert_eq!(a.version_vector(), b.version_vector(), "case {case}");
    assert_eq!(a.op_count(), b.op_count(), "case {case}");

    // The server builds a visit from the valid ops it stored, in its order.
    let mut server: BTreeMap<VisitId, Visit> = BTreeMap::new();
    let mut halves: [BTreeMap<VisitId, Visit>; 2] = Default::default();
    for (i, op) in shuffled.iter().enumerate() {
        if op.validate().is_ok() {
            server
                .entry(op.visit)
                .or_insert_with(|| Visit::new(op.visit))
                .apply(op);
            halves[i % 2]
                .entry(op.visit)
                .or_insert_with(|| Visit::new(op.visit))
                .apply(op);
        }
    }
    assert_eq!(
        server.values().cloned().collect::<Vec<_>>(),
        visits(&a),
        "case {case}: server rebuild differs"
    );
    let [mut left, right] = halves;
    for (id, v) in right {
        match left.get_mut(&id) {
            Some(l) => l.merge(&v),
            None => {
                left.insert(id, v);
            }
        }
    }
    assert_eq!(
        left.into_values().collect::<Vec<_>>(),
        visits(&a),
        "case {case}: state join differs from op delivery"
    );

    // Everything held relays unchanged, and a save loads back the same.
    let held: Vec<Op> = a.missing_for(&VersionVector::default()).cloned().collect();
    assert_eq!(
        wire::decode(&wire::encode(&held)).unwrap(),
        held,
        "case {case}"
    );
    let loaded = Replica::load(&a.save()).unwrap_or_else(|e| panic!("case {case}: {e}"));
    assert_eq!(visits(&loaded), visits(&a), "case {case}: save and load");
    // A local edit still works and is valid.
    let first = a.visits().next().map(Visit::id);
    if let Some(v) = first {
        let op = a.note(now, v, "after").unwrap().clone();
        assert_eq!(op.validate(), Ok(()), "case {case}");
    }
}

/// Decodes (limited and not); whatever decodes must round-trip and apply.
fn check_bytes(bytes: &[u8], rng: &mut Rng, case: u64) {
    let max = rng.below(64) as usize;
    let limited = wire::decode_limited(bytes, max);
    let full = wire::decode(bytes);
    match (&limited, &full) {
        (Ok(l), Ok(f)) => assert_eq!(l, f, "case {case}"),
        (Ok(_), Err(e)) => panic!("case {case}: limited decoded, full failed: {e}"),
        (Err(wire::WireError::TooManyOps { .. } | wire::WireError::TooManyPreds { .. }), _) => {}
        (Err(l), Err(f)) => assert_eq!(l, f, "case {case}"),
        (Err(l), Ok(_)) => panic!("case {case}: limited failed with {l}"),
    }
    if let Ok(ops) = full {
        assert_eq!(
            wire::decode(&wire::encode(&ops)).as_ref(),
            Ok(&ops),
            "case {case}: re-encoding changed the ops"
        );
        // Decoded ops may share an id with different payloads (equivocation,
        // which is not convergence's to heal): keep the first of each id.
        let mut seen = std::collections::BTreeSet::new();
        let unique: Vec<Op> = ops.into_iter().filter(|o| seen.insert(o.id)).collect();
        if unique.len() <= 64 {
            check_ops(&unique, rng, case);
        }
    }
}

/// Runs `cases` cases from `seed`, starting at case `from`.
pub fn run(seed: u64, from: u64, cases: u64) {
    let corpus = corpus(seed, 24);
    for case in from..from + cases {
        let mut rng = Rng::new(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        match case % 3 {
            0 => {
                let mut bytes = rng.pick(&corpus).clone();
                mutate(&mut rng, &mut bytes, &corpus);
                check_bytes(&bytes, &mut rng, case);
            }
            1 => {
                let bytes = random_bytes(&mut rng, 96);
                check_bytes(&bytes, &mut rng, case);
            }
            _ => {
                let n = 1 + rng.below(40) as usize;
                let ops = random_ops(&mut rng, n);
                check_ops(&ops, &mut rng, case);
            }
        }
    }
}

#[test]
fn fuzz_decode_validate_and_apply() {
    let seed = env("AIDANT_FUZZ_SEED", 0xA1DA_2026);
    let from = env("AIDANT_FUZZ_FROM", 0);
    // Short mode: about a second or two in a debug build.
    let cases = env(
        "AIDANT_FUZZ_CASES",
        if cfg!(debug_assertions) {
            6_000
        } else {
            30_000
        },
    );
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("fuzz: seed {seed:#x}, cases {from}..{}", from + cases);
    run(seed, from, cases);
}
