//! A read-only, serialisable snapshot of a merged visit: what a screen or an
//! API response shows. Built from [`Visit`] on demand; never merged.

use crate::hlc::Stamp;
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::lattice::{MvRegister, VecMap, Version};
use crate::model::{Value, Visit};
use crate::vocab::{AgeGroup, Status};
use serde::{Deserialize, Serialize};

/// One value of a field, with who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueView {
    /// The value.
    pub value: Value,
    /// The writing replica (device).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub by: ReplicaId,
    /// The writer's clock, ms since the Unix epoch.
    pub at_ms: u64,
    /// The op that wrote it.
    pub op: OpId,
}

impl From<&Version<Value>> for ValueView {
    fn from(v: &Version<Value>) -> Self {
        Self {
            value: v.value.clone(),
            by: v.stamp.replica,
            at_ms: v.stamp.hlc.wall_ms,
            op: v.id,
        }
    }
}

/// A field: the shown value and, when in conflict, the other live values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldView {
    /// The value shown (greatest stamp among the live ones).
    pub value: Value,
    /// The other concurrent values, kept until someone writes having seen them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict: Vec<ValueView>,
    /// Who wrote the shown value and when.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub by: ReplicaId,
    /// When, by the writer's clock.
    pub at_ms: u64,
}

fn field(reg: &MvRegister<Value>) -> Option<FieldView> {
    let w = reg.winner()?;
    Some(FieldView {
        value: w.value.clone(),
        conflict: reg.versions()[1..]
            .iter()
            .map(|v| ValueView::from(*v))
            .collect(),
        by: w.stamp.replica,
        at_ms: w.stamp.hlc.wall_ms,
    })
}

/// A person encountered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonView {
    /// The person's id.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: PersonId,
    /// Scalar fields by name.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, FieldView>))]
    pub fields: VecMap<String, FieldView>,
    /// Set fields by name.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, Vec<String>>))]
    pub sets: VecMap<String, Vec<String>>,
    /// True when removed (the data is kept).
    pub removed: bool,
    /// Adult, child or unknown on the visit's day, by the one rule
    /// ([`crate::summary::age_group`]).
    #[serde(default = "unknown_age")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub age: AgeGroup,
}

fn unknown_age() -> AgeGroup {
    AgeGroup::Unknown
}

/// A note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteView {
    /// The text.
    pub text: String,
    /// The writing replica.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub by: ReplicaId,
    /// When, by the writer's clock.
    pub at_ms: u64,
}

/// A return for correction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnView {
    /// The supervisor's reason.
    pub reason: String,
    /// The round it sent back.
    pub round: u32,
    /// The writing replica (the server's, for a return made on the review page).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub by: ReplicaId,
    /// When, by the writer's clock.
    pub at_ms: u64,
}

/// A whole visit, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitView {
    /// The visit's id.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: VisitId,
    /// Its operation, once known.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub operation: Option<OperationId>,
    /// Current status.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: Status,
    /// Who moved it to that status and when, if anyone did.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub status_by: Option<ReplicaId>,
    /// The status's round: 0 until the visit is first returned.
    #[serde(default)]
    pub round: u32,
    /// The latest return for correction (kept after a resubmit, so the
    /// reason stays visible); `status` says whether it is still returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<ReturnView>,
    /// True when voided (void-wins; see [`Visit::is_voided`]).
    pub voided: bool,
    /// Why, when voided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// Scalar fields by name.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, FieldView>))]
    pub fields: VecMap<String, FieldView>,
    /// Set fields by name.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, Vec<String>>))]
    pub sets: VecMap<String, Vec<String>>,
    /// Arrests by offence, shown values.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, FieldView>))]
    pub arrests: VecMap<String, FieldView>,
    /// Persons in the order first recorded.
    pub persons: Vec<PersonView>,
    /// Notes in their deterministic order.
    pub notes: Vec<NoteView>,
    /// Number of fields holding a conflict.
    pub conflicts: usize,
}

impl From<&Visit> for VisitView {
    fn from(v: &Visit) -> Self {
        let stamp_of = |s: &Stamp| (s.replica, s.hlc.wall_ms);
        let day = v.started_at().map(crate::summary::london_date);
        Self {
            id: v.id(),
            operation: v.operation(),
            status: v.status(),
            status_by: v.status_register().reached().map(|r| r.stamp.replica),
            round: v.status_register().round(),
            returned: v.status_register().last_return().map(|r| ReturnView {
                reason: r.reason.clone().unwrap_or_default(),
                round: r.round,
                by: r.stamp.replica,
                at_ms: r.stamp.hlc.wall_ms,
            }),
            voided: v.is_voided(),
            void_reason: v.void_reason().map(str::to_owned),
            fields: v
                .fields()
                .filter_map(|(f, r)| field(r).map(|x| (f.as_str().to_owned(), x)))
                .collect(),
            sets: v
                .sets()
                .map(|(s, set)| (s.as_str().to_owned(), set.iter().cloned().collect()))
                .collect(),
            arrests: v
                .arrests_registers()
                .filter_map(|(o, r)| field(r).map(|x| (o.as_str().to_owned(), x)))
                .collect(),
            persons: v
                .persons()
                .into_iter()
                .map(|(id, p)| PersonView {
                    id,
                    fields: p
                        .fields()
                        .filter_map(|(f, r)| field(r).map(|x| (f.as_str().to_owned(), x)))
                        .collect(),
                    sets: p
                        .sets()
                        .map(|(s, set)| (s.as_str().to_owned(), set.iter().cloned().collect()))
                        .collect(),
                    removed: p.is_removed(),
                    age: crate::summary::age_group(p, day),
                })
                .collect(),
            notes: v
                .notes()
                .map(|n| {
                    let (by, at_ms) = stamp_of(&n.stamp);
                    NoteView {
                        text: n.text,
                        by,
                        at_ms,
                    }
                })
                .collect(),
            conflicts: v.conflicts().len(),
        }
    }
}
