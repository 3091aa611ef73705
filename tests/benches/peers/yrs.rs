//! The yrs 0.28 adapter for the shared script (`tests::script`).
//!
//! One `Doc` per device with a root map `visits`:
//! `{ <visit uuid>: YMap { <30 fields>, operation, indicators: YMap {id: true},
//! partner_agencies: YMap {id: true}, persons: YArray [ YMap {5 fields} ×4 ],
//! notes: YArray [text] } }`.
//!
//! Fairness choices:
//! * every edit is its own write transaction (committed on drop), as every
//!   sync-core edit is its own op;
//! * the shared-type refs of the visit, its sets, persons and notes are
//!   resolved before the timed phase;
//! * a delta is `encode_state_as_update_v1(state vector the peer had at the
//!   last sync)`, applied with `apply_update`; the state vector itself is not
//!   counted (nor is sync-core's version vector);
//! * client ids are fixed 53-bit values, like the random ones yrs draws;
//! * the GPS position is stored as a short text.

use std::hint::black_box;
use std::sync::Arc;
use sync_core::OperationId;
use tests::script::{operation_uuid, Edit, Engine, Record, Val};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Doc, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector,
    Transact, Update,
};

use crate::automerge::{position_text, visit_key};

/// One device's document.
pub struct Yrs {
    doc: Doc,
    visits: MapRef,
}

/// A yrs edit ready to commit.
pub enum Prepared {
    /// `insert` a value into a map.
    Put(MapRef, &'static str, Any),
    /// `remove` a map key.
    Delete(MapRef, &'static str),
    /// `push_back` text onto an array.
    Push(ArrayRef, String),
}

fn any(v: &Val) -> Any {
    match v {
        Val::Text(s) => Any::String(Arc::from(s.as_str())),
        Val::Int(n) | Val::Time(n) => Any::from(*n),
        Val::Bool(b) => Any::Bool(*b),
        Val::Position { .. } => Any::String(Arc::from(position_text(v))),
    }
}

impl Yrs {
    fn map(&self, parent: &MapRef, key: &str) -> MapRef {
        match parent.get(&self.doc.transact(), key) {
            Some(Out::YMap(m)) => m,
            other => panic!("{key} is not a map: {other:?}"),
        }
    }

    fn array(&self, parent: &MapRef, key: &str) -> ArrayRef {
        match parent.get(&self.doc.transact(), key) {
            Some(Out::YArray(a)) => a,
            other => panic!("{key} is not an array: {other:?}"),
        }
    }
}

impl Engine for Yrs {
    const NAME: &'static str = "yrs";
    type Prepared = Prepared;
    type Summary = StateVector;

    fn new(device: u8) -> Self {
        let client = [0x000A_7C3E_91D2_4F1B_u64, 0x0013_5B8F_0E6A_C247][usize::from(device - 1)];
        let doc = Doc::with_client_id(client);
        let visits = doc.get_or_insert_map("visits");
        Self { doc, visits }
    }

    fn create(&mut self, v: usize, record: &Record) {
        let mut txn = self.doc.transact_mut();
        let m = self
            .visits
            .insert(&mut txn, visit_key(v), MapPrelim::default());
        let op = OperationId::from_u128(operation_uuid()).to_string();
        m.insert(&mut txn, "operation", op);
        for (name, val) in &record.fields {
            m.insert(&mut txn, *name, any(val));
        }
        for (key, elems) in [
            ("indicators", &record.indicators),
            ("partner_agencies", &record.partner_agencies),
        ] {
            let set = m.insert(&mut txn, key, MapPrelim::default());
            for e in elems {
                set.insert(&mut txn, *e, true);
            }
        }
        let persons = m.insert(&mut txn, "persons", ArrayPrelim::default());
        for fields in &record.persons {
            let p = persons.push_back(&mut txn, MapPrelim::default());
            for (name, val) in fields {
                p.insert(&mut txn, *name, any(val));
            }
        }
        let notes = m.insert(&mut txn, "notes", ArrayPrelim::default());
        for n in &record.notes {
            notes.push_back(&mut txn, n.as_str());
        }
    }

    fn prepare(&mut self, v: usize, edit: &Edit) -> Prepared {
        let visit = self.map(&self.visits, &visit_key(v));
        match edit {
            Edit::Field(name, val) => Prepared::Put(visit, name, any(val)),
            Edit::Add(s, e) => Prepared::Put(self.map(&visit, s.key()), e, Any::Bool(true)),
            Edit::Remove(s, e) => Prepared::Delete(self.map(&visit, s.key()), e),
            Edit::Person(i, name, val) => {
                let persons = self.array(&visit, "persons");
                let p = match persons.get(&self.doc.transact(), *i as u32) {
                    Some(Out::YMap(m)) => m,
                    other => panic!("person {i}: {other:?}"),
                };
                Prepared::Put(p, name, any(val))
            }
            Edit::Note(n) => Prepared::Push(self.array(&visit, "notes"), n.clone()),
        }
    }

    fn edit(&mut self, edit: &Prepared) {
        let mut txn = self.doc.transact_mut();
        match edit {
            Prepared::Put(m, key, val) => {
                m.insert(&mut txn, *key, val.clone());
            }
            Prepared::Delete(m, key) => {
                black_box(m.remove(&mut txn, key).expect("key present"));
            }
            Prepared::Push(a, text) => {
                a.push_back(&mut txn, text.as_str());
            }
        }
        drop(black_box(txn));
    }

    fn summary(&mut self) -> StateVector {
        self.doc.transact().state_vector()
    }

    fn delta(&mut self, since: &StateVector) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(since)
    }

    fn apply(&mut self, delta: &[u8]) {
        let update = Update::decode_v1(delta).expect("valid update");
        self.doc
            .transact_mut()
            .apply_update(update)
            .expect("applies");
    }

    fn full(&mut self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn converged(&mut self, other: &mut Self, _visits: usize) -> bool {
        let (ta, tb) = (self.doc.transact(), other.doc.transact());
        ta.state_vector() == tb.state_vector()
            && self.visits.to_json(&ta) == other.visits.to_json(&tb)
    }
}
