//! The sync-core adapter for the shared script ([`crate::script`]).
//!
//! One [`Replica`] per device holds every visit. An edit is one op (one call
//! of `set`, `add`, `remove` or `note`); a delta is
//! `wire::encode(missing_for(peer's version vector as of the last sync))`; the
//! full record is the wire-encoded whole log.

use crate::script::{device_uuid, operation_uuid, person_uuid, visit_uuid, Edit, Engine};
use crate::script::{Record, SetName, Val, BASE_MS};
use std::hint::black_box;
use sync_core::{
    wire, LocationKind, OperationId, PersonField, PersonId, Position, Replica, ReplicaId,
    SetTarget, Target, Value, VersionVector, VisitField, VisitId, VisitSet,
};

/// Milliseconds between two local edits on one device.
const STEP_MS: u64 = 1_000;

/// One device's replica and its wall clock (advanced by hand: sans-IO).
pub struct SyncCore {
    replica: Replica,
    now_ms: u64,
}

/// A sync-core edit ready to commit.
pub enum Prepared {
    /// `Replica::set`.
    Set(VisitId, Target, Value),
    /// `Replica::add`.
    Add(VisitId, SetTarget, &'static str),
    /// `Replica::remove`.
    Remove(VisitId, SetTarget, &'static str),
    /// `Replica::note`.
    Note(VisitId, String),
}

/// The sync-core value for a script value.
pub fn value(v: &Val) -> Value {
    match v {
        Val::Text(s) => Value::Text(s.clone()),
        Val::Int(n) => Value::Int(*n),
        Val::Bool(b) => Value::Bool(*b),
        Val::Time(t) => Value::Time(*t),
        Val::Position {
            lat_e7,
            lon_e7,
            accuracy_m,
        } => Value::Position(Position {
            lat_e7: *lat_e7,
            lon_e7: *lon_e7,
            accuracy_m: *accuracy_m,
        }),
    }
}

fn set_target(s: SetName) -> SetTarget {
    SetTarget::Visit(match s {
        SetName::Indicators => VisitSet::Indicators,
        SetName::PartnerAgencies => VisitSet::PartnerAgencies,
    })
}

fn visit(v: usize) -> VisitId {
    VisitId::from_u128(visit_uuid(v))
}

fn person(v: usize, p: usize) -> PersonId {
    PersonId::from_u128(person_uuid(v, p))
}

impl SyncCore {
    fn tick(&mut self) -> u64 {
        self.now_ms += STEP_MS;
        self.now_ms
    }

    /// The replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }
}

impl Engine for SyncCore {
    const NAME: &'static str = "sync-core";
    type Prepared = Prepared;
    type Summary = VersionVector;

    fn new(device: u8) -> Self {
        Self {
            replica: Replica::new(ReplicaId::from_u128(device_uuid(device))),
            // B's clock runs half a second behind A's edits.
            now_ms: BASE_MS + u64::from(device - 1) * 500,
        }
    }

    fn create(&mut self, v: usize, record: &Record) {
        let id = visit(v);
        let kind = match &record.fields[0] {
            ("location_kind", Val::Text(k)) => LocationKind::parse(k),
            other => panic!("location_kind must come first, got {other:?}"),
        };
        let now = self.tick();
        let op = OperationId::from_u128(operation_uuid());
        self.replica
            .create_visit(now, id, op, kind)
            .expect("valid create");
        // create_visit wrote location_kind and started_at (= now) itself.
        for (name, val) in &record.fields[2..] {
            let now = self.tick();
            let t = Target::Visit(VisitField::parse(name));
            self.replica
                .set(now, id, t, value(val))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for (s, elems) in [
            (SetName::Indicators, &record.indicators),
            (SetName::PartnerAgencies, &record.partner_agencies),
        ] {
            for e in elems {
                let now = self.tick();
                self.replica
                    .add(now, id, set_target(s), e)
                    .expect("valid add");
            }
        }
        for (p, fields) in record.persons.iter().enumerate() {
            let now = self.tick();
            let pid = person(v, p);
            self.replica.add_person(now, id, pid).expect("valid person");
            for (name, val) in fields {
                let now = self.tick();
                let t = Target::Person(pid, PersonField::parse(name));
                self.replica
                    .set(now, id, t, value(val))
                    .unwrap_or_else(|e| panic!("person.{name}: {e}"));
            }
        }
        for n in &record.notes {
            let now = self.tick();
            self.replica.note(now, id, n).expect("valid note");
        }
    }

    fn prepare(&mut self, v: usize, edit: &Edit) -> Prepared {
        let id = visit(v);
        match edit {
            Edit::Field(name, val) => {
                Prepared::Set(id, Target::Visit(VisitField::parse(name)), value(val))
            }
            Edit::Person(p, name, val) => Prepared::Set(
                id,
                Target::Person(person(v, *p), PersonField::parse(name)),
                value(val),
            ),
            Edit::Add(s, e) => Prepared::Add(id, set_target(*s), e),
            Edit::Remove(s, e) => Prepared::Remove(id, set_target(*s), e),
            Edit::Note(n) => Prepared::Note(id, n.clone()),
        }
    }

    fn edit(&mut self, edit: &Prepared) {
        let now = self.tick();
        let r = &mut self.replica;
        match edit {
            Prepared::Set(id, t, val) => {
                black_box(r.set(now, *id, t.clone(), val.clone()).expect("valid set"));
            }
            Prepared::Add(id, s, e) => {
                black_box(r.add(now, *id, s.clone(), e).expect("valid add"));
            }
            Prepared::Remove(id, s, e) => {
                let op = r.remove(now, *id, s.clone(), e).expect("valid remove");
                assert!(op.is_some(), "{e} was not in the set");
                black_box(op);
            }
            Prepared::Note(id, n) => {
                black_box(r.note(now, *id, n).expect("valid note"));
            }
        }
    }

    fn summary(&mut self) -> VersionVector {
        self.replica.version_vector().clone()
    }

    fn delta(&mut self, since: &VersionVector) -> Vec<u8> {
        wire::encode(self.replica.missing_for(since))
    }

    fn apply(&mut self, delta: &[u8]) {
        let ops = wire::decode(delta).expect("a delta we encoded decodes");
        let now = self.tick();
        let report = self.replica.apply(now, ops);
        assert!(report.rejected().is_empty(), "{:?}", report.rejected());
    }

    fn full(&mut self) -> Vec<u8> {
        wire::encode(self.replica.missing_for(&VersionVector::default()))
    }

    fn bootstrap(&mut self) -> Vec<u8> {
        sync_core::snapshot::encode(self.replica.visits())
    }

    fn converged(&mut self, other: &mut Self, visits: usize) -> bool {
        let (a, b) = (&self.replica, &other.replica);
        a.version_vector() == b.version_vector()
            && (0..visits).all(|v| {
                let id = visit(v);
                a.visit(&id).is_some() && a.visit(&id) == b.visit(&id)
            })
            && (0..visits).all(|v| {
                // After the concurrent phase exactly summary and occupants conflict.
                let c = a.visit(&visit(v)).map_or(0, |x| x.conflicts().len());
                c == 0 || c == 2
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{edits_a, edits_b, record};

    #[test]
    fn merged_visit_shows_both_sides_edits_and_two_conflicts() {
        let mut a = SyncCore::new(1);
        let mut b = SyncCore::new(2);
        a.create(0, &record(0));
        let first = a.delta(&b.summary());
        b.apply(&first);
        let (a_had, b_had) = (a.summary(), b.summary());
        for e in edits_a(0) {
            let p = a.prepare(0, &e);
            a.edit(&p);
        }
        for e in edits_b(0) {
            let p = b.prepare(0, &e);
            b.edit(&p);
        }
        let to_b = a.delta(&b_had);
        let to_a = b.delta(&a_had);
        b.apply(&to_b);
        a.apply(&to_a);
        assert!(a.converged(&mut b, 1));
        let v = a.replica().visit(&visit(0)).unwrap();
        let conflicted: Vec<_> = v.conflicts().iter().map(|c| c.target.name()).collect();
        assert_eq!(conflicted, ["occupants", "summary"]);
        let mut ind: Vec<_> = v.set(&VisitSet::Indicators).collect();
        ind.sort_unstable();
        assert_eq!(ind.len(), 8 + 3 - 2);
        assert!(ind.contains(&"debt_to_employer") && !ind.contains(&"cw_unsafe_facilities"));
        assert_eq!(v.notes().count(), 5);
        assert_eq!(
            a.replica().op_count(),
            68 + crate::script::EDITS_A + crate::script::EDITS_B
        );
    }
}
