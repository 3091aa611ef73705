//! Runs the shared benchmark script natively through sync-core and prints the
//! median measurement as JSON, for `scripts/wasm-bench.sh` to compare with wasm32.
//! Usage: `cargo run --release -p tests --example script -- VISITS RUNS`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let visits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(101);
    let start = Instant::now();
    let mut clock = || start.elapsed().as_secs_f64() * 1e6;
    let mut ms: Vec<_> = (0..runs)
        .map(|_| tests::script::run_sync_core(visits, &mut clock))
        .collect();
    let median = |f: &dyn Fn(&tests::script::Measurement) -> f64,
                  ms: &mut Vec<tests::script::Measurement>| {
        ms.sort_by(|a, b| f(a).total_cmp(&f(b)));
        f(&ms[ms.len() / 2])
    };
    let edit_us = median(&|m| m.edit_us(), &mut ms);
    let merge_us = median(&|m| m.merge_total_us, &mut ms);
    let m = &ms[0];
    println!(
        "{{\"visits\":{visits},\"edit_us\":{edit_us},\"merge_us\":{merge_us},\"delta_bytes\":{},\"record_bytes\":{}}}",
        m.delta_bytes(),
        m.record_bytes
    );
}
