//! The compact binary wire format for batches of ops.
//!
//! Wire types are separate from the in-memory [`Op`]; [`encode`] and [`decode`]
//! convert explicitly. A batch holds tables of the UUIDs it mentions (each sent
//! once), runs of consecutive sequence numbers per replica, clock readings as
//! deltas, and vocabulary identifiers as indices into a frozen symbol table.
//! The encoding is postcard (varints), so a typical field edit costs ~10 bytes.
//!
//! Compatibility: [`SYMBOLS_V1`] is append-only. An identifier that is not in
//! the table (a newer client's value) travels as text, so nothing is lost.

use crate::hlc::Hlc;
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::model::{PersonField, PersonSet, Position, Value, VisitField, VisitSet};
use crate::op::{Action, Op, SetTarget, Target};
use crate::vocab::{
    AgeGroup, ExploitationType, Gender, Indicator, LocationKind, NrmConsent, Offence,
    PartnerAgency, PersonRole, SafeguardingAction, Status, StopPower, VisitType,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The format version written first in every batch.
pub const FORMAT_VERSION: u8 = 1;

/// A batch could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Not postcard, truncated, or a wrong shape.
    #[error("malformed batch: {0}")]
    Malformed(String),
    /// A format version this build does not read.
    #[error("unsupported wire format version {0}")]
    Version(u8),
    /// A table index out of range.
    #[error("index {index} out of range for the {table} table")]
    BadIndex {
        /// Which table.
        table: &'static str,
        /// The index.
        index: u32,
    },
    /// A sequence number overflow in a run.
    #[error("sequence number overflow")]
    SeqOverflow,
}

/// The frozen symbol table, version 1: every known identifier at the time the
/// format was fixed, first occurrence kept. Append only.
fn symbols() -> &'static (Vec<&'static str>, HashMap<&'static str, u16>) {
    static TABLE: OnceLock<(Vec<&'static str>, HashMap<&'static str, u16>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut list: Vec<&'static str> = Vec::new();
        let mut index = HashMap::new();
        for group in SYMBOLS_V1 {
            for s in *group {
                if !index.contains_key(s) {
                    index.insert(*s, list.len() as u16);
                    list.push(*s);
                }
            }
        }
        (list, index)
    })
}

/// The groups making up the v1 symbol table, in order.
pub const SYMBOLS_V1: &[&[&str]] = &[
    VisitField::KNOWN,
    PersonField::KNOWN,
    VisitSet::KNOWN,
    PersonSet::KNOWN,
    LocationKind::KNOWN,
    VisitType::KNOWN,
    PartnerAgency::KNOWN,
    AgeGroup::KNOWN,
    Gender::KNOWN,
    PersonRole::KNOWN,
    ExploitationType::KNOWN,
    NrmConsent::KNOWN,
    StopPower::KNOWN,
    SafeguardingAction::KNOWN,
    Offence::KNOWN,
    Indicator::KNOWN,
    Status::KNOWN,
];

/// A string that is usually a known identifier.
#[derive(Serialize, Deserialize)]
enum Sym {
    Known(u16),
    Other(String),
}

#[derive(Serialize, Deserialize)]
struct WId {
    replica: u32,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
enum WTarget {
    Visit(Sym),
    Person(u32, Sym),
    Arrests(Sym),
}

#[derive(Serialize, Deserialize)]
enum WSet {
    Visit(Sym),
    Person(u32, Sym),
}

#[derive(Serialize, Deserialize)]
enum WValue {
    Empty,
    Text(Sym),
    Int(i64),
    Bool(bool),
    Time(i64),
    Position(i32, i32, u32),
}

#[derive(Serialize, Deserialize)]
enum WAction {
    Create(u32),
    Set(WTarget, WValue, Vec<WId>),
    Add(WSet, Sym),
    Remove(WSet, Sym, Vec<WId>),
    AddPerson(u32),
    Note(String),
    Status(Sym),
}

#[derive(Serialize, Deserialize)]
struct WOp {
    /// Wall time minus the previous op's wall time in the batch.
    wall_delta: i64,
    counter: u32,
    visit: u32,
    action: WAction,
}

#[derive(Serialize, Deserialize)]
struct Run {
    replica: u32,
    first_seq: u64,
    ops: Vec<WOp>,
}

#[derive(Serialize, Deserialize)]
struct Batch {
    version: u8,
    replicas: Vec<[u8; 16]>,
    visits: Vec<[u8; 16]>,
    others: Vec<[u8; 16]>,
    runs: Vec<Run>,
}

#[derive(Default)]
struct Table {
    list: Vec<[u8; 16]>,
    index: HashMap<[u8; 16], u32>,
}

impl Table {
    fn idx(&mut self, id: &[u8; 16]) -> u32 {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        let i = self.list.len() as u32;
        self.list.push(*id);
        self.index.insert(*id, i);
        i
    }
}

fn sym(s: &str) -> Sym {
    match symbols().1.get(s) {
        Some(i) => Sym::Known(*i),
        None => Sym::Other(s.to_owned()),
    }
}

/// Encodes ops (any order; runs are formed from consecutive sequence numbers).
pub fn encode<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<u8> {
    let (mut replicas, mut visits, mut others) =
        (Table::default(), Table::default(), Table::default());
    let mut runs: Vec<Run> = Vec::new();
    let mut prev_wall: u64 = 0;
    let mut next: Option<(ReplicaId, u64)> = None;
    for op in ops {
        let r = replicas.idx(op.id.replica.as_bytes());
        let mut wid = |id: &OpId| WId {
            replica: replicas.idx(id.replica.as_bytes()),
            seq: id.seq,
        };
        let action = match &op.action {
            Action::Create { operation } => WAction::Create(others.idx(operation.as_bytes())),
            Action::Set {
                target,
                value,
                pred,
            } => {
                let t = match target {
                    Target::Visit(f) => WTarget::Visit(sym(f.as_str())),
                    Target::Person(p, f) => {
                        WTarget::Person(others.idx(p.as_bytes()), sym(f.as_str()))
                    }
                    Target::Arrests(o) => WTarget::Arrests(sym(o.as_str())),
                };
                let v = match value {
                    Value::Empty => WValue::Empty,
                    Value::Text(s) => WValue::Text(sym(s)),
                    Value::Int(n) => WValue::Int(*n),
                    Value::Bool(b) => WValue::Bool(*b),
                    Value::Time(t) => WValue::Time(*t),
                    Value::Position(p) => WValue::Position(p.lat_e7, p.lon_e7, p.accuracy_m),
                };
                WAction::Set(t, v, pred.iter().map(&mut wid).collect())
            }
            Action::Add { set, elem } => WAction::Add(wset(set, &mut others), sym(elem)),
            Action::Remove {
                set,
                elem,
                observed,
            } => {
                let obs = observed.iter().map(&mut wid).collect();
                WAction::Remove(wset(set, &mut others), sym(elem), obs)
            }
            Action::AddPerson { person } => WAction::AddPerson(others.idx(person.as_bytes())),
            Action::Note { text } => WAction::Note(text.clone()),
            Action::Status { status } => WAction::Status(sym(status.as_str())),
        };
        let wop = WOp {
            wall_delta: op.hlc.wall_ms.wrapping_sub(prev_wall) as i64,
            counter: op.hlc.counter,
            visit: visits.idx(op.visit.as_bytes()),
            action,
        };
        prev_wall = op.hlc.wall_ms;
        match (next, runs.last_mut()) {
            (Some(n), Some(run)) if n == (op.id.replica, op.id.seq) => run.ops.push(wop),
            _ => runs.push(Run {
                replica: r,
                first_seq: op.id.seq,
                ops: vec![wop],
            }),
        }
        next = Some((op.id.replica, op.id.seq.wrapping_add(1)));
    }
    let batch = Batch {
        version: FORMAT_VERSION,
        replicas: replicas.list,
        visits: visits.list,
        others: others.list,
        runs,
    };
    postcard::to_allocvec(&batch).expect("serialising to a Vec cannot fail")
}

fn wset(set: &SetTarget, others: &mut Table) -> WSet {
    match set {
        SetTarget::Visit(s) => WSet::Visit(sym(s.as_str())),
        SetTarget::Person(p, s) => WSet::Person(others.idx(p.as_bytes()), sym(s.as_str())),
    }
}

struct Decoder<'a> {
    b: &'a Batch,
}

impl Decoder<'_> {
    fn get(list: &[[u8; 16]], table: &'static str, i: u32) -> Result<[u8; 16], WireError> {
        list.get(i as usize)
            .copied()
            .ok_or(WireError::BadIndex { table, index: i })
    }
    fn replica(&self, i: u32) -> Result<ReplicaId, WireError> {
        Self::get(&self.b.replicas, "replica", i).map(ReplicaId::from_bytes)
    }
    fn other(&self, i: u32) -> Result<[u8; 16], WireError> {
        Self::get(&self.b.others, "uuid", i)
    }
    fn sym(s: Sym) -> Result<String, WireError> {
        match s {
            Sym::Other(s) => Ok(s),
            Sym::Known(i) => {
                symbols()
                    .0
                    .get(i as usize)
                    .map(|s| (*s).to_owned())
                    .ok_or(WireError::BadIndex {
                        table: "symbol",
                        index: u32::from(i),
                    })
            }
        }
    }
    fn id(&self, w: WId) -> Result<OpId, WireError> {
        Ok(OpId::new(self.replica(w.replica)?, w.seq))
    }
    fn ids(&self, ws: Vec<WId>) -> Result<Vec<OpId>, WireError> {
        ws.into_iter().map(|w| self.id(w)).collect()
    }
    fn set(&self, s: WSet) -> Result<SetTarget, WireError> {
        Ok(match s {
            WSet::Visit(n) => SetTarget::Visit(VisitSet::parse(&Self::sym(n)?)),
            WSet::Person(p, n) => SetTarget::Person(
                PersonId::from_bytes(self.other(p)?),
                PersonSet::parse(&Self::sym(n)?),
            ),
        })
    }
}

/// Decodes a batch made by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, WireError> {
    let batch: Batch =
        postcard::from_bytes(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    if batch.version != FORMAT_VERSION {
        return Err(WireError::Version(batch.version));
    }
    let Batch {
        replicas,
        visits,
        others,
        runs,
        ..
    } = batch;
    let tables = Batch {
        version: FORMAT_VERSION,
        replicas,
        visits,
        others,
        runs: Vec::new(),
    };
    let d = Decoder { b: &tables };
    let mut out = Vec::new();
    let mut wall: u64 = 0;
    for run in runs {
        let replica = d.replica(run.replica)?;
        for (i, w) in run.ops.into_iter().enumerate() {
            let seq = run
                .first_seq
                .checked_add(i as u64)
                .ok_or(WireError::SeqOverflow)?;
            wall = wall.wrapping_add(w.wall_delta as u64);
            let visit = VisitId::from_bytes(Decoder::get(&d.b.visits, "visit", w.visit)?);
            let action = match w.action {
                WAction::Create(o) => Action::Create {
                    operation: OperationId::from_bytes(d.other(o)?),
                },
                WAction::Set(t, v, pred) => {
                    let target = match t {
                        WTarget::Visit(f) => Target::Visit(VisitField::parse(&Decoder::sym(f)?)),
                        WTarget::Person(p, f) => Target::Person(
                            PersonId::from_bytes(d.other(p)?),
                            PersonField::parse(&Decoder::sym(f)?),
                        ),
                        WTarget::Arrests(o) => Target::Arrests(Offence::parse(&Decoder::sym(o)?)),
                    };
                    let value = match v {
                        WValue::Empty => Value::Empty,
                        WValue::Text(s) => Value::Text(Decoder::sym(s)?),
                        WValue::Int(n) => Value::Int(n),
                        WValue::Bool(b) => Value::Bool(b),
                        WValue::Time(t) => Value::Time(t),
                        WValue::Position(lat_e7, lon_e7, accuracy_m) => Value::Position(Position {
                            lat_e7,
                            lon_e7,
                            accuracy_m,
                        }),
                    };
                    Action::Set {
                        target,
                        value,
                        pred: d.ids(pred)?,
                    }
                }
                WAction::Add(s, e) => Action::Add {
                    set: d.set(s)?,
                    elem: Decoder::sym(e)?,
                },
                WAction::Remove(s, e, obs) => Action::Remove {
                    set: d.set(s)?,
                    elem: Decoder::sym(e)?,
                    observed: d.ids(obs)?,
                },
                WAction::AddPerson(p) => Action::AddPerson {
                    person: PersonId::from_bytes(d.other(p)?),
                },
                WAction::Note(text) => Action::Note { text },
                WAction::Status(s) => Action::Status {
                    status: Status::parse(&Decoder::sym(s)?),
                },
            };
            out.push(Op {
                id: OpId::new(replica, seq),
                hlc: Hlc::new(wall, w.counter),
                visit,
                action,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn symbol_table_v1_is_frozen() {
        // If this fails, the v1 symbol table changed: existing devices would decode
        // identifiers wrongly. Only append (new groups at the end of SYMBOLS_V1,
        // new identifiers at the end of the last group), then update the figures.
        let (list, _) = symbols();
        let joined = list.join(",");
        let fnv = joined.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(
            (list.len(), fnv),
            (list.len(), fnv_pinned()),
            "symbols: {joined}"
        );
    }

    fn fnv_pinned() -> u64 {
        include!("wire_symbols_v1.fnv")
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &[][..],
            &[1, 2, 3],
            &[FORMAT_VERSION, 200, 200, 200, 200],
            &[9, 0, 0, 0, 0],
        ] {
            assert!(decode(bytes).is_err(), "{bytes:?}");
        }
    }
}
