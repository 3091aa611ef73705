//! `cargo bench -p tests --bench peers`: sync-core against automerge 0.12 and
//! yrs 0.28 on the same logical script (`tests::script`), in one process.
//!
//! Two scenarios: one visit record, and 1,000 records in one store. Each is
//! run many times per engine within a time budget, the engines interleaved in
//! rounds (so a change of machine load hits all alike), and the median of each
//! timing is reported: microseconds per concurrent edit, microseconds to
//! merge (produce and apply both deltas), delta bytes (mean of A→B and B→A)
//! and bytes of the whole store. Results go to stdout and to
//! `<workspace target dir>/peer-bench.json`, with the ratios against the
//! targets (ours ≤ 1/100 of automerge's and ≤ 1/5 of yrs's times, our delta
//! no larger than yrs's). Missed targets are printed, never a failure.
//!
//! `PEER_BENCH_QUICK=1` shrinks the budgets tenfold for a smoke run.

mod automerge;
mod yrs;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tests::script::{run, Engine, Measurement, EDITS_A, EDITS_B};

/// How long to keep repeating one engine in one scenario, and run limits.
#[derive(Clone, Copy)]
struct Budget {
    warmup: usize,
    min_runs: usize,
    max_runs: usize,
    time: Duration,
}

/// Medians over the runs of one engine in one scenario.
#[derive(Clone, Debug)]
struct Stats {
    name: &'static str,
    runs: usize,
    visits: usize,
    edit_us: f64,
    merge_us: f64,
    delta_a_to_b: usize,
    delta_b_to_a: usize,
    delta_bytes: f64,
    record_bytes: usize,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// [`run`] for one engine.
type Runner = fn(usize, &mut dyn FnMut() -> f64) -> Measurement;

/// One engine's runner and results within a scenario.
struct Slot {
    name: &'static str,
    run: Runner,
    budget: Budget,
    all: Vec<Measurement>,
}

fn slot<E: Engine>(budget: Budget) -> Slot {
    Slot {
        name: E::NAME,
        run: run::<E>,
        budget,
        all: Vec::new(),
    }
}

/// Runs the engines of one scenario interleaved, in rounds, so that a change
/// of machine load (other builds on a shared machine) hits every engine alike.
/// Each engine gets about its time budget, within its run limits.
fn measure(visits: usize, mut slots: Vec<Slot>) -> Vec<Stats> {
    let origin = Instant::now();
    let mut clock = move || origin.elapsed().as_secs_f64() * 1e6;
    // Warm up, and time one whole run (set-up included) to plan the rounds.
    let mut planned = Vec::new();
    for s in &mut slots {
        for _ in 0..s.budget.warmup {
            std::hint::black_box((s.run)(visits, &mut clock));
        }
        let t = Instant::now();
        let m = (s.run)(visits, &mut clock);
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        s.all.push(m);
        let runs = (s.budget.time.as_secs_f64() / secs) as usize;
        planned.push(runs.clamp(s.budget.min_runs, s.budget.max_runs));
    }
    let rounds = planned.iter().copied().min().unwrap_or(1).clamp(1, 20);
    for round in 0..rounds {
        for (s, &runs) in slots.iter_mut().zip(&planned) {
            // Spread the runs evenly over the rounds.
            let due = runs * (round + 1) / rounds;
            while s.all.len() < due {
                let m = (s.run)(visits, &mut clock);
                s.all.push(m);
            }
        }
    }
    slots
        .into_iter()
        .map(|s| stats(s.name, visits, &s.all))
        .collect()
}

fn stats(name: &'static str, visits: usize, all: &[Measurement]) -> Stats {
    let last = all.last().expect("at least one run").clone();
    for m in all {
        // Sizes are deterministic: fixed ids, clocks and actors.
        assert_eq!(
            (m.delta_a_to_b, m.delta_b_to_a, m.record_bytes),
            (last.delta_a_to_b, last.delta_b_to_a, last.record_bytes),
            "{name}: sizes differ between runs"
        );
    }
    Stats {
        name,
        runs: all.len(),
        visits,
        edit_us: median(all.iter().map(Measurement::edit_us).collect()),
        merge_us: median(all.iter().map(|m| m.merge_total_us).collect()),
        delta_a_to_b: last.delta_a_to_b,
        delta_b_to_a: last.delta_b_to_a,
        delta_bytes: last.delta_bytes(),
        record_bytes: last.record_bytes,
    }
}

fn stats_json(s: &Stats) -> Value {
    let mut v = json!({
        "edit_us": s.edit_us,
        "merge_us": s.merge_us,
        "delta_bytes": s.delta_bytes,
        "record_bytes": s.record_bytes,
        "delta_a_to_b_bytes": s.delta_a_to_b,
        "delta_b_to_a_bytes": s.delta_b_to_a,
        "runs": s.runs,
    });
    if s.visits > 1 {
        let n = s.visits as f64;
        v["merge_us_per_visit"] = json!(s.merge_us / n);
        v["delta_bytes_per_visit"] = json!(s.delta_bytes / n);
        v["record_bytes_per_visit"] = json!(s.record_bytes as f64 / n);
    }
    v
}

fn ratio(peer: f64, ours: f64) -> f64 {
    peer / ours
}

fn print_table(title: &str, rows: &[Stats; 3]) {
    let ours = &rows[0];
    let visits = ours.visits;
    println!();
    println!("== {title} ==");
    println!(
        "{visits} visit(s); {} concurrent edits per visit ({EDITS_A} on A, {EDITS_B} on B); merge = both deltas produced and applied",
        EDITS_A + EDITS_B
    );
    println!(
        "{:<10} {:>5} {:>10} {:>12} {:>12} {:>13} | {:>8} {:>8} {:>8} {:>8}",
        "engine",
        "runs",
        "edit_us",
        "merge_us",
        "delta_bytes",
        "record_bytes",
        "edit x",
        "merge x",
        "delta x",
        "record x"
    );
    for s in rows {
        println!(
            "{:<10} {:>5} {:>10.3} {:>12.1} {:>12.1} {:>13} | {:>8.1} {:>8.1} {:>8.2} {:>8.2}",
            s.name,
            s.runs,
            s.edit_us,
            s.merge_us,
            s.delta_bytes,
            s.record_bytes,
            ratio(s.edit_us, ours.edit_us),
            ratio(s.merge_us, ours.merge_us),
            ratio(s.delta_bytes, ours.delta_bytes),
            ratio(s.record_bytes as f64, ours.record_bytes as f64),
        );
    }
    if visits > 1 {
        let n = visits as f64;
        println!("per visit:");
        for s in rows {
            println!(
                "{:<10} merge_us {:>9.2}  delta_bytes {:>8.1}  record_bytes {:>8.1}",
                s.name,
                s.merge_us / n,
                s.delta_bytes / n,
                s.record_bytes as f64 / n
            );
        }
    }
    for s in &rows[1..] {
        println!(
            "{} edit time = {:.1}x ours, merge time = {:.1}x ours, delta = {:.2}x ours ({} / {} B), record = {:.2}x ours",
            s.name,
            ratio(s.edit_us, ours.edit_us),
            ratio(s.merge_us, ours.merge_us),
            ratio(s.delta_bytes, ours.delta_bytes),
            s.delta_a_to_b,
            s.delta_b_to_a,
            ratio(s.record_bytes as f64, ours.record_bytes as f64),
        );
    }
}

/// The target ratios of one scenario: how many times ours each peer figure is.
fn ratios(rows: &[Stats; 3]) -> Value {
    let [ours, am, y] = rows;
    json!({
        "edit_vs_automerge": ratio(am.edit_us, ours.edit_us),
        "edit_vs_yrs": ratio(y.edit_us, ours.edit_us),
        "merge_vs_automerge": ratio(am.merge_us, ours.merge_us),
        "merge_vs_yrs": ratio(y.merge_us, ours.merge_us),
        "delta_bytes_vs_yrs": ratio(y.delta_bytes, ours.delta_bytes),
    })
}

const REQUIRED: [(&str, f64); 5] = [
    ("edit_vs_automerge", 100.0),
    ("edit_vs_yrs", 5.0),
    ("merge_vs_automerge", 100.0),
    ("merge_vs_yrs", 5.0),
    ("delta_bytes_vs_yrs", 1.0),
];

fn targets(one: &[Stats; 3], thousand: &[Stats; 3]) -> Value {
    let (r1, r1000) = (ratios(one), ratios(thousand));
    let mut met = serde_json::Map::new();
    let mut all = true;
    println!();
    println!("== targets (peer / ours; required ≥ the figure shown) ==");
    for (key, need) in REQUIRED {
        let a = r1[key].as_f64().unwrap_or(0.0);
        let b = r1000[key].as_f64().unwrap_or(0.0);
        let ok = a >= need && b >= need;
        all &= ok;
        met.insert(key.to_owned(), json!(ok));
        println!(
            "{key:<20} need ≥ {need:>5}: 1 visit {a:>9.2}, 1,000 visits {b:>9.2}  {}",
            if ok { "met" } else { "NOT MET" }
        );
    }
    met.insert("all".to_owned(), json!(all));
    println!("all targets met: {all}");
    let mut t = r1;
    t["thousand_visits"] = r1000;
    t["required"] = json!(REQUIRED
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect::<serde_json::Map<_, _>>());
    t["met"] = Value::Object(met);
    t
}

/// `CARGO_TARGET_DIR`, else `target/` at the workspace root.
fn target_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .unwrap_or(&manifest)
        .to_path_buf();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn scenario(visits: usize, budgets: [Budget; 3]) -> [Stats; 3] {
    let [s, a, y] = budgets;
    let slots = vec![
        slot::<tests::sync_core_engine::SyncCore>(s),
        slot::<automerge::Automerge>(a),
        slot::<yrs::Yrs>(y),
    ];
    measure(visits, slots).try_into().expect("three engines")
}

fn budget(warmup: usize, min_runs: usize, max_runs: usize, secs: f64, quick: bool) -> Budget {
    let scale = if quick { 0.1 } else { 1.0 };
    Budget {
        warmup,
        min_runs,
        max_runs: if quick {
            max_runs.div_ceil(10).max(min_runs)
        } else {
            max_runs
        },
        time: Duration::from_secs_f64(secs * scale),
    }
}

fn main() {
    let quick = std::env::var_os("PEER_BENCH_QUICK").is_some_and(|v| v != "0");
    let started = Instant::now();

    let one = scenario(
        1,
        [
            budget(50, 101, 20_001, 4.0, quick),
            budget(5, 21, 2_001, 6.0, quick),
            budget(10, 51, 5_001, 4.0, quick),
        ],
    );
    print_table("one visit", &one);

    let thousand = scenario(
        1_000,
        [
            budget(1, 5, 41, 12.0, quick),
            budget(0, 1, 7, 40.0, quick),
            budget(1, 3, 21, 20.0, quick),
        ],
    );
    print_table("1,000 visits", &thousand);

    let first_sync = first_sync_sizes(1_000);
    let targets = targets(&one, &thousand);
    let engines = |rows: &[Stats; 3]| {
        json!({
            "sync_core": stats_json(&rows[0]),
            "automerge": stats_json(&rows[1]),
            "yrs": stats_json(&rows[2]),
        })
    };
    let out = json!({
        "one_visit": engines(&one),
        "thousand_visits": engines(&thousand),
        "first_sync_bytes_per_visit": first_sync,
        "targets": targets,
    });
    let dir = target_dir();
    let path = dir.join("peer-bench.json");
    let text = serde_json::to_string_pretty(&out).expect("json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text + "\n")) {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(e) => println!("\ncould not write {}: {e}", path.display()),
    }
    println!("bench took {:.1}s", started.elapsed().as_secs_f64());
}

fn gzip(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).expect("gzip to memory");
    z.finish().expect("gzip to memory").len()
}

/// What a new phone's first sync of `visits` records costs on the wire, per
/// visit: sync-core's snapshots (each visit's merged state, what the server
/// sends a new phone) as sent, gzipped as HTTP sends them, beside the whole
/// op history, and automerge's and yrs's whole documents (already compact
/// and, for automerge, compressed), raw and gzipped.
fn first_sync_sizes(visits: usize) -> Value {
    let n = visits as f64;
    let ours = tests::script::bootstrap::<tests::sync_core_engine::SyncCore>(visits);
    let history = tests::script::full::<tests::sync_core_engine::SyncCore>(visits);
    let am = tests::script::full::<automerge::Automerge>(visits);
    let y = tests::script::full::<yrs::Yrs>(visits);
    println!();
    println!("== first sync of a new phone, {visits} visits (bytes per visit) ==");
    let row = |name: &str, b: &[u8]| {
        let (raw, z) = (b.len() as f64 / n, gzip(b) as f64 / n);
        println!("{name:<28} raw {raw:>9.1}  gzip {z:>9.1}");
        json!({ "raw": raw, "gzip": z })
    };
    let out = json!({
        "sync_core_snapshot": row("sync_core snapshots", &ours),
        "sync_core_history": row("sync_core whole history", &history),
        "automerge": row("automerge document", &am),
        "yrs": row("yrs document", &y),
    });
    println!(
        "sync_core snapshots gzipped = {:.2}x automerge's document gzipped",
        gzip(&ours) as f64 / gzip(&am) as f64
    );
    out
}
