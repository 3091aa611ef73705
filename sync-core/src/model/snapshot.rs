//! Snapshots: the merged state of visits, without their history, for a new
//! phone's first sync (issue 11).
//!
//! A visit's state is a join of the ops it has seen, and [`Visit::merge`] is
//! that join, so a replica that merges a snapshot and later applies ops
//! (some of them already inside the snapshot) reaches the same state as one
//! that applied every op: applying an op is joining its singleton state, and
//! the join is idempotent, commutative and associative. For that to hold the
//! snapshot carries everything the state holds, not only what it shows:
//! every live write, the ids writes have superseded (a late copy of a
//! superseded write must stay dead), and each set element's removed tags.
//!
//! Format: [`SNAPSHOT_MAGIC`], a version byte, then postcard. A visit is its
//! id, its operation and first stamps, its persons (each once, later named
//! by index) and a list of *atoms*, one per op id the state holds: a live
//! write, a superseded id, a live add tag, a removed tag, a note, the status
//! write. Atoms are sorted by op id, so sequence numbers and clock readings
//! are written as differences from the previous atom's (zigzag varints,
//! wrapping, so every value round-trips) and are mostly one byte: the state
//! costs about what its surviving ops cost in the wire format. Replica ids
//! are written once per batch and named by index; field, set and vocabulary
//! names by their index in the wire format's frozen symbol table. A stamp's
//! replica is its op's (as for every stamp an op makes).

use super::{Person, Visit};
use crate::hlc::{Hlc, Stamp};
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::lattice::{MvRegister, OrSet, VecMap};
use crate::model::{PersonField, PersonSet, Value, VisitField, VisitSet};
use crate::vocab::{Offence, Status};
use crate::wire::{symbol, symbol_index};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first bytes of a snapshot batch.
pub const SNAPSHOT_MAGIC: &[u8; 4] = b"AIDS";
/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u8 = 1;

/// A snapshot batch could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot, or from a newer build.
    #[error("not a snapshot batch this build reads")]
    Format,
    /// More visits than the caller allows.
    #[error("snapshot batch holds more than {max} visits")]
    TooManyVisits {
        /// The caller's limit.
        max: usize,
    },
    /// A replica index points outside the table, or a clock reading is out of range.
    #[error("snapshot batch is inconsistent: {0}")]
    Inconsistent(&'static str),
    /// The bytes do not decode.
    #[error("snapshot batch is unreadable: {0}")]
    Decode(#[from] postcard::Error),
}

#[derive(Serialize, Deserialize)]
struct Batch {
    replicas: Vec<ReplicaId>,
    visits: Vec<VisitW>,
}

/// An identifier or a text: known identifiers (field, set and vocabulary
/// names) by their index in the wire format's frozen symbol table.
#[derive(Serialize, Deserialize)]
enum SymW {
    Known(u32),
    Text(String),
}

impl SymW {
    fn of(s: &str) -> Self {
        symbol_index(s).map_or_else(|| SymW::Text(s.to_owned()), SymW::Known)
    }

    fn text(self) -> Result<String, SnapshotError> {
        match self {
            SymW::Known(i) => symbol(i)
                .map(str::to_owned)
                .ok_or(SnapshotError::Inconsistent("symbol index")),
            SymW::Text(s) => Ok(s),
        }
    }
}

/// A value, with vocabulary identifiers by symbol.
#[derive(Serialize, Deserialize)]
enum ValueW {
    Empty,
    Text(SymW),
    Int(i64),
    Bool(bool),
    Time(i64),
    Position(crate::model::Position),
}

impl ValueW {
    fn of(v: &Value) -> Self {
        match v {
            Value::Empty => ValueW::Empty,
            Value::Text(s) => ValueW::Text(SymW::of(s)),
            Value::Int(n) => ValueW::Int(*n),
            Value::Bool(b) => ValueW::Bool(*b),
            Value::Time(t) => ValueW::Time(*t),
            Value::Position(p) => ValueW::Position(*p),
        }
    }

    fn value(self) -> Result<Value, SnapshotError> {
        Ok(match self {
            ValueW::Empty => Value::Empty,
            ValueW::Text(s) => Value::Text(s.text()?),
            ValueW::Int(n) => Value::Int(n),
            ValueW::Bool(b) => Value::Bool(b),
            ValueW::Time(t) => Value::Time(t),
            ValueW::Position(p) => Value::Position(p),
        })
    }
}

/// A stamp: wall ms, counter, replica index (absolute; only atoms are
/// written as differences).
#[derive(Clone, Copy, Serialize, Deserialize)]
struct StW(u64, u32, u32);

#[derive(Serialize, Deserialize)]
struct VisitW {
    id: VisitId,
    operation: Option<(StW, OperationId)>,
    first: Option<StW>,
    persons: Vec<(PersonId, StW)>,
    atoms: Vec<AtomW>,
    unrecognised_status: Vec<String>,
}

/// One op id the state holds: replica index, sequence number and, for
/// atoms with a stamp, wall ms (both as differences from the previous
/// atom's), and what the state holds of it.
#[derive(Serialize, Deserialize)]
struct AtomW {
    r: u32,
    seq: i64,
    kind: KindW,
}

#[derive(Serialize, Deserialize)]
enum TargetW {
    Visit(SymW),
    Arrests(SymW),
    Person(u32, SymW),
}

#[derive(Serialize, Deserialize)]
enum SetTW {
    Visit(SymW),
    Person(u32, SymW),
}

#[derive(Serialize, Deserialize)]
enum KindW {
    Live {
        ms: i64,
        counter: u32,
        target: TargetW,
        value: ValueW,
    },
    Superseded(TargetW),
    Tag(SetTW, SymW),
    Removed(SetTW, SymW),
    Note {
        ms: i64,
        counter: u32,
        text: String,
    },
    Status {
        ms: i64,
        counter: u32,
        status: SymW,
        round: u32,
        reason: Option<String>,
    },
}

impl KindW {
    fn ms(&mut self) -> Option<&mut i64> {
        match self {
            KindW::Live { ms, .. } | KindW::Note { ms, .. } | KindW::Status { ms, .. } => Some(ms),
            _ => None,
        }
    }
}

/// Builds the replica table and a visit's atoms.
struct Writer {
    replicas: Vec<ReplicaId>,
    index: BTreeMap<ReplicaId, u32>,
}

/// Which register or set an atom belongs to, before it is written.
#[derive(Clone, Copy)]
enum Reg<'a> {
    Visit(&'a VisitField),
    Arrests(&'a Offence),
    Person(u32, &'a PersonField),
}

impl Reg<'_> {
    fn w(self) -> TargetW {
        match self {
            Reg::Visit(f) => TargetW::Visit(SymW::of(f.as_str())),
            Reg::Arrests(o) => TargetW::Arrests(SymW::of(o.as_str())),
            Reg::Person(p, f) => TargetW::Person(p, SymW::of(f.as_str())),
        }
    }
}

impl Writer {
    fn replica(&mut self, r: ReplicaId) -> u32 {
        if let Some(i) = self.index.get(&r) {
            return *i;
        }
        let i = u32::try_from(self.replicas.len()).unwrap_or(u32::MAX);
        self.replicas.push(r);
        self.index.insert(r, i);
        i
    }

    fn stamp(&mut self, s: &Stamp) -> StW {
        StW(s.hlc.wall_ms, s.hlc.counter, self.replica(s.replica))
    }

    /// An atom with absolute numbers (made relative once sorted).
    fn atom(&mut self, id: &OpId, kind: KindW) -> (u32, u64, KindW) {
        (self.replica(id.replica), id.seq, kind)
    }

    fn reg(&mut self, at: Reg, r: &MvRegister<Value>, out: &mut Vec<(u32, u64, KindW)>) {
        for v in r.versions() {
            let kind = KindW::Live {
                ms: v.stamp.hlc.wall_ms as i64,
                counter: v.stamp.hlc.counter,
                target: at.w(),
                value: ValueW::of(&v.value),
            };
            out.push(self.atom(&v.id, kind));
        }
        for id in r.superseded() {
            out.push(self.atom(id, KindW::Superseded(at.w())));
        }
    }

    fn set(&mut self, at: impl Fn() -> SetTW, s: &OrSet<String>, out: &mut Vec<(u32, u64, KindW)>) {
        for (elem, adds, removed) in s.entries() {
            for id in adds {
                out.push(self.atom(id, KindW::Tag(at(), SymW::of(elem))));
            }
            for id in removed {
                out.push(self.atom(id, KindW::Removed(at(), SymW::of(elem))));
            }
        }
    }

    fn visit(&mut self, v: &Visit) -> VisitW {
        let mut atoms = Vec::new();
        for (f, r) in v.fields.iter() {
            self.reg(Reg::Visit(f), r, &mut atoms);
        }
        for (o, r) in v.arrests.iter() {
            self.reg(Reg::Arrests(o), r, &mut atoms);
        }
        for (k, s) in v.sets.iter() {
            self.set(|| SetTW::Visit(SymW::of(k.as_str())), s, &mut atoms);
        }
        let mut persons = Vec::with_capacity(v.persons.len());
        for (i, (id, p)) in v.persons.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            persons.push((*id, self.stamp(&p.first)));
            for (f, r) in p.fields.iter() {
                self.reg(Reg::Person(i, f), r, &mut atoms);
            }
            for (k, s) in p.sets.iter() {
                self.set(|| SetTW::Person(i, SymW::of(k.as_str())), s, &mut atoms);
            }
        }
        for ((s, id), text) in v.notes.iter() {
            let kind = KindW::Note {
                ms: s.hlc.wall_ms as i64,
                counter: s.hlc.counter,
                text: text.clone(),
            };
            atoms.push(self.atom(id, kind));
        }
        // The status register holds the top write and the latest return.
        for r in [v.status.reached(), v.status.last_return()]
            .into_iter()
            .flatten()
        {
            let kind = KindW::Status {
                ms: r.stamp.hlc.wall_ms as i64,
                counter: r.stamp.hlc.counter,
                status: SymW::of(r.status.as_str()),
                round: r.round,
                reason: r.reason.clone(),
            };
            atoms.push(self.atom(&r.id, kind));
        }
        // By replica (in table order), then sequence number: ids of a
        // replica's run of ops come out one apart.
        atoms.sort_by_key(|(r, seq, _)| (*r, *seq));
        let (mut seq, mut ms) = (0u64, 0i64);
        let atoms = atoms
            .into_iter()
            .map(|(r, s, mut kind)| {
                let d = s.wrapping_sub(seq) as i64;
                seq = s;
                if let Some(m) = kind.ms() {
                    let abs = *m;
                    *m = abs.wrapping_sub(ms);
                    ms = abs;
                }
                AtomW { r, seq: d, kind }
            })
            .collect();
        VisitW {
            id: v.id,
            operation: v.operation.map(|(s, o)| (self.stamp(&s), o)),
            first: v.first.map(|s| self.stamp(&s)),
            persons,
            atoms,
            unrecognised_status: v.status.unrecognised().map(str::to_owned).collect(),
        }
    }
}

/// Encodes the states of `visits` as one snapshot batch.
pub fn encode<'a>(visits: impl IntoIterator<Item = &'a Visit>) -> Vec<u8> {
    let mut w = Writer {
        replicas: Vec::new(),
        index: BTreeMap::new(),
    };
    let visits: Vec<VisitW> = visits.into_iter().map(|v| w.visit(v)).collect();
    let batch = Batch {
        replicas: w.replicas,
        visits,
    };
    let mut out = SNAPSHOT_MAGIC.to_vec();
    out.push(SNAPSHOT_VERSION);
    // Serialising plain data to a Vec cannot fail.
    out.extend(postcard::to_allocvec(&batch).unwrap_or_default());
    out
}

type R<T> = Result<T, SnapshotError>;

/// Reads a visit back against the batch's replica table.
struct Reader<'a> {
    replicas: &'a [ReplicaId],
    persons: Vec<PersonId>,
}

fn wall(ms: u64) -> R<u64> {
    (ms <= crate::hlc::MAX_WALL_MS)
        .then_some(ms)
        .ok_or(SnapshotError::Inconsistent("clock reading"))
}

impl Reader<'_> {
    fn replica(&self, i: u32) -> R<ReplicaId> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.replicas.get(i))
            .copied()
            .ok_or(SnapshotError::Inconsistent("replica index"))
    }

    fn stamp(&self, s: StW) -> R<Stamp> {
        Ok(Stamp {
            hlc: Hlc::new(wall(s.0)?, s.1),
            replica: self.replica(s.2)?,
        })
    }

    fn person(&self, i: u32) -> R<PersonId> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.persons.get(i))
            .copied()
            .ok_or(SnapshotError::Inconsistent("person index"))
    }

    fn reg<'v>(&self, v: &'v mut Visit, t: TargetW) -> R<&'v mut MvRegister<Value>> {
        Ok(match t {
            TargetW::Visit(f) => v
                .fields
                .get_or_insert_with(VisitField::parse(&f.text()?), Default::default),
            TargetW::Arrests(o) => v
                .arrests
                .get_or_insert_with(Offence::parse(&o.text()?), Default::default),
            TargetW::Person(p, f) => self
                .person_of(v, p)?
                .fields
                .get_or_insert_with(PersonField::parse(&f.text()?), Default::default),
        })
    }

    fn set<'v>(&self, v: &'v mut Visit, t: SetTW) -> R<&'v mut OrSet<String>> {
        Ok(match t {
            SetTW::Visit(s) => v
                .sets
                .get_or_insert_with(VisitSet::parse(&s.text()?), Default::default),
            SetTW::Person(p, s) => self
                .person_of(v, p)?
                .sets
                .get_or_insert_with(PersonSet::parse(&s.text()?), Default::default),
        })
    }

    fn person_of<'v>(&self, v: &'v mut Visit, i: u32) -> R<&'v mut Person> {
        let id = self.person(i)?;
        v.persons
            .get_mut(&id)
            .ok_or(SnapshotError::Inconsistent("person index"))
    }

    fn visit(&mut self, w: VisitW) -> R<Visit> {
        let mut v = Visit::new(w.id);
        v.operation = w
            .operation
            .map(|(s, o)| self.stamp(s).map(|s| (s, o)))
            .transpose()?;
        v.first = w.first.map(|s| self.stamp(s)).transpose()?;
        self.persons.clear();
        for (id, first) in w.persons {
            v.persons
                .insert_if_absent(id, Person::new(self.stamp(first)?));
            self.persons.push(id);
        }
        let (mut seq, mut ms) = (0u64, 0i64);
        for a in w.atoms {
            seq = seq.wrapping_add(a.seq as u64);
            let id = OpId::new(self.replica(a.r)?, seq);
            let mut stamp = |delta: i64, counter: u32| -> R<Stamp> {
                ms = ms.wrapping_add(delta);
                Ok(Stamp {
                    hlc: Hlc::new(wall(u64::try_from(ms).unwrap_or(u64::MAX))?, counter),
                    replica: id.replica,
                })
            };
            match a.kind {
                KindW::Live {
                    ms: d,
                    counter,
                    target,
                    value,
                } => {
                    let stamp = stamp(d, counter)?;
                    let value = value.value()?;
                    self.reg(&mut v, target)?.apply(id, stamp, value, &[]);
                }
                KindW::Superseded(t) => self.reg(&mut v, t)?.supersede(id),
                KindW::Tag(t, elem) => {
                    let elem = elem.text()?;
                    self.set(&mut v, t)?.add(elem, id);
                }
                KindW::Removed(t, elem) => {
                    let elem = elem.text()?;
                    self.set(&mut v, t)?.remove(&elem, &[id]);
                }
                KindW::Note {
                    ms: d,
                    counter,
                    text,
                } => {
                    let stamp = stamp(d, counter)?;
                    v.notes.insert_if_absent((stamp, id), text);
                }
                KindW::Status {
                    ms: d,
                    counter,
                    status,
                    round,
                    reason,
                } => {
                    let stamp = stamp(d, counter)?;
                    let status = Status::parse(&status.text()?);
                    v.status.apply(status, round, reason, id, stamp);
                }
            }
        }
        for s in w.unrecognised_status {
            // An unrecognised status changes no rank: its id and stamp are unused.
            let none = OpId::new(ReplicaId::from_u128(0), 0);
            let at = Stamp {
                hlc: Hlc::default(),
                replica: none.replica,
            };
            v.status.apply(Status::parse(&s), 0, None, none, at);
        }
        Ok(v)
    }
}

/// Decodes a snapshot batch of at most `max_visits` visits.
pub fn decode_limited(bytes: &[u8], max_visits: usize) -> Result<Vec<Visit>, SnapshotError> {
    let body = bytes
        .strip_prefix(SNAPSHOT_MAGIC.as_slice())
        .and_then(|b| b.strip_prefix(&[SNAPSHOT_VERSION]))
        .ok_or(SnapshotError::Format)?;
    let batch: Batch = postcard::from_bytes(body)?;
    if batch.visits.len() > max_visits {
        return Err(SnapshotError::TooManyVisits { max: max_visits });
    }
    let mut r = Reader {
        replicas: &batch.replicas,
        persons: Vec::new(),
    };
    batch.visits.into_iter().map(|v| r.visit(v)).collect()
}

/// The latest clock reading anywhere in a visit's state (what a replica
/// adopting it must have observed).
pub(crate) fn latest(v: &Visit) -> Option<Hlc> {
    fn regs<K: Ord>(m: &VecMap<K, MvRegister<Value>>) -> Option<Hlc> {
        m.values()
            .filter_map(|r| r.winner().map(|w| w.stamp.hlc))
            .max()
    }
    [
        v.operation.map(|(s, _)| s.hlc),
        v.first.map(|s| s.hlc),
        regs(&v.fields),
        regs(&v.arrests),
        v.persons.values().filter_map(|p| regs(&p.fields)).max(),
        v.notes.keys().map(|(s, _)| s.hlc).max(),
        v.status.reached().map(|r| r.stamp.hlc),
        v.status.last_return().map(|r| r.stamp.hlc),
    ]
    .into_iter()
    .flatten()
    .max()
}
