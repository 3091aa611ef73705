//! A seeded fuzz harness for push parsing as the server does it
//! ([`super::parse_push`]): JSON bodies and sync-core wire bodies, valid ones
//! mutated (bits, bytes, cut, duplicated and spliced ranges; JSON values
//! replaced by extreme or ill-typed ones), random bytes, and the wrong
//! content type. Nothing may panic; a refused body is a 4xx JSON
//! `{code, message}` with one of the push's codes; an accepted one holds at
//! most the batch limit, every op validates (or refuses) without panicking and
//! reads back from the JSON the server stores; a malformed op's kept text is
//! cut to 4 KiB.
//!
//! Short by default (a second or so in the normal test run). The long run:
//! `AIDANT_FUZZ_CASES=1000000 cargo test -p server --release --lib fuzz`;
//! `AIDANT_FUZZ_SEED` picks another seed and `AIDANT_FUZZ_FROM=<case>`
//! replays from a failing case (both printed on failure).

use super::parse_push;
use crate::db::sync::Incoming;
use serde_json::{json, Value};
use sync_core::rand::SplitMix64;
use sync_core::{
    wire, LocationKind, Op, OperationId, PersonField, PersonId, Replica, ReplicaId, SetTarget,
    Target, VisitField, VisitId, VisitSet,
};

/// The shared seeded source, with the draws mutations use.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Batches of real ops, as a phone makes them.
fn corpus() -> Vec<Vec<Op>> {
    let mut out = Vec::new();
    for n in 1..=3u128 {
        let mut r = Replica::new(ReplicaId::from_u128(n));
        let visit = VisitId(uuid::Uuid::from_u128(100 + n));
        let person = PersonId(uuid::Uuid::from_u128(200 + n));
        let t = 1_780_000_000_000 + n as u64;
        let mut ops = r
            .create_visit(
                t,
                visit,
                OperationId(uuid::Uuid::from_u128(7)),
                LocationKind::CarWash,
            )
            .unwrap();
        let text = |s: &str| sync_core::Value::Text(s.into());
        ops.push(
            r.set(
                t + 1,
                visit,
                Target::Visit(VisitField::Postcode),
                text("OX4 1AA"),
            )
            .unwrap()
            .clone(),
        );
        ops.push(
            r.add(
                t + 2,
                visit,
                SetTarget::Visit(VisitSet::Indicators),
                "cw_cash_only_no_receipts",
            )
            .unwrap()
            .clone(),
        );
        ops.push(r.add_person(t + 3, visit, person).unwrap().clone());
        ops.push(
            r.set(
                t + 4,
                visit,
                Target::Person(person, PersonField::AgeGroup),
                text("adult"),
            )
            .unwrap()
            .clone(),
        );
        ops.push(
            r.note(t + 5, visit, "Workers sleep in the portacabin. «ß» 🚐")
                .unwrap()
                .clone(),
        );
        if let Some(op) = r
            .remove(
                t + 6,
                visit,
                SetTarget::Visit(VisitSet::Indicators),
                "cw_cash_only_no_receipts",
            )
            .unwrap()
        {
            ops.push(op.clone());
        }
        out.push(ops);
    }
    out
}

/// Byte-level mutations: flipped bits, changed, inserted and deleted bytes,
/// duplicated, cut and spliced ranges.
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => bytes[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => bytes[rng.below(len)] = rng.next() as u8,
            2 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let fill: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, fill);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(16)).min(len);
                bytes.drain(at..end);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(len);
                let copy = bytes[at..end].to_vec();
                let to = rng.below(len + 1);
                bytes.splice(to..to, copy);
            }
            5 => bytes.truncate(rng.below(len + 1)),
            _ if len > 0 => {
                // A JSON-ish token where a byte was.
                const TOKENS: [&str; 12] = [
                    "null",
                    "true",
                    "-0",
                    "1e999",
                    "18446744073709551616",
                    "\"\\u0000\"",
                    "\"\\ud800\"",
                    "[]",
                    "{}",
                    ",",
                    "\"ops\"",
                    "[[[[[[[[",
                ];
                let at = rng.below(len);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                bytes.splice(at..at, t);
            }
            _ => {}
        }
    }
}

/// A value of another shape or range than the one it replaces.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(-1),
        5 => json!(1.5),
        6 => json!(""),
        7 => json!("x".repeat(rng.below(10_000))),
        8 => json!([]),
        9 => json!({}),
        10 => json!("00000000-0000-0000-0000-000000000000"),
        11 => json!("\u{0}\u{202e}é🚐"),
        12 => {
            let mut v = json!(1);
            for _ in 0..rng.below(200) {
                v = json!([v]);
            }
            v
        }
        _ => json!({ "kind": "set", "x": [1, 2, 3] }),
    }
}

/// Replaces, removes or adds one value somewhere in `v`.
fn mutate_value(v: &mut Value, rng: &mut Rng, depth: usize) {
    let descend = depth < 6 && rng.below(3) != 0;
    match v {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(rng.below(m.len())).unwrap().clone();
            if descend {
                mutate_value(m.get_mut(&key).unwrap(), rng, depth + 1);
            } else {
                match rng.below(3) {
                    0 => drop(m.remove(&key)),
                    1 => drop(m.insert(format!("{key}_"), odd_value(rng))),
                    _ => drop(m.insert(key, odd_value(rng))),
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            if descend {
                mutate_value(&mut a[i], rng, depth + 1);
            } else {
                match rng.below(3) {
                    0 => drop(a.remove(i)),
                    1 => a.push(a[i].clone()),
                    _ => a[i] = odd_value(rng),
                }
            }
        }
        _ => *v = odd_value(rng),
    }
}

/// One case: a body, its content type and the batch limit.
fn case(corpus: &[Vec<Op>], rng: &mut Rng) -> (Vec<u8>, &'static str, usize) {
    let ops = &corpus[rng.below(corpus.len())];
    let take = rng.below(ops.len() + 1);
    let ops = &ops[..take];
    let (json_ct, wire_ct) = ("application/json", "application/octet-stream");
    let (mut body, mut ct) = match rng.below(5) {
        0 => {
            let mut v = json!({ "ops": ops });
            for _ in 0..1 + rng.below(3) {
                mutate_value(&mut v, rng, 0);
            }
            (serde_json::to_vec(&v).unwrap(), json_ct)
        }
        1 => {
            let mut b = serde_json::to_vec(&json!({ "ops": ops })).unwrap();
            mutate_bytes(&mut b, rng);
            (b, json_ct)
        }
        2 => {
            let mut b = wire::encode(ops);
            if rng.below(4) != 0 {
                mutate_bytes(&mut b, rng);
            }
            (b, wire_ct)
        }
        3 => {
            let n = rng.below(256);
            let b = (0..n).map(|_| rng.next() as u8).collect();
            (b, if rng.chance(2) { json_ct } else { wire_ct })
        }
        _ => (serde_json::to_vec(&json!({ "ops": ops })).unwrap(), json_ct),
    };
    if rng.chance(20) {
        ct = [
            "text/plain",
            "application/jsonx",
            "",
            "application/octet-stream; x=1",
        ][rng.below(4)];
    }
    if rng.chance(50) {
        body.clear();
    }
    let max = if rng.chance(4) { rng.below(4) } else { 1_000 };
    (body, ct, max)
}

/// Checks what `parse_push` made of one body.
fn check(body: &[u8], ct: &str, max: usize) {
    match parse_push(ct, body, max) {
        Ok(items) => {
            assert!(
                items.len() <= max,
                "{} ops over a limit of {max}",
                items.len()
            );
            for item in items {
                match item {
                    Incoming::Op(op) => {
                        let _ = op.validate();
                        let stored = serde_json::to_string(&op).expect("an op serialises");
                        let back: Op =
                            serde_json::from_str(&stored).expect("a stored op reads back");
                        assert_eq!(back, op, "{stored}");
                    }
                    Incoming::Malformed { raw, message } => {
                        assert!(raw.len() <= 4_096, "kept {} bytes", raw.len());
                        assert!(!message.is_empty());
                    }
                }
            }
        }
        Err(e) => {
            assert!(e.status().is_client_error(), "{e}");
            let body: Value = serde_json::from_slice(&e.json_body()).expect("JSON error body");
            assert_eq!(body["code"], e.code());
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
            assert!(
                [
                    "malformed_json",
                    "malformed_batch",
                    "invalid_field",
                    "batch_too_large",
                    "unsupported_media_type",
                ]
                .contains(&e.code()),
                "{e}"
            );
        }
    }
}

#[test]
fn fuzz_push_parsing() {
    let seed = env("AIDANT_FUZZ_SEED", 0xA1DA_7E57);
    let from = env("AIDANT_FUZZ_FROM", 0);
    let cases = env("AIDANT_FUZZ_CASES", 3_000);
    let corpus = corpus();
    let start = std::time::Instant::now();
    for n in from..cases {
        let mut rng = Rng(SplitMix64::new(
            seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D),
        ));
        let (body, ct, max) = case(&corpus, &mut rng);
        let r = std::panic::catch_unwind(|| check(&body, ct, max));
        if r.is_err() {
            panic!(
                "case {n} failed (AIDANT_FUZZ_SEED={seed} AIDANT_FUZZ_FROM={n}); {ct}, max {max}, body {:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    println!(
        "push parsing: {} cases (seed {seed}) in {:.1} s",
        cases.saturating_sub(from),
        start.elapsed().as_secs_f64()
    );
}
