//! Peak heap of decoding a batch (issue 10, item 2), measured with the
//! counting allocator of this binary.
//!
//! The property: `decode_with(bytes, limits)` peaks at no more than
//! 4 × `bytes.len()` plus a ceiling for the ops it may build, fixed by the
//! limits and independent of the input's length (see `wire`'s docs), for
//! every input: structured mutations of valid batches, random bytes,
//! headers claiming huge counts, and large valid batches.

use crate::{mutate, world, ALLOC, ALONE};
use std::mem::size_of;
use sync_core::wire::{self, DecodeLimits};
use sync_core::*;
use world::Rng;

/// Heap bytes at the peak of `f`, above what was allocated before it.
fn peak_of<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let base = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let r = f();
    (ALLOC.peak_usage().saturating_sub(base), r)
}

/// What the ops a decode may build can take, whatever the input's length.
fn ceiling(limits: DecodeLimits) -> usize {
    let per_op = 3 * size_of::<Op>() + 2 * limits.max_preds * size_of::<OpId>();
    limits.max_ops * per_op + limits.max_preds * size_of::<OpId>() + 4_096
}

struct Worst {
    ratio: f64,
    len: usize,
    peak: usize,
    /// The largest share of its bound any input used.
    share: f64,
}

fn check(bytes: &[u8], limits: DecodeLimits, worst: &mut Worst, what: &str) {
    let (peak, result) = peak_of(|| wire::decode_with(bytes, limits));
    let bound = 4 * bytes.len() + ceiling(limits);
    assert!(
        peak <= bound,
        "{what}: {} bytes peaked at {peak} > {bound} ({result:?})",
        bytes.len()
    );
    worst.share = worst.share.max(peak as f64 / bound as f64);
    // The ratio that matters is for inputs the ceiling does not dwarf.
    if bytes.len() >= 64 * 1024 {
        let ratio = peak as f64 / bytes.len() as f64;
        if ratio > worst.ratio {
            (worst.ratio, worst.len, worst.peak) = (ratio, bytes.len(), peak);
        }
    }
}

/// A header with one replica and one run that claims `claim` ops, then `len`
/// bytes of `fill`: what made 1 MiB of junk peak at 151 MiB.
fn claiming(claim: u64, len: usize, fill: u8) -> Vec<u8> {
    let mut b = vec![wire::FORMAT_VERSION, 1];
    b.extend_from_slice(&[7; 16]);
    b.extend([0, 0, 1, 0, 1]);
    let mut n = claim;
    while n >= 0x80 {
        b.push(n as u8 | 0x80);
        n >>= 7;
    }
    b.push(n as u8);
    b.resize(len, fill);
    b
}

/// A valid batch of about `len` bytes of notes with many preds-free ops.
fn notes(len: usize) -> Vec<u8> {
    let r = ReplicaId::from_u128(1);
    let mut ops = Vec::new();
    let mut size = 0;
    let mut seq = 1;
    while size < len {
        let text = format!("note {seq} {}", "x".repeat(200));
        size += text.len() + 4;
        ops.push(Op {
            id: OpId::new(r, seq),
            hlc: Hlc::new(1_790_000_000_000 + seq, 0),
            visit: VisitId::from_u128(2),
            action: Action::Note { text },
        });
        seq += 1;
    }
    wire::encode(&ops)
}

#[test]
fn decode_peaks_at_four_times_its_input_plus_a_fixed_ceiling() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let _ = wire::decode(&notes(1_000)); // the symbol table, built once
    let server = DecodeLimits::ops(1_000);
    let mut worst = Worst {
        ratio: 0.0,
        len: 0,
        peak: 0,
        share: 0.0,
    };
    const MIB: usize = 1 << 20;

    // The case: 1 MiB claiming a million ops.
    for fill in [0, 1, 0x80, 0xff] {
        let junk = claiming(1_000_000, MIB, fill);
        check(&junk, server, &mut worst, "claiming junk");
        // Without limits too: nothing is reserved from the claim.
        let (peak, _) = peak_of(|| wire::decode(&junk));
        assert!(peak <= 4 * MIB, "fill {fill}: {peak}");
        println!(
            "1 MiB claiming 10^6 ops, fill {fill:#04x}: decode peaked at {peak} bytes ({:.3}×)",
            peak as f64 / MIB as f64
        );
    }

    // Large valid batches: mostly text, copied once.
    for len in [64 * 1024, MIB, 4 * MIB] {
        let b = notes(len);
        let (peak, ops) = peak_of(|| wire::decode(&b));
        assert!(peak <= 4 * b.len(), "{} bytes of notes: {peak}", b.len());
        println!(
            "valid batch of {} bytes ({} ops): decode peaked at {peak} bytes ({:.2}×)",
            b.len(),
            ops.map(|o| o.len()).unwrap_or(0),
            peak as f64 / b.len() as f64
        );
    }

    // Random bytes and structured mutations of valid batches, under small
    // random limits (a sharp ceiling) and the server's.
    let cases: u64 = std::env::var("AIDANT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let mut corpus = mutate::corpus(0xDEC0DE, 24);
    corpus.push(notes(96 * 1024));
    corpus.push(wire::encode(&world::World::run(7, 3, 3_000).universe));
    let mut rng = Rng::new(0x5EED_DEC0);
    for case in 0..cases {
        let bytes = match case % 4 {
            0 => mutate::random_bytes(&mut rng, 4_096),
            1 => claiming(
                rng.next_u64() >> rng.below(64),
                rng.below(256 * 1024) as usize,
                rng.next_u64() as u8,
            ),
            _ => {
                let mut b = rng.pick(&corpus).clone();
                mutate::mutate(&mut rng, &mut b, &corpus);
                b
            }
        };
        let small = DecodeLimits {
            max_ops: rng.below(64) as usize,
            max_preds: rng.below(16) as usize,
        };
        check(&bytes, small, &mut worst, &format!("case {case}"));
        check(&bytes, server, &mut worst, &format!("case {case}"));
    }
    println!(
        "worst ratio for inputs of 64 KiB or more: {:.3}× ({} bytes peaked at {}); \
         largest share of the bound used: {:.3}",
        worst.ratio, worst.len, worst.peak, worst.share
    );
}
