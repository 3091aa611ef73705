//! A replica: the op log, version vector, clock and merged visits of one device
//! (or of the server). Local edits become ops; remote ops are applied in any
//! order, any number of times. Sans-IO: the caller passes the wall time and ids.

use crate::hlc::{Clock, SkewWarning};
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::lattice::VecMap;
use crate::model::{Value, Visit, VisitField};
use crate::op::{Action, Op, OpError, Reason, SetTarget, Target, MAX_SAFE_INTEGER};
use crate::vocab::LocationKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod forget;
mod journal;
mod rekey;
mod status;

pub use journal::{SaveMark, CHUNK_MAGIC, CHUNK_VERSION};

/// Per replica, the highest sequence number such that every op up to it is held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionVector(VecMap<ReplicaId, u64>);

impl VersionVector {
    /// The contiguous prefix held for `replica` (0 when none).
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        self.0.get(replica).copied().unwrap_or(0)
    }

    /// Records the contiguous prefix held for `replica`.
    pub fn set(&mut self, replica: ReplicaId, seq: u64) {
        *self.0.get_or_insert_with(replica, || 0) = seq;
    }

    /// True when the op is covered.
    pub fn contains(&self, id: &OpId) -> bool {
        id.seq <= self.get(&id.replica)
    }

    /// Every replica and its prefix, by replica id.
    pub fn iter(&self) -> impl Iterator<Item = (&ReplicaId, &u64)> {
        self.0.iter()
    }

    /// Joins another vector (pointwise max).
    pub fn merge(&mut self, other: &Self) {
        for (r, s) in other.0.iter() {
            let mine = self.0.get_or_insert_with(*r, || 0);
            *mine = (*mine).max(*s);
        }
    }
}

/// What happened to one op handed to [`Replica::apply`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// New, valid, applied.
    Accepted,
    /// Already held: nothing changed.
    Duplicate,
    /// Invalid: logged (so it relays and its sequence number is not a gap) but
    /// without effect on any visit.
    Rejected {
        /// Why.
        error: OpError,
    },
}

/// The result of applying a batch: one outcome per op, in input order, and the
/// clock-skew warnings seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// One per op handed in.
    pub outcomes: Vec<(OpId, Outcome)>,
    /// Ops stamped further ahead of local wall time than the clock bound.
    pub skew: Vec<(OpId, SkewWarning)>,
}

impl ApplyReport {
    /// Number accepted.
    pub fn accepted(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Accepted))
    }
    /// Number of duplicates.
    pub fn duplicates(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Duplicate))
    }
    /// The rejected ops' errors.
    pub fn rejected(&self) -> Vec<&OpError> {
        self.outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Rejected { error } => Some(error),
                _ => None,
            })
            .collect()
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| f(o)).count()
    }
}

/// One replica's ops: the contiguous prefix `base+1..=base+dense.len()` in a
/// vector, and ops received ahead of a gap in a map until the gap fills.
/// `base` is 0 except for a replica made by [`Replica::resume`], whose own
/// ops `1..=base` are accounted for elsewhere.
#[derive(Clone, Debug, Default)]
struct Slots {
    base: u64,
    dense: Vec<Op>,
    sparse: VecMap<u64, Op>,
}

impl Slots {
    fn get(&self, seq: u64) -> Option<&Op> {
        let i = seq
            .checked_sub(self.base)
            .and_then(|s| s.checked_sub(1))
            .and_then(|s| usize::try_from(s).ok());
        match i {
            Some(i) if i < self.dense.len() => Some(&self.dense[i]),
            _ => self.sparse.get(&seq),
        }
    }

    /// Stores an op whose slot is empty. O(log n) whatever the order: ops
    /// ahead of a gap wait in a B-tree, and filling the gap moves each of
    /// them once.
    fn insert(&mut self, op: Op) {
        if op.id.seq == self.contiguous() + 1 {
            self.dense.push(op);
            while let Some(next) = self.sparse.remove(&(self.contiguous() + 1)) {
                self.dense.push(next);
            }
        } else {
            self.sparse.insert_if_absent(op.id.seq, op);
        }
    }

    fn contiguous(&self) -> u64 {
        self.base + self.dense.len() as u64
    }

    fn len(&self) -> usize {
        self.dense.len() + self.sparse.len()
    }

    fn after(&self, seq: u64) -> impl Iterator<Item = &Op> {
        let from = usize::try_from(seq.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.dense.len());
        self.dense[from..]
            .iter()
            .chain(self.sparse.after(&seq).map(|(_, op)| op))
    }
}

/// A replica's whole state. Visits are derived from the log.
#[derive(Clone, Debug)]
pub struct Replica {
    id: ReplicaId,
    clock: Clock,
    log: VecMap<ReplicaId, Slots>,
    /// Logged ops that were rejected (kept for relay, without effect).
    rejected: VecMap<OpId, Reason>,
    vv: VersionVector,
    visits: BTreeMap<VisitId, Visit>,
    /// Snapshots adopted (a new phone's first sync): visit states held
    /// without their ops. Each is joined into `visits`; kept apart so a
    /// save, a forget or a rekey carries them (see [`Replica::adopt`]).
    bases: BTreeMap<VisitId, Visit>,
}

/// What a replica persists: its id, its clock and its log (in the wire format).
///
/// A saved blob (version 2) is `MAGIC, version, postcard(Persisted), crc32`,
/// the CRC-32 (little-endian) covering every byte before it. A version 1 blob
/// (before issue 10) is the bare postcard bytes, with no checksum; it starts
/// with the UUID's length byte, 16, never with [`SAVE_MAGIC`], and still
/// loads.
#[derive(Serialize, Deserialize)]
struct Persisted {
    id: ReplicaId,
    clock: Clock,
    ops: Vec<u8>,
}

/// Version 3 adds how far this replica has numbered its own ops, which a
/// replica that forgot visits (retention) cannot rebuild from its log.
#[derive(Serialize, Deserialize)]
struct PersistedV3 {
    id: ReplicaId,
    clock: Clock,
    ops: Vec<u8>,
    own_through: u64,
}

/// Version 4 adds the adopted snapshots (a snapshot batch).
#[derive(Serialize, Deserialize)]
struct PersistedV4 {
    id: ReplicaId,
    clock: Clock,
    ops: Vec<u8>,
    own_through: u64,
    bases: Vec<u8>,
}

/// The first bytes of a saved replica (version 2 and later).
pub const SAVE_MAGIC: &[u8; 4] = b"AIDR";
/// The version of the save format [`Replica::save`] writes.
pub const SAVE_VERSION: u8 = 4;

/// A persisted replica could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not what was saved: the checksum does not match. The
    /// store is damaged; nothing was loaded (see ARCHITECTURE.md for what the
    /// app does then).
    #[error("stored replica is corrupt: checksum {computed:08x}, expected {stored:08x}")]
    Corrupt {
        /// The checksum saved with the bytes.
        stored: u32,
        /// The checksum of the bytes as read.
        computed: u32,
    },
    /// Saved by a newer build, in a format this one does not read.
    #[error("stored replica has save format version {0}, newer than this build reads")]
    Version(u8),
    /// The envelope is unreadable.
    #[error("stored replica is unreadable: {0}")]
    Envelope(#[from] postcard::Error),
    /// The op log is unreadable.
    #[error("stored op log is unreadable: {0}")]
    Log(#[from] crate::wire::WireError),
    /// The adopted snapshots are unreadable.
    #[error("stored snapshots are unreadable: {0}")]
    Bases(#[from] crate::model::snapshot::SnapshotError),
    /// A journal chunk saved by another replica id than the one loading it.
    #[error("stored chunk belongs to replica {found}, not {expected}")]
    WrongReplica {
        /// The loading replica's id.
        expected: ReplicaId,
        /// The id the chunk names.
        found: ReplicaId,
    },
}

impl Replica {
    /// A new, empty replica.
    pub fn new(id: ReplicaId) -> Self {
        Self::with_clock(id, Clock::default())
    }

    /// A new replica with a given clock (for a non-default skew bound).
    pub fn with_clock(id: ReplicaId, clock: Clock) -> Self {
        Self {
            id,
            clock,
            log: VecMap::default(),
            rejected: VecMap::default(),
            vv: VersionVector::default(),
            visits: BTreeMap::new(),
            bases: BTreeMap::new(),
        }
    }

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The sequence number of this replica's next local op: one after the
    /// contiguous prefix of its own ops held. An op bearing this replica's id
    /// that arrives far ahead (a forgery, or a copy of this device's profile)
    /// waits outside the prefix like any other, so it never makes a gap in
    /// this replica's own sequence; if local ops reach it, the prefix steps
    /// over it.
    pub fn next_seq(&self) -> u64 {
        self.log
            .get(&self.id)
            .map_or(0, Slots::contiguous)
            .saturating_add(1)
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The version vector: what this replica holds.
    pub fn version_vector(&self) -> &VersionVector {
        &self.vv
    }

    /// A visit's merged state.
    pub fn visit(&self, id: &VisitId) -> Option<&Visit> {
        self.visits.get(id)
    }

    /// Every visit, by id.
    pub fn visits(&self) -> impl Iterator<Item = &Visit> {
        self.visits.values()
    }

    /// Ops held but rejected as invalid, with why (they relay, without effect).
    pub fn rejected_ops(&self) -> impl Iterator<Item = (&OpId, &Reason)> {
        self.rejected.iter()
    }

    /// Number of ops held (accepted and rejected).
    pub fn op_count(&self) -> usize {
        self.log.values().map(Slots::len).sum()
    }

    /// The ops a peer with version vector `peer` lacks, by replica then sequence.
    pub fn missing_for<'a>(&'a self, peer: &'a VersionVector) -> impl Iterator<Item = &'a Op> + 'a {
        self.log
            .iter()
            .flat_map(move |(r, ops)| ops.after(peer.get(r)))
    }

    /// This replica's own ops after `seq` (the unacknowledged tail a device sends).
    pub fn own_ops_after(&self, seq: u64) -> impl Iterator<Item = &Op> {
        self.log
            .get(&self.id)
            .into_iter()
            .flat_map(move |ops| ops.after(seq))
    }

    /// Applies remote ops received at local wall time `now_ms`. Each op gets its
    /// own outcome; a rejected op never stops the others.
    pub fn apply<I: IntoIterator<Item = Op>>(&mut self, now_ms: u64, ops: I) -> ApplyReport {
        let mut report = ApplyReport::default();
        for op in ops {
            let id = op.id;
            if let Some(w) = self.clock.observe(op.hlc, now_ms) {
                report.skew.push((id, w));
            }
            let outcome = self.insert(op);
            report.outcomes.push((id, outcome));
        }
        report
    }

    fn insert(&mut self, op: Op) -> Outcome {
        let id = op.id;
        let slot = self.log.get_or_insert_with(id.replica, Slots::default);
        if let Some(held) = slot.get(id.seq) {
            return if *held == op {
                Outcome::Duplicate
            } else {
                Outcome::Rejected {
                    error: OpError {
                        op: id,
                        visit: op.visit,
                        field: None,
                        reason: Reason::IdReused,
                    },
                }
            };
        }
        let validity = op.validate();
        match &validity {
            Ok(()) => self
                .visits
                .entry(op.visit)
                .or_insert_with(|| Visit::new(op.visit))
                .apply(&op),
            Err(e) => {
                self.rejected.insert_if_absent(id, e.reason.clone());
            }
        }
        self.store(op);
        match validity {
            Ok(()) => Outcome::Accepted,
            Err(error) => Outcome::Rejected { error },
        }
    }

    /// Logs an op whose slot is empty and advances the version vector.
    fn store(&mut self, op: Op) {
        let id = op.id;
        let slot = self.log.get_or_insert_with(id.replica, Slots::default);
        slot.insert(op);
        self.vv.set(id.replica, slot.contiguous());
    }

    /// Makes, applies and logs a local op. Invalid edits are refused before a
    /// sequence number is used.
    fn commit(&mut self, now_ms: u64, visit: VisitId, action: Action) -> Result<&Op, OpError> {
        let op = Op {
            id: OpId::new(self.id, self.next_seq()),
            hlc: self.clock.peek(now_ms),
            visit,
            action,
        };
        op.validate()?;
        self.clock.tick(now_ms);
        // Validated above, and the slot is ours and new: apply and log directly.
        self.visits
            .entry(visit)
            .or_insert_with(|| Visit::new(visit))
            .apply(&op);
        let id = op.id;
        self.store(op);
        Ok(self
            .log
            .get(&id.replica)
            .and_then(|s| s.get(id.seq))
            .expect("the op was just stored"))
    }

    fn existing(&self, visit: VisitId, field: Option<String>) -> Result<&Visit, OpError> {
        self.visits.get(&visit).ok_or(OpError {
            op: OpId::new(self.id, self.next_seq()),
            visit,
            field,
            reason: Reason::UnknownVisit,
        })
    }

    /// Creates a visit of a kind in an operation, started at `now_ms`.
    pub fn create_visit(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        operation: OperationId,
        kind: LocationKind,
    ) -> Result<Vec<Op>, OpError> {
        let create = self
            .commit(now_ms, visit, Action::Create { operation })?
            .clone();
        let kind = self
            .set(
                now_ms,
                visit,
                Target::Visit(VisitField::LocationKind),
                Value::Text(kind.as_str().to_owned()),
            )?
            .clone();
        let started = self
            .set(
                now_ms,
                visit,
                Target::Visit(VisitField::StartedAt),
                Value::Time(now_ms.min(MAX_SAFE_INTEGER as u64) as i64),
            )?
            .clone();
        Ok(vec![create, kind, started])
    }

    /// Writes a scalar field, superseding every value this replica sees (so a
    /// conflict shown here is resolved by this write).
    pub fn set(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        target: Target,
        value: Value,
    ) -> Result<&Op, OpError> {
        let v = self.existing(visit, Some(target.name()))?;
        let pred = v.register(&target).map(|r| r.heads()).unwrap_or_default();
        self.commit(
            now_ms,
            visit,
            Action::Set {
                target,
                value,
                pred,
            },
        )
    }

    /// Adds an element to a set.
    pub fn add(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        set: SetTarget,
        elem: &str,
    ) -> Result<&Op, OpError> {
        self.existing(visit, Some(set.name()))?;
        self.commit(
            now_ms,
            visit,
            Action::Add {
                set,
                elem: elem.to_owned(),
            },
        )
    }

    /// Removes an element from a set (the adds seen here). `None` when absent.
    pub fn remove(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        set: SetTarget,
        elem: &str,
    ) -> Result<Option<&Op>, OpError> {
        let v = self.existing(visit, Some(set.name()))?;
        let observed = v
            .or_set(&set)
            .map(|s| s.tags(&elem.to_owned()))
            .unwrap_or_default();
        if observed.is_empty() {
            return Ok(None);
        }
        self.commit(
            now_ms,
            visit,
            Action::Remove {
                set,
                elem: elem.to_owned(),
                observed,
            },
        )
        .map(Some)
    }

    /// Records a new person at a visit.
    pub fn add_person(
        &mut self,
        now_ms: u64,
        visit: VisitId,
        person: PersonId,
    ) -> Result<&Op, OpError> {
        self.existing(visit, None)?;
        self.commit(now_ms, visit, Action::AddPerson { person })
    }

    /// Appends a note.
    pub fn note(&mut self, now_ms: u64, visit: VisitId, text: &str) -> Result<&Op, OpError> {
        self.existing(visit, Some("note".into()))?;
        self.commit(
            now_ms,
            visit,
            Action::Note {
                text: text.to_owned(),
            },
        )
    }

    /// Serialises the replica (id, clock, log) for storage on the device,
    /// with a checksum that [`Replica::load`] verifies.
    pub fn save(&self) -> Vec<u8> {
        let p = PersistedV4 {
            id: self.id,
            clock: self.clock.clone(),
            ops: crate::wire::encode(self.log.values().flat_map(|m| m.after(0))),
            own_through: self.next_seq() - 1,
            bases: if self.bases.is_empty() {
                Vec::new()
            } else {
                crate::model::snapshot::encode(self.bases.values())
            },
        };
        let mut out = SAVE_MAGIC.to_vec();
        out.push(SAVE_VERSION);
        let mut out = postcard::to_extend(&p, out).expect("serialising to a Vec cannot fail");
        let crc = crate::crc32::crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Restores a replica saved with [`Replica::save`], rebuilding visits from
    /// the log. A damaged blob is [`LoadError::Corrupt`], never loaded; a
    /// blob saved before checksums (version 1) loads unchecked.
    pub fn load(bytes: &[u8]) -> Result<Self, LoadError> {
        let payload = match bytes.strip_prefix(SAVE_MAGIC.as_slice()) {
            Some(rest) => {
                let (&version, _) = rest.split_first().ok_or(LoadError::Corrupt {
                    stored: 0,
                    computed: crate::crc32::crc32(bytes),
                })?;
                if !(2..=SAVE_VERSION).contains(&version) {
                    return Err(LoadError::Version(version));
                }
                let Some((body, crc)) = bytes.split_last_chunk::<4>().filter(|(b, _)| b.len() > 4)
                else {
                    return Err(LoadError::Corrupt {
                        stored: 0,
                        computed: crate::crc32::crc32(bytes),
                    });
                };
                let (stored, computed) = (u32::from_le_bytes(*crc), crate::crc32::crc32(body));
                if stored != computed {
                    return Err(LoadError::Corrupt { stored, computed });
                }
                (version, &body[SAVE_MAGIC.len() + 1..])
            }
            None => (1, bytes),
        };
        let (version, payload) = payload;
        let p = if version >= 4 {
            postcard::from_bytes::<PersistedV4>(payload)?
        } else if version == 3 {
            let p: PersistedV3 = postcard::from_bytes(payload)?;
            PersistedV4 {
                id: p.id,
                clock: p.clock,
                ops: p.ops,
                own_through: p.own_through,
                bases: Vec::new(),
            }
        } else {
            let p: Persisted = postcard::from_bytes(payload)?;
            PersistedV4 {
                id: p.id,
                clock: p.clock,
                ops: p.ops,
                own_through: 0,
                bases: Vec::new(),
            }
        };
        let clock = Clock::restore(p.clock.last(), p.clock.max_forward_ms());
        let ops = crate::wire::decode(&p.ops)?;
        // Own ops up to `own_through` all held: an ordinary log. Some missing
        // (visits forgotten): number on from `own_through` regardless.
        let own = ops
            .iter()
            .filter(|o| o.id.replica == p.id && o.id.seq <= p.own_through)
            .count() as u64;
        let mut r = if own == p.own_through {
            Self::with_clock(p.id, clock)
        } else {
            Self::resume(p.id, clock, p.own_through)
        };
        for op in ops {
            r.insert(op);
        }
        if !p.bases.is_empty() {
            let bases = crate::model::snapshot::decode_limited(&p.bases, usize::MAX)?;
            r.join_bases(bases);
        }
        Ok(r)
    }

    /// Adopts snapshots of visits (a new phone's first sync: each visit's
    /// merged state instead of its history, see [`crate::snapshot`]) at
    /// local wall time `now_ms`. The states are joined into the visits, so
    /// ops applied before or after, some of them already inside a snapshot,
    /// give the state a replica holding every op has. The clock observes the
    /// latest stamp, so later local edits are stamped after what was seen.
    /// Returns the visits whose state changed, and a warning for a stamp
    /// further ahead than the clock bound.
    pub fn adopt(
        &mut self,
        now_ms: u64,
        visits: Vec<Visit>,
    ) -> (Vec<VisitId>, Option<SkewWarning>) {
        let mut skew = None;
        if let Some(latest) = visits
            .iter()
            .filter_map(crate::model::snapshot::latest)
            .max()
        {
            skew = self.clock.observe(latest, now_ms);
        }
        let changed = self.join_bases(visits);
        (changed, skew)
    }

    /// Joins snapshot states into the bases and the visits; the ids of the
    /// visits that changed.
    fn join_bases(&mut self, visits: Vec<Visit>) -> Vec<VisitId> {
        let mut changed = Vec::new();
        for v in visits {
            let id = v.id();
            let shown = self.visits.entry(id).or_insert_with(|| Visit::new(id));
            let before = shown.clone();
            shown.merge(&v);
            if *shown != before {
                changed.push(id);
            }
            match self.bases.get_mut(&id) {
                Some(b) => b.merge(&v),
                None => {
                    self.bases.insert(id, v);
                }
            }
        }
        changed
    }

    /// The adopted snapshots, for a rebuilt replica to carry.
    fn take_bases_of(&mut self, from: &Replica, keep: impl Fn(&VisitId) -> bool) {
        let bases: Vec<Visit> = from
            .bases
            .iter()
            .filter(|(id, _)| keep(id))
            .map(|(_, v)| v.clone())
            .collect();
        self.join_bases(bases);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::hlc::Hlc;

    const OP: OperationId = OperationId::from_u128(100);
    const V: VisitId = VisitId::from_u128(1);

    fn pair() -> (Replica, Replica) {
        (
            Replica::new(ReplicaId::from_u128(1)),
            Replica::new(ReplicaId::from_u128(2)),
        )
    }

    fn sync(a: &mut Replica, b: &mut Replica, now: u64) {
        let to_b: Vec<Op> = a.missing_for(b.version_vector()).cloned().collect();
        let to_a: Vec<Op> = b.missing_for(a.version_vector()).cloned().collect();
        b.apply(now, to_b);
        a.apply(now, to_a);
    }

    #[test]
    fn two_replicas_converge_with_a_visible_conflict() {
        let (mut a, mut b) = pair();
        a.create_visit(1_000, V, OP, LocationKind::CarWash).unwrap();
        sync(&mut a, &mut b, 1_000);
        let f = Target::Visit(VisitField::Postcode);
        a.set(2_000, V, f.clone(), Value::Text("OX1 1AA".into()))
            .unwrap();
        b.set(3_000, V, f.clone(), Value::Text("OX2 2BB".into()))
            .unwrap();
        sync(&mut a, &mut b, 4_000);
        assert_eq!(a.visit(&V), b.visit(&V));
        let v = a.visit(&V).unwrap();
        assert_eq!(v.text(&VisitField::Postcode), Some("OX2 2BB"));
        assert_eq!(v.conflicts().len(), 1);
        // Writing again having seen both resolves it everywhere.
        a.set(5_000, V, f, Value::Text("OX1 1AA".into())).unwrap();
        sync(&mut a, &mut b, 6_000);
        assert!(b.visit(&V).unwrap().conflicts().is_empty());
        assert_eq!(
            b.visit(&V).unwrap().text(&VisitField::Postcode),
            Some("OX1 1AA")
        );
    }

    #[test]
    fn bad_op_is_rejected_alone_and_does_not_leave_a_gap() {
        let (mut a, mut b) = pair();
        let mut ops = a.create_visit(1_000, V, OP, LocationKind::Hotel).unwrap();
        // Forge an invalid op in the middle of a's stream.
        let bad = Op {
            id: OpId::new(a.id(), 4),
            hlc: Hlc::new(1_001, 0),
            visit: V,
            action: Action::Set {
                target: Target::Visit(VisitField::Occupants),
                value: Value::Int(-5),
                pred: vec![],
            },
        };
        a.apply(1_001, [bad.clone()]);
        ops.push(bad);
        ops.push(a.note(1_002, V, "after the bad op").unwrap().clone());
        let report = b.apply(2_000, ops.clone());
        assert_eq!(report.accepted(), 4);
        let rejected = report.rejected();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].field.as_deref(), Some("occupants"));
        assert_eq!(b.version_vector().get(&a.id()), 5);
        assert_eq!(b.visit(&V).unwrap().notes().count(), 1);
        // Resending is idempotent.
        let again = b.apply(3_000, ops);
        assert_eq!(again.duplicates(), 5);
    }

    #[test]
    fn save_and_load_round_trip() {
        let (mut a, _) = pair();
        a.create_visit(1_000, V, OP, LocationKind::NailBar).unwrap();
        a.note(1_500, V, "two workers").unwrap();
        let restored = Replica::load(&a.save()).unwrap();
        assert_eq!(restored.visit(&V), a.visit(&V));
        assert_eq!(restored.version_vector(), a.version_vector());
        let mut restored = restored;
        let op = restored.note(1_600, V, "next").unwrap();
        assert_eq!(op.id.seq, 5);
        assert!(op.hlc > Hlc::new(1_500, 0));
    }
}
