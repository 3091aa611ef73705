//! Inputs for the fuzz harness (`fuzz.rs`) and the decoding memory test
//! (`tests/decode_memory.rs`): structured mutations of valid encoded batches,
//! random bytes, and random op sequences, valid or not, all from a seed.

use crate::world::{Rng, World};
use std::collections::BTreeSet;
use sync_core::hlc::MAX_WALL_MS;
use sync_core::ids::MAX_SEQ;
use sync_core::*;

const T0: u64 = 1_790_000_000_000;
const EXTREME_U64: [u64; 8] = [
    0,
    1,
    MAX_SEQ,
    1 << 53,
    1 << 61,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];

/// Valid batches to mutate: small worlds' histories, and batches of random
/// (often invalid) ops, encoded.
pub fn corpus(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                let w = World::run(rng.next_u64(), 2 + i % 3, 4 + i % 24);
                wire::encode(&w.universe)
            } else {
                let n = 1 + rng.below(24) as usize;
                wire::encode(&random_ops(&mut rng, n))
            }
        })
        .collect()
}

/// Bytes worth writing over a varint or a count.
fn interesting(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => vec![0],
        1 => vec![0x7f],
        2 => vec![0xff; 1 + rng.below(10) as usize],
        3 => vec![0xff, 0xff, 0xff, 0xff, 0x0f], // about 4 billion
        4 => {
            // A long varint ending in high bits.
            let mut v = vec![0x80; 9];
            v.push(rng.below(0x80) as u8);
            v
        }
        _ => vec![0x80 | rng.below(0x80) as u8, rng.below(0x80) as u8],
    }
}

/// Applies one structured mutation to `bytes` (up to eight, one time in four).
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let times = if rng.chance(25) { 1 + rng.below(8) } else { 1 };
    for _ in 0..times {
        let n = bytes.len();
        let at = if n == 0 {
            0
        } else {
            rng.below(n as u64) as usize
        };
        match rng.below(11) {
            // Nudge a byte (often keeps the batch well formed).
            9 | 10 if n > 0 => {
                bytes[at] = if rng.chance(50) {
                    bytes[at].wrapping_add(1)
                } else {
                    bytes[at].wrapping_sub(1)
                }
            }
            0 if n > 0 => bytes[at] ^= 1 << rng.below(8),
            1 if n > 0 => bytes[at] = rng.next_u64() as u8,
            2 => {
                let ins = interesting(rng);
                bytes.splice(at..at, ins);
            }
            3 if n > 0 => {
                let end = (at + 1 + rng.below(16) as usize).min(n);
                let with = interesting(rng);
                bytes.splice(at..end, with);
            }
            4 if n > 0 => {
                let end = (at + 1 + rng.below(32) as usize).min(n);
                bytes.drain(at..end);
            }
            5 if n > 0 => {
                // Duplicate a range (repeats ops, tables, runs).
                let end = (at + 1 + rng.below(64) as usize).min(n);
                let copy = bytes[at..end].to_vec();
                let to = rng.below(n as u64 + 1) as usize;
                bytes.splice(to..to, copy);
            }
            6 if !corpus.is_empty() => {
                // Splice in part of another batch.
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let from = rng.below(other.len() as u64) as usize;
                    let end = (from + 1 + rng.below(64) as usize).min(other.len());
                    bytes.splice(at..at, other[from..end].iter().copied());
                }
            }
            7 => bytes.truncate(at),
            _ => {
                let extra: Vec<u8> = (0..rng.below(16)).map(|_| rng.next_u64() as u8).collect();
                bytes.splice(at..at, extra);
            }
        }
    }
}

/// Up to `max` random bytes, starting with the format version half the time.
pub fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = rng.below(max as u64 + 1) as usize;
    let mut b: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
    if !b.is_empty() && rng.chance(50) {
        b[0] = wire::FORMAT_VERSION;
    }
    b
}

fn one_of(rng: &mut Rng, names: &[&'static str]) -> &'static str {
    names[rng.below(names.len() as u64) as usize]
}

fn text(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => "  ".into(),
        2 => "bad\u{0}byte".into(),
        3 => "x".repeat(rng.below(600) as usize),
        4 => "RED van, two men".into(),
        5 => "Ünïcödé ✓".into(),
        _ => format!("t{}", rng.below(100)),
    }
}

fn identifier(rng: &mut Rng) -> String {
    rng.pick(&[
        "no_id_documents",
        "fear_of_police",
        "a_newer_clients_thing",
        "Not An Identifier",
        "",
        "drug_supply",
        "reviewed",
        "submitted",
    ])
    .to_string()
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Empty,
        1 => Value::Text(if rng.chance(50) {
            text(rng)
        } else {
            identifier(rng)
        }),
        2 => Value::Int(match rng.below(3) {
            0 => rng.below(300) as i64,
            1 => *rng.pick(&EXTREME_U64) as i64,
            _ => -(rng.below(5) as i64),
        }),
        3 => Value::Bool(rng.chance(50)),
        4 => Value::Time(if rng.chance(70) {
            (T0 + rng.below(1 << 30)) as i64
        } else {
            *rng.pick(&EXTREME_U64) as i64
        }),
        5 => Value::Position(Position {
            lat_e7: rng.next_u64() as i32 / 2,
            lon_e7: rng.next_u64() as i32,
            accuracy_m: rng.below(100) as u32,
        }),
        _ => Value::Text("OX1 1AA".into()),
    }
}

/// `n` random ops with distinct ids: valid and invalid, extreme clocks and
/// sequence numbers, preds naming earlier or unknown ops, removes naming
/// other elements' tags.
pub fn random_ops(rng: &mut Rng, n: usize) -> Vec<Op> {
    let replicas: Vec<ReplicaId> = (0..4).map(|i| ReplicaId::from_u128(0x100 + i)).collect();
    let visits = [VisitId::from_u128(0xB1), VisitId::from_u128(0xB2)];
    let persons = [PersonId::from_u128(0xC1), PersonId::from_u128(0xC2)];
    let mut next = [1u64; 4];
    let mut used = BTreeSet::new();
    let mut out: Vec<Op> = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.below(4) as usize;
        let seq = if rng.chance(8) {
            *rng.pick(&EXTREME_U64)
        } else {
            next[r] += 1 + u64::from(rng.chance(10)) * rng.below(3);
            next[r] - 1
        };
        if !used.insert((r, seq)) {
            continue;
        }
        let wall = match rng.below(20) {
            0 => *rng.pick(&EXTREME_U64),
            1 => MAX_WALL_MS,
            _ => T0 + rng.below(100_000),
        };
        let counter = match rng.below(10) {
            0 => u32::MAX,
            1 => rng.next_u64() as u32,
            _ => 0,
        };
        let earlier = |rng: &mut Rng, out: &[Op]| -> OpId {
            if !out.is_empty() && rng.chance(80) {
                rng.pick(out).id
            } else {
                OpId::new(*rng.pick(&replicas), *rng.pick(&EXTREME_U64))
            }
        };
        let ids = |rng: &mut Rng, out: &[Op]| -> Vec<OpId> {
            let k = if rng.chance(2) {
                257
            } else {
                rng.below(4) as usize
            };
            (0..k).map(|_| earlier(rng, out)).collect()
        };
        let person = *rng.pick(&persons);
        let set = if rng.chance(70) {
            SetTarget::Visit(VisitSet::parse(one_of(
                rng,
                &["indicators", "officers", "a_new_set"],
            )))
        } else {
            SetTarget::Person(
                person,
                PersonSet::parse(one_of(rng, &["indicators", "Bad Set"])),
            )
        };
        let action = match rng.below(9) {
            0 => Action::Create {
                operation: OperationId::from_u128(1 + u128::from(rng.chance(20))),
            },
            1 | 2 => Action::Set {
                target: match rng.below(4) {
                    0 => Target::Visit(VisitField::parse(one_of(
                        rng,
                        &["postcode", "summary", "started_at", "occupants"],
                    ))),
                    1 => Target::Visit(VisitField::parse("a_newer_field")),
                    2 => Target::Person(
                        person,
                        PersonField::parse(one_of(rng, &["name", "removed"])),
                    ),
                    _ => Target::Arrests(Offence::parse(&identifier(rng))),
                },
                value: value(rng),
                pred: ids(rng, &out),
            },
            3 | 4 => Action::Add {
                set,
                elem: identifier(rng),
            },
            5 => {
                // Observed tags: the element's own adds, or any op's (forged).
                Action::Remove {
                    set,
                    elem: identifier(rng),
                    observed: ids(rng, &out),
                }
            }
            6 => Action::AddPerson { person },
            7 => Action::Note { text: text(rng) },
            _ => Action::Status {
                status: Status::parse(&identifier(rng)),
                round: rng.below(3) as u32,
                reason: rng.chance(50).then(|| text(rng)),
            },
        };
        out.push(Op {
            id: OpId::new(replicas[r], seq),
            hlc: Hlc::new(wall, counter),
            visit: *rng.pick(&visits),
            action,
        });
    }
    out
}
