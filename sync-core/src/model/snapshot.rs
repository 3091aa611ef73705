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
//! Format: [`SNAPSHOT_MAGIC`], a version byte, then postcard. Replica ids are
//! written once in a table and op ids and stamps refer to it by index.
//! Sequence numbers and clock readings are each written as the difference
//! from the previous one in the batch (zigzag varints, wrapping, so every
//! value round-trips), so most take one or two bytes: a visit's ops were
//! mostly numbered and stamped close together. Field and set names are
//! vocabulary identifiers as text, which compression all but removes (the
//! server sends batches gzipped).

use super::{Person, Visit};
use crate::hlc::{Hlc, Stamp};
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::lattice::{MvRegister, OrSet, StatusRegister, VecMap};
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

/// An op id: replica index, sequence number (as written: a difference; see
/// [`walk`]).
#[derive(Clone, Copy, Serialize, Deserialize)]
struct IdW(u32, i64);

/// A stamp: wall ms (as written: a difference), counter, replica index.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct StW(i64, u32, u32);

#[derive(Serialize, Deserialize)]
struct VisitW {
    id: VisitId,
    operation: Option<(StW, OperationId)>,
    first: Option<StW>,
    fields: Vec<(SymW, RegW)>,
    sets: Vec<(SymW, SetW)>,
    arrests: Vec<(SymW, RegW)>,
    persons: Vec<(PersonId, PersonW)>,
    notes: Vec<(StW, IdW, String)>,
    status: Option<(SymW, IdW, StW)>,
    unrecognised_status: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct RegW {
    /// Live writes: id, stamp (its replica is the id's), value.
    live: Vec<(IdW, i64, u32, ValueW)>,
    superseded: Vec<IdW>,
}

#[derive(Serialize, Deserialize)]
struct SetW(Vec<(SymW, Vec<IdW>, Vec<IdW>)>);

#[derive(Serialize, Deserialize)]
struct PersonW {
    first: StW,
    fields: Vec<(SymW, RegW)>,
    sets: Vec<(SymW, SetW)>,
}

/// Builds the replica table and the per-visit relative encodings.
struct Writer {
    replicas: Vec<ReplicaId>,
    index: BTreeMap<ReplicaId, u32>,
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

    fn id(&mut self, id: &OpId) -> IdW {
        // Bit-for-bit: `walk` and the reader undo the cast.
        IdW(self.replica(id.replica), id.seq as i64)
    }

    fn ms(&self, wall_ms: u64) -> i64 {
        wall_ms as i64
    }

    fn stamp(&mut self, s: &Stamp) -> StW {
        StW(
            self.ms(s.hlc.wall_ms),
            s.hlc.counter,
            self.replica(s.replica),
        )
    }

    fn reg(&mut self, r: &MvRegister<Value>) -> RegW {
        RegW {
            live: r
                .versions()
                .into_iter()
                .map(|v| {
                    (
                        self.id(&v.id),
                        self.ms(v.stamp.hlc.wall_ms),
                        v.stamp.hlc.counter,
                        ValueW::of(&v.value),
                    )
                })
                .collect(),
            superseded: r.superseded().map(|id| self.id(id)).collect(),
        }
    }

    fn set(&mut self, s: &OrSet<String>) -> SetW {
        SetW(
            s.entries()
                .map(|(elem, adds, removed)| {
                    (
                        SymW::of(elem),
                        adds.map(|id| self.id(id)).collect(),
                        removed.map(|id| self.id(id)).collect(),
                    )
                })
                .collect(),
        )
    }

    fn visit(&mut self, v: &Visit) -> VisitW {
        let status = v.status.reached().map(|r| {
            (
                SymW::of(r.status.as_str()),
                self.id(&r.id),
                self.stamp(&r.stamp),
            )
        });
        VisitW {
            id: v.id,
            operation: v.operation.map(|(s, o)| (self.stamp(&s), o)),
            first: v.first.map(|s| self.stamp(&s)),
            fields: v
                .fields
                .iter()
                .map(|(f, r)| (SymW::of(f.as_str()), self.reg(r)))
                .collect(),
            sets: v
                .sets
                .iter()
                .map(|(k, s)| (SymW::of(k.as_str()), self.set(s)))
                .collect(),
            arrests: v
                .arrests
                .iter()
                .map(|(o, r)| (SymW::of(o.as_str()), self.reg(r)))
                .collect(),
            persons: v
                .persons
                .iter()
                .map(|(id, p)| {
                    let w = PersonW {
                        first: self.stamp(&p.first),
                        fields: p
                            .fields
                            .iter()
                            .map(|(f, r)| (SymW::of(f.as_str()), self.reg(r)))
                            .collect(),
                        sets: p
                            .sets
                            .iter()
                            .map(|(k, s)| (SymW::of(k.as_str()), self.set(s)))
                            .collect(),
                    };
                    (*id, w)
                })
                .collect(),
            notes: v
                .notes
                .iter()
                .map(|((s, id), t)| (self.stamp(s), self.id(id), t.clone()))
                .collect(),
            status,
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
    let mut batch = Batch {
        replicas: w.replicas,
        visits,
    };
    let (mut seq, mut ms) = (0i64, 0i64);
    walk(
        &mut batch,
        &mut |x| {
            let d = x.wrapping_sub(seq);
            seq = *x;
            *x = d;
        },
        &mut |x| {
            let d = x.wrapping_sub(ms);
            ms = *x;
            *x = d;
        },
    );
    let mut out = SNAPSHOT_MAGIC.to_vec();
    out.push(SNAPSHOT_VERSION);
    // Serialising plain data to a Vec cannot fail.
    out.extend(postcard::to_allocvec(&batch).unwrap_or_default());
    out
}

/// Reads the relative encodings back against the replica table.
struct Reader<'a> {
    replicas: &'a [ReplicaId],
}

type R<T> = Result<T, SnapshotError>;

impl Reader<'_> {
    fn replica(&self, i: u32) -> R<ReplicaId> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.replicas.get(i))
            .copied()
            .ok_or(SnapshotError::Inconsistent("replica index"))
    }

    fn id(&self, id: IdW) -> R<OpId> {
        Ok(OpId::new(self.replica(id.0)?, id.1 as u64))
    }

    fn ms(&self, ms: i64) -> R<u64> {
        u64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= crate::hlc::MAX_WALL_MS)
            .ok_or(SnapshotError::Inconsistent("clock reading"))
    }

    fn stamp(&self, s: StW) -> R<Stamp> {
        Ok(Stamp {
            hlc: Hlc::new(self.ms(s.0)?, s.1),
            replica: self.replica(s.2)?,
        })
    }

    fn reg(&self, w: RegW) -> R<MvRegister<Value>> {
        let mut r = MvRegister::default();
        for (id, ms, counter, value) in w.live {
            let id = self.id(id)?;
            let stamp = Stamp {
                hlc: Hlc::new(self.ms(ms)?, counter),
                replica: id.replica,
            };
            r.apply(id, stamp, value.value()?, &[]);
        }
        for id in w.superseded {
            r.supersede(self.id(id)?);
        }
        Ok(r)
    }

    fn set(&self, w: SetW) -> R<OrSet<String>> {
        let mut s = OrSet::default();
        for (elem, adds, removed) in w.0 {
            let elem = elem.text()?;
            for tag in adds {
                s.add(elem.clone(), self.id(tag)?);
            }
            let removed = removed
                .into_iter()
                .map(|t| self.id(t))
                .collect::<R<Vec<_>>>()?;
            s.remove(&elem, &removed);
        }
        Ok(s)
    }

    fn regs<K: Ord>(
        &self,
        w: Vec<(SymW, RegW)>,
        key: impl Fn(&str) -> K,
    ) -> R<VecMap<K, MvRegister<Value>>> {
        let mut m = VecMap::default();
        for (k, r) in w {
            m.insert_if_absent(key(&k.text()?), self.reg(r)?);
        }
        Ok(m)
    }

    fn sets<K: Ord>(
        &self,
        w: Vec<(SymW, SetW)>,
        key: impl Fn(&str) -> K,
    ) -> R<VecMap<K, OrSet<String>>> {
        let mut m = VecMap::default();
        for (k, s) in w {
            m.insert_if_absent(key(&k.text()?), self.set(s)?);
        }
        Ok(m)
    }

    fn visit(&mut self, w: VisitW) -> R<Visit> {
        let mut persons = VecMap::default();
        for (id, p) in w.persons {
            let person = Person {
                first: self.stamp(p.first)?,
                fields: self.regs(p.fields, PersonField::parse)?,
                sets: self.sets(p.sets, PersonSet::parse)?,
            };
            persons.insert_if_absent(id, person);
        }
        let mut notes = VecMap::default();
        for (s, id, text) in w.notes {
            notes.insert_if_absent((self.stamp(s)?, self.id(id)?), text);
        }
        let mut status = StatusRegister::default();
        if let Some((s, id, stamp)) = w.status {
            status.apply(Status::parse(&s.text()?), self.id(id)?, self.stamp(stamp)?);
        }
        for s in w.unrecognised_status {
            // An unrecognised status changes no rank: its id and stamp are unused.
            let none = OpId::new(ReplicaId::from_u128(0), 0);
            let at = Stamp {
                hlc: Hlc::default(),
                replica: none.replica,
            };
            status.apply(Status::parse(&s), none, at);
        }
        Ok(Visit {
            id: w.id,
            operation: w
                .operation
                .map(|(s, o)| self.stamp(s).map(|s| (s, o)))
                .transpose()?,
            first: w.first.map(|s| self.stamp(s)).transpose()?,
            fields: self.regs(w.fields, VisitField::parse)?,
            sets: self.sets(w.sets, VisitSet::parse)?,
            arrests: self.regs(w.arrests, Offence::parse)?,
            persons,
            notes,
            status,
        })
    }
}

/// Decodes a snapshot batch of at most `max_visits` visits.
pub fn decode_limited(bytes: &[u8], max_visits: usize) -> Result<Vec<Visit>, SnapshotError> {
    let body = bytes
        .strip_prefix(SNAPSHOT_MAGIC.as_slice())
        .and_then(|b| b.strip_prefix(&[SNAPSHOT_VERSION]))
        .ok_or(SnapshotError::Format)?;
    let mut batch: Batch = postcard::from_bytes(body)?;
    if batch.visits.len() > max_visits {
        return Err(SnapshotError::TooManyVisits { max: max_visits });
    }
    let (mut seq, mut ms) = (0i64, 0i64);
    walk(
        &mut batch,
        &mut |x| {
            seq = seq.wrapping_add(*x);
            *x = seq;
        },
        &mut |x| {
            ms = ms.wrapping_add(*x);
            *x = ms;
        },
    );
    let mut r = Reader {
        replicas: &batch.replicas,
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
    ]
    .into_iter()
    .flatten()
    .max()
}

/// Visits every sequence number and every wall time of a batch in one fixed
/// order, for [`encode`] to turn them into differences and
/// [`decode_limited`] back.
fn walk(b: &mut Batch, seq: &mut dyn FnMut(&mut i64), ms: &mut dyn FnMut(&mut i64)) {
    let id = |i: &mut IdW, seq: &mut dyn FnMut(&mut i64)| seq(&mut i.1);
    fn reg(r: &mut RegW, seq: &mut dyn FnMut(&mut i64), ms: &mut dyn FnMut(&mut i64)) {
        for (i, t, _, _) in &mut r.live {
            seq(&mut i.1);
            ms(t);
        }
        for i in &mut r.superseded {
            seq(&mut i.1);
        }
    }
    fn set(s: &mut SetW, seq: &mut dyn FnMut(&mut i64)) {
        for (_, adds, removed) in &mut s.0 {
            for i in adds.iter_mut().chain(removed.iter_mut()) {
                seq(&mut i.1);
            }
        }
    }
    for v in &mut b.visits {
        if let Some((s, _)) = &mut v.operation {
            ms(&mut s.0);
        }
        if let Some(s) = &mut v.first {
            ms(&mut s.0);
        }
        for (_, r) in v.fields.iter_mut().chain(v.arrests.iter_mut()) {
            reg(r, seq, ms);
        }
        for (_, s) in &mut v.sets {
            set(s, seq);
        }
        for (_, p) in &mut v.persons {
            ms(&mut p.first.0);
            for (_, r) in &mut p.fields {
                reg(r, seq, ms);
            }
            for (_, s) in &mut p.sets {
                set(s, seq);
            }
        }
        for (s, i, _) in &mut v.notes {
            ms(&mut s.0);
            id(i, seq);
        }
        if let Some((_, i, s)) = &mut v.status {
            id(i, seq);
            ms(&mut s.0);
        }
    }
}
