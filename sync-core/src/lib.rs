//! Aidant's conflict-free merge engine and visit-record model.
//!
//! Sans-IO: nothing here reads a clock, draws randomness or does I/O. The caller
//! passes the wall time (ms since the Unix epoch), the replica id and fresh ids.
//! ([`rand`] is a generator the caller seeds, for generated data and tests;
//! no merge uses it.)
//!
//! ```
//! use sync_core::*;
//!
//! let op_id = OperationId::from_u128(1);
//! let visit = VisitId::from_u128(2);
//! let mut a = Replica::new(ReplicaId::from_u128(10));
//! let mut b = Replica::new(ReplicaId::from_u128(11));
//!
//! a.create_visit(1_000, visit, op_id, LocationKind::CarWash).unwrap();
//! b.apply(1_000, a.missing_for(b.version_vector()).cloned().collect::<Vec<_>>());
//!
//! // Both edit offline.
//! let pc = Target::Visit(VisitField::Postcode);
//! a.set(2_000, visit, pc.clone(), Value::Text("OX1 1AA".into())).unwrap();
//! b.set(2_500, visit, pc, Value::Text("OX4 2BB".into())).unwrap();
//! b.add(2_600, visit, SetTarget::Visit(VisitSet::Indicators), "cw_cash_only_no_receipts").unwrap();
//!
//! // Sync both ways, over the compact wire format.
//! let to_b = wire::encode(a.missing_for(b.version_vector()));
//! let to_a = wire::encode(b.missing_for(a.version_vector()));
//! b.apply(3_000, wire::decode(&to_b).unwrap());
//! a.apply(3_000, wire::decode(&to_a).unwrap());
//!
//! assert_eq!(a.visit(&visit), b.visit(&visit));
//! let v = a.visit(&visit).unwrap();
//! assert_eq!(v.text(&VisitField::Postcode), Some("OX4 2BB")); // later stamp shown
//! assert_eq!(v.conflicts().len(), 1); // the other value is kept and visible
//! ```

pub mod checks;
mod crc32;
pub mod hlc;
pub mod ids;
pub mod lattice;
pub mod model;
pub mod op;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod rand;
pub mod replica;
pub mod server_ops;
pub mod summary;
pub mod view;
pub mod vocab;
pub mod wire;

pub use hlc::{Clock, Hlc, SkewWarning, Stamp};
pub use ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
pub use model::snapshot;
pub use model::{
    Conflict, Note, Person, PersonField, PersonSet, Position, Value, Visit, VisitField, VisitSet,
};
pub use op::{Action, Op, OpError, Reason, SetTarget, Target};
pub use replica::{ApplyReport, Outcome, Replica, SaveMark, VersionVector};
pub use view::{ReturnView, VisitView};
pub use vocab::{
    AgeGroup, ExploitationType, Gender, Indicator, LocationKind, NrmConsent, Offence,
    PartnerAgency, PersonRole, SafeguardingAction, Status, StopPower, VisitType, Vocabulary,
    VOCABULARIES,
};
