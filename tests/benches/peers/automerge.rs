//! The automerge 0.12 adapter for the shared script (`tests::script`).
//!
//! One `AutoCommit` document per device holds every visit:
//! `{ visits: { <visit uuid>: { <30 fields>, operation, indicators: {id: true},
//! partner_agencies: {id: true}, persons: [ {5 fields} ×4 ], notes: [text] } } }`.
//!
//! Fairness choices:
//! * every edit is committed as its own change (as every sync-core edit is its
//!   own op, and a field app persists each edit); one change per device per
//!   sync would be smaller and faster but loses the edit-level history;
//! * object ids of the visit, its sets, persons and notes are resolved before
//!   the timed phase (an app holding the record open would have them);
//! * a delta is `save_after(heads the peer had at the last sync)`, i.e. the
//!   raw bytes of the new changes, applied with `load_incremental`; the
//!   multi-round sync protocol is not used (it would only add bytes/rounds);
//! * commit times are left at automerge's default (0), which saves bytes;
//! * the GPS position is stored as a short text.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use std::hint::black_box;
use sync_core::{OperationId, VisitId};
use tests::script::{device_uuid, operation_uuid, visit_uuid, Edit, Engine, Record, Val};

/// One device's document.
pub struct Automerge {
    doc: AutoCommit,
}

/// An automerge edit ready to commit.
pub enum Prepared {
    /// `put` a scalar into a map.
    Put(ObjId, &'static str, ScalarValue),
    /// `delete` a map key.
    Delete(ObjId, &'static str),
    /// `insert` text at the end of a list.
    Push(ObjId, String),
}

fn scalar(v: &Val) -> ScalarValue {
    match v {
        Val::Text(s) => ScalarValue::Str(s.as_str().into()),
        Val::Int(n) => ScalarValue::Int(*n),
        Val::Bool(b) => ScalarValue::Boolean(*b),
        Val::Time(t) => ScalarValue::Timestamp(*t),
        Val::Position { .. } => ScalarValue::Str(position_text(v).into()),
    }
}

/// A position as the peers store it: "lat,lon,accuracy".
pub fn position_text(v: &Val) -> String {
    match v {
        Val::Position {
            lat_e7,
            lon_e7,
            accuracy_m,
        } => format!(
            "{:.7},{:.7},{accuracy_m}",
            f64::from(*lat_e7) / 1e7,
            f64::from(*lon_e7) / 1e7
        ),
        other => panic!("not a position: {other:?}"),
    }
}

/// The map key of visit `v`.
pub fn visit_key(v: usize) -> String {
    VisitId::from_u128(visit_uuid(v)).to_string()
}

impl Automerge {
    fn child(&self, obj: &ObjId, key: &str) -> ObjId {
        match self.doc.get(obj, key).expect("readable") {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("{key} is not an object: {other:?}"),
        }
    }

    fn visit(&self, v: usize) -> ObjId {
        let visits = self.child(&ROOT, "visits");
        self.child(&visits, &visit_key(v))
    }
}

impl Engine for Automerge {
    const NAME: &'static str = "automerge";
    type Prepared = Prepared;
    type Summary = Vec<ChangeHash>;

    fn new(device: u8) -> Self {
        let actor = ActorId::from(&device_uuid(device).to_be_bytes()[..]);
        let mut doc = AutoCommit::new().with_actor(actor);
        if device == 1 {
            // The root map of visits is made once, by A, and reaches B by sync.
            doc.put_object(ROOT, "visits", ObjType::Map).expect("put");
            doc.commit();
        }
        Self { doc }
    }

    fn create(&mut self, v: usize, record: &Record) {
        let visits = self.child(&ROOT, "visits");
        let d = &mut self.doc;
        let obj = d
            .put_object(&visits, visit_key(v), ObjType::Map)
            .expect("put");
        let op = OperationId::from_u128(operation_uuid()).to_string();
        d.put(&obj, "operation", op).expect("put");
        for (name, val) in &record.fields {
            d.put(&obj, *name, scalar(val)).expect("put");
        }
        for (key, elems) in [
            ("indicators", &record.indicators),
            ("partner_agencies", &record.partner_agencies),
        ] {
            let set = d.put_object(&obj, key, ObjType::Map).expect("put");
            for e in elems {
                d.put(&set, *e, true).expect("put");
            }
        }
        let persons = d.put_object(&obj, "persons", ObjType::List).expect("put");
        for (i, fields) in record.persons.iter().enumerate() {
            let p = d.insert_object(&persons, i, ObjType::Map).expect("insert");
            for (name, val) in fields {
                d.put(&p, *name, scalar(val)).expect("put");
            }
        }
        let notes = d.put_object(&obj, "notes", ObjType::List).expect("put");
        for (i, n) in record.notes.iter().enumerate() {
            d.insert(&notes, i, n.as_str()).expect("insert");
        }
        d.commit();
    }

    fn prepare(&mut self, v: usize, edit: &Edit) -> Prepared {
        let obj = self.visit(v);
        match edit {
            Edit::Field(name, val) => Prepared::Put(obj, name, scalar(val)),
            Edit::Add(s, e) => Prepared::Put(self.child(&obj, s.key()), e, true.into()),
            Edit::Remove(s, e) => Prepared::Delete(self.child(&obj, s.key()), e),
            Edit::Person(i, name, val) => {
                let persons = self.child(&obj, "persons");
                let p = match self.doc.get(&persons, *i).expect("readable") {
                    Some((automerge::Value::Object(_), id)) => id,
                    other => panic!("person {i}: {other:?}"),
                };
                Prepared::Put(p, name, scalar(val))
            }
            Edit::Note(n) => Prepared::Push(self.child(&obj, "notes"), n.clone()),
        }
    }

    fn edit(&mut self, edit: &Prepared) {
        let d = &mut self.doc;
        match edit {
            Prepared::Put(obj, key, val) => d.put(obj, *key, val.clone()).expect("put"),
            Prepared::Delete(obj, key) => d.delete(obj, *key).expect("delete"),
            Prepared::Push(obj, text) => {
                let end = d.length(obj);
                d.insert(obj, end, text.as_str()).expect("insert");
            }
        }
        black_box(d.commit());
    }

    fn summary(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    fn delta(&mut self, since: &Vec<ChangeHash>) -> Vec<u8> {
        self.doc.save_after(since)
    }

    fn apply(&mut self, delta: &[u8]) {
        self.doc.load_incremental(delta).expect("valid changes");
    }

    fn full(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    fn converged(&mut self, other: &mut Self, _visits: usize) -> bool {
        let mut ha = self.doc.get_heads();
        let mut hb = other.doc.get_heads();
        ha.sort_unstable();
        hb.sort_unstable();
        ha == hb
            && self.doc.hydrate(&ROOT, None).expect("hydrate")
                == other.doc.hydrate(&ROOT, None).expect("hydrate")
    }
}
