//! The visit-record model: field names and their kinds, values, and the merged
//! state of one visit (a composition of the lattices in [`crate::lattice`]).

use crate::hlc::Stamp;
use crate::ids::{OpId, OperationId, PersonId, VisitId};
use crate::lattice::{MvRegister, OrSet, StatusRegister, VecMap, Version};
use crate::op::{Action, Op, SetTarget, Target};
use crate::vocab::{vocab, LocationKind, Offence, Status};
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod snapshot;

/// A GPS fix: degrees × 10⁷ (about 1 cm) and the reported accuracy in metres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Latitude in degrees × 10⁷.
    pub lat_e7: i32,
    /// Longitude in degrees × 10⁷.
    pub lon_e7: i32,
    /// Accuracy radius in metres, as the device reported it.
    pub accuracy_m: u32,
}

/// A field value. `Empty` clears a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// No value (a cleared field).
    Empty,
    /// Free text, or a vocabulary identifier for vocabulary fields.
    Text(String),
    /// A whole number.
    Int(i64),
    /// Yes or no.
    Bool(bool),
    /// A UTC instant, milliseconds since the Unix epoch.
    Time(i64),
    /// A GPS position.
    Position(Position),
}

impl Value {
    /// The text, when this is `Text`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The number, when this is `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
    /// The flag, when this is `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The instant, when this is `Time`.
    pub fn as_time(&self) -> Option<i64> {
        match self {
            Value::Time(t) => Some(*t),
            _ => None,
        }
    }
    /// The name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Empty => "empty",
            Value::Text(_) => "text",
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time",
            Value::Position(_) => "position",
        }
    }
}

/// What a field holds and how it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text up to `max` characters.
    Text {
        /// Longest accepted, in characters.
        max: usize,
    },
    /// A vocabulary identifier (unknown identifiers are kept).
    Vocab,
    /// A whole number in `min..=max`.
    Int {
        /// Smallest accepted.
        min: i64,
        /// Largest accepted.
        max: i64,
    },
    /// Yes or no.
    Bool,
    /// A UTC instant.
    Time,
    /// A calendar date `YYYY-MM-DD` held as text.
    Date,
    /// A UK postcode held as text.
    Postcode,
    /// An ISO 3166 alpha-2 country code held as text.
    Country,
    /// A GPS position.
    Position,
    /// A field this version does not know: any value up to the general limits.
    Any,
}

vocab!(
    /// Scalar fields of a visit.
    VisitField {
        LocationKind = "location_kind",
        VisitType = "visit_type",
        StartedAt = "started_at",
        EndedAt = "ended_at",
        ForceArea = "force_area",
        PremisesName = "premises_name",
        Address = "address",
        Postcode = "postcode",
        Position = "position",
        Reference = "reference",
        Vrm = "vrm",
        VehicleMake = "vehicle_make",
        VehicleModel = "vehicle_model",
        VehicleColour = "vehicle_colour",
        Occupants = "occupants",
        StopPower = "stop_power",
        SearchConducted = "search_conducted",
        SearchGrounds = "search_grounds",
        SearchObject = "search_object",
        SearchFound = "search_found",
        SearchOutcome = "search_outcome",
        CivilPenaltyNotices = "civil_penalty_notices",
        HseProhibitionNotices = "hse_prohibition_notices",
        IntelligenceSubmitted = "intelligence_submitted",
        IntelReference = "intel_reference",
        LicensingIssues = "licensing_issues",
        PremisesClosed = "premises_closed",
        FollowUpRequired = "follow_up_required",
        Summary = "summary",
        VoidReason = "void_reason",
    }
);

impl VisitField {
    /// The kind of value the field holds.
    pub fn kind(&self) -> FieldKind {
        use FieldKind::*;
        use VisitField as F;
        match self {
            F::LocationKind | F::VisitType | F::StopPower => Vocab,
            F::StartedAt | F::EndedAt => Time,
            F::ForceArea | F::VehicleMake | F::VehicleModel | F::IntelReference | F::Reference => {
                Text { max: 64 }
            }
            F::VehicleColour => Text { max: 32 },
            F::Vrm => Text { max: 16 },
            F::PremisesName | F::SearchObject | F::SearchOutcome | F::VoidReason => {
                Text { max: 500 }
            }
            F::Address => Text { max: 500 },
            F::Postcode => Postcode,
            F::Position => Position,
            F::Occupants => Int { min: 0, max: 200 },
            F::CivilPenaltyNotices | F::HseProhibitionNotices => Int {
                min: 0,
                max: 10_000,
            },
            F::SearchConducted
            | F::IntelligenceSubmitted
            | F::PremisesClosed
            | F::FollowUpRequired => Bool,
            F::SearchGrounds | F::SearchFound | F::LicensingIssues => Text { max: 2_000 },
            F::Summary => Text { max: 8_000 },
            F::Unrecognised(_) => Any,
        }
    }
}

vocab!(
    /// Scalar fields of a person encountered.
    PersonField {
        Name = "name",
        Description = "description",
        DateOfBirth = "date_of_birth",
        EstimatedAge = "estimated_age",
        AgeGroup = "age_group",
        Gender = "gender",
        Nationality = "nationality",
        Language = "language",
        InterpreterUsed = "interpreter_used",
        Role = "role",
        PotentialVictim = "potential_victim",
        CountyLines = "county_lines",
        NrmConsent = "nrm_consent",
        Notes = "notes",
        Removed = "removed",
    }
);

impl PersonField {
    /// The kind of value the field holds.
    pub fn kind(&self) -> FieldKind {
        use FieldKind::*;
        use PersonField as F;
        match self {
            F::Name | F::Language => Text { max: 200 },
            F::Description => Text { max: 2_000 },
            F::Notes => Text { max: 8_000 },
            F::DateOfBirth => Date,
            F::EstimatedAge => Int { min: 0, max: 120 },
            F::AgeGroup | F::Gender | F::Role | F::NrmConsent => Vocab,
            F::Nationality => Country,
            F::InterpreterUsed | F::PotentialVictim | F::CountyLines | F::Removed => Bool,
            F::Unrecognised(_) => Any,
        }
    }
}

vocab!(
    /// Set-valued fields of a visit (add-wins sets).
    VisitSet {
        Indicators = "indicators",
        PartnerAgencies = "partner_agencies",
        Officers = "officers",
        ExploitationTypes = "exploitation_types",
        SafeguardingActions = "safeguarding_actions",
        Offences = "offences",
    }
);

vocab!(
    /// Set-valued fields of a person (add-wins sets).
    PersonSet {
        Indicators = "indicators",
        ExploitationTypes = "exploitation_types",
        SafeguardingActions = "safeguarding_actions",
    }
);

/// How the elements of a set are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementKind {
    /// Vocabulary identifiers (unknown ones kept).
    Vocab,
    /// Short free text such as a collar number.
    Text {
        /// Longest accepted, in characters.
        max: usize,
    },
}

impl VisitSet {
    /// How elements are checked.
    pub fn element_kind(&self) -> ElementKind {
        match self {
            VisitSet::Officers => ElementKind::Text { max: 32 },
            VisitSet::Unrecognised(_) => ElementKind::Text { max: 200 },
            _ => ElementKind::Vocab,
        }
    }
}

impl PersonSet {
    /// How elements are checked.
    pub fn element_kind(&self) -> ElementKind {
        match self {
            PersonSet::Unrecognised(_) => ElementKind::Text { max: 200 },
            _ => ElementKind::Vocab,
        }
    }
}

/// One person encountered, merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    first: Stamp,
    fields: VecMap<PersonField, MvRegister<Value>>,
    sets: VecMap<PersonSet, OrSet<String>>,
}

impl Person {
    fn new(first: Stamp) -> Self {
        Self {
            first,
            fields: VecMap::default(),
            sets: VecMap::default(),
        }
    }

    fn touch(&mut self, stamp: Stamp) {
        self.first = self.first.min(stamp);
    }

    fn merge(&mut self, other: &Self) {
        self.touch(other.first);
        self.fields.join_with(&other.fields, MvRegister::merge);
        self.sets.join_with(&other.sets, OrSet::merge);
    }

    /// The register of a field, if anything was written to it.
    pub fn field(&self, f: &PersonField) -> Option<&MvRegister<Value>> {
        self.fields.get(f)
    }

    /// The shown value of a field.
    pub fn get(&self, f: &PersonField) -> Option<&Value> {
        self.fields.get(f).and_then(MvRegister::get)
    }

    /// Every field written, with its register.
    pub fn fields(&self) -> impl Iterator<Item = (&PersonField, &MvRegister<Value>)> {
        self.fields.iter()
    }

    /// A set field's present elements.
    pub fn set(&self, s: &PersonSet) -> impl Iterator<Item = &str> {
        self.sets
            .get(s)
            .into_iter()
            .flat_map(|x| x.iter().map(String::as_str))
    }

    /// Every set field written.
    pub fn sets(&self) -> impl Iterator<Item = (&PersonSet, &OrSet<String>)> {
        self.sets.iter()
    }

    /// True when `elem` is in the set field `s`.
    pub fn has(&self, s: &PersonSet, elem: &str) -> bool {
        self.sets
            .get(s)
            .is_some_and(|x| x.contains(&elem.to_owned()))
    }

    /// The shown value of a yes/no field (absent counts as no).
    pub fn flag(&self, f: &PersonField) -> bool {
        self.get(f).and_then(Value::as_bool).unwrap_or(false)
    }

    /// True when the person was removed (the data is kept).
    pub fn is_removed(&self) -> bool {
        self.flag(&PersonField::Removed)
    }

    /// The earliest stamp of any op on this person; persons are listed in this order.
    pub fn first_stamp(&self) -> Stamp {
        self.first
    }
}

/// A note appended to a visit. Notes are never edited or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The op that appended it.
    pub id: OpId,
    /// When and by which replica.
    pub stamp: Stamp,
    /// The text.
    pub text: String,
}

/// A field holding concurrent values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Which field.
    pub target: Target,
    /// Every live value, the shown one first: value, by which replica, when.
    pub versions: Vec<Version<Value>>,
}

/// The merged state of one visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    id: VisitId,
    /// The operation, from the earliest `create` op (least stamp, then
    /// least operation id).
    operation: Option<(Stamp, OperationId)>,
    first: Option<Stamp>,
    fields: VecMap<VisitField, MvRegister<Value>>,
    sets: VecMap<VisitSet, OrSet<String>>,
    arrests: VecMap<Offence, MvRegister<Value>>,
    persons: VecMap<PersonId, Person>,
    notes: VecMap<(Stamp, OpId), String>,
    status: StatusRegister,
}

impl Visit {
    /// An empty visit.
    pub fn new(id: VisitId) -> Self {
        Self {
            id,
            operation: None,
            first: None,
            fields: VecMap::default(),
            sets: VecMap::default(),
            arrests: VecMap::default(),
            persons: VecMap::default(),
            notes: VecMap::default(),
            status: StatusRegister::default(),
        }
    }

    /// Applies one (valid) op to this visit. Idempotent and commutative with
    /// every other op, so ops may arrive in any order, more than once.
    pub fn apply(&mut self, op: &Op) {
        debug_assert_eq!(op.visit, self.id);
        let stamp = op.stamp();
        self.first = Some(self.first.map_or(stamp, |f| f.min(stamp)));
        match &op.action {
            Action::Create { operation } => {
                // Least stamp, then least operation id: equal stamps (forged,
                // or a clock saturated at its bound) still give one answer.
                if self.operation.is_none_or(|cur| (stamp, *operation) < cur) {
                    self.operation = Some((stamp, *operation));
                }
            }
            Action::Set {
                target,
                value,
                pred,
            } => {
                let reg = match target {
                    Target::Visit(f) => self.fields.get_or_insert_with(f.clone(), Default::default),
                    Target::Arrests(o) => {
                        self.arrests.get_or_insert_with(o.clone(), Default::default)
                    }
                    Target::Person(p, f) => self
                        .person_mut(*p, stamp)
                        .fields
                        .get_or_insert_with(f.clone(), Default::default),
                };
                reg.apply(op.id, stamp, value.clone(), pred);
            }
            Action::Add { set, elem } => {
                self.set_mut(set, stamp).add(elem.clone(), op.id);
            }
            Action::Remove {
                set,
                elem,
                observed,
            } => {
                self.set_mut(set, stamp).remove(elem, observed);
            }
            Action::AddPerson { person } => {
                self.person_mut(*person, stamp);
            }
            Action::Note { text } => {
                self.notes.insert_if_absent((stamp, op.id), text.clone());
            }
            Action::Status {
                status,
                round,
                reason,
            } => self
                .status
                .apply(status.clone(), *round, reason.clone(), op.id, stamp),
        }
    }

    fn person_mut(&mut self, p: PersonId, stamp: Stamp) -> &mut Person {
        let person = self.persons.get_or_insert_with(p, || Person::new(stamp));
        person.touch(stamp);
        person
    }

    fn set_mut(&mut self, set: &SetTarget, stamp: Stamp) -> &mut OrSet<String> {
        match set {
            SetTarget::Visit(s) => self.sets.get_or_insert_with(s.clone(), Default::default),
            SetTarget::Person(p, s) => self
                .person_mut(*p, stamp)
                .sets
                .get_or_insert_with(s.clone(), Default::default),
        }
    }

    /// Joins another replica's state of the same visit.
    pub fn merge(&mut self, other: &Self) {
        if let Some(theirs) = other.operation {
            if self.operation.is_none_or(|mine| theirs < mine) {
                self.operation = Some(theirs);
            }
        }
        if let Some(f) = other.first {
            self.first = Some(self.first.map_or(f, |m| m.min(f)));
        }
        self.fields.join_with(&other.fields, MvRegister::merge);
        self.sets.join_with(&other.sets, OrSet::merge);
        self.arrests.join_with(&other.arrests, MvRegister::merge);
        for (id, p) in other.persons.iter() {
            match self.persons.get_mut(id) {
                Some(mine) => mine.merge(p),
                None => {
                    self.persons.insert_if_absent(*id, p.clone());
                }
            }
        }
        for (k, t) in other.notes.iter() {
            if !self.notes.contains_key(k) {
                self.notes.insert_if_absent(*k, t.clone());
            }
        }
        self.status.merge(&other.status);
    }

    /// The visit's id.
    pub fn id(&self) -> VisitId {
        self.id
    }

    /// The operation it belongs to (unknown until its `create` op arrives).
    pub fn operation(&self) -> Option<OperationId> {
        self.operation.map(|(_, o)| o)
    }

    /// The earliest stamp of any op on this visit.
    pub fn first_stamp(&self) -> Option<Stamp> {
        self.first
    }

    /// The register behind a scalar field.
    pub fn field(&self, f: &VisitField) -> Option<&MvRegister<Value>> {
        self.fields.get(f)
    }

    /// Every scalar field written.
    pub fn fields(&self) -> impl Iterator<Item = (&VisitField, &MvRegister<Value>)> {
        self.fields.iter()
    }

    /// The shown value of a scalar field.
    pub fn get(&self, f: &VisitField) -> Option<&Value> {
        self.fields.get(f).and_then(MvRegister::get)
    }

    /// The shown text of a field, if it holds text.
    pub fn text(&self, f: &VisitField) -> Option<&str> {
        self.get(f).and_then(Value::as_text)
    }

    /// The kind of place visited.
    pub fn location_kind(&self) -> Option<LocationKind> {
        self.text(&VisitField::LocationKind)
            .map(LocationKind::parse)
    }

    /// When the visit started (UTC ms), as recorded.
    pub fn started_at(&self) -> Option<i64> {
        self.get(&VisitField::StartedAt).and_then(Value::as_time)
    }

    /// A set field's present elements.
    pub fn set(&self, s: &VisitSet) -> impl Iterator<Item = &str> {
        self.sets
            .get(s)
            .into_iter()
            .flat_map(|x| x.iter().map(String::as_str))
    }

    /// Every set field written.
    pub fn sets(&self) -> impl Iterator<Item = (&VisitSet, &OrSet<String>)> {
        self.sets.iter()
    }

    /// True when `elem` is in the set field `s`.
    pub fn has(&self, s: &VisitSet, elem: &str) -> bool {
        self.sets
            .get(s)
            .is_some_and(|x| x.contains(&elem.to_owned()))
    }

    /// The raw set behind a set target, for building removes.
    pub(crate) fn or_set(&self, t: &SetTarget) -> Option<&OrSet<String>> {
        match t {
            SetTarget::Visit(s) => self.sets.get(s),
            SetTarget::Person(p, s) => self.persons.get(p).and_then(|x| x.sets.get(s)),
        }
    }

    /// The register behind a scalar target.
    pub fn register(&self, t: &Target) -> Option<&MvRegister<Value>> {
        match t {
            Target::Visit(f) => self.fields.get(f),
            Target::Arrests(o) => self.arrests.get(o),
            Target::Person(p, f) => self.persons.get(p).and_then(|x| x.fields.get(f)),
        }
    }

    /// Arrests by offence (shown values; zero counts left out).
    pub fn arrests(&self) -> impl Iterator<Item = (&Offence, i64)> {
        self.arrests.iter().filter_map(|(o, r)| {
            r.get()
                .and_then(Value::as_int)
                .filter(|n| *n > 0)
                .map(|n| (o, n))
        })
    }

    /// Every arrests register, by offence (zero and conflicting counts included).
    pub fn arrests_registers(&self) -> impl Iterator<Item = (&Offence, &MvRegister<Value>)> {
        self.arrests.iter()
    }

    /// Persons, including removed ones, in the order they were first recorded.
    pub fn persons(&self) -> Vec<(PersonId, &Person)> {
        let mut v: Vec<_> = self.persons.iter().map(|(id, p)| (*id, p)).collect();
        v.sort_by_key(|(id, p)| (p.first, *id));
        v
    }

    /// One person.
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.persons.get(id)
    }

    /// Notes in their deterministic order (stamp, then replica, then op id).
    pub fn notes(&self) -> impl Iterator<Item = Note> + '_ {
        self.notes.iter().map(|((stamp, id), text)| Note {
            id: *id,
            stamp: *stamp,
            text: text.clone(),
        })
    }

    /// The status register.
    pub fn status_register(&self) -> &StatusRegister {
        &self.status
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// True when voided. The void register is the `void_reason` field's
    /// multi-value register (so every op ever written to it keeps its
    /// meaning: a reason voids, an empty value un-voids), read **void-wins**:
    /// the visit is voided while any live write (one no later write has
    /// seen) holds a reason. A concurrent void and un-void therefore leave
    /// it voided, whatever the clocks or replica ids, until someone who has
    /// seen the void un-voids it again.
    pub fn is_voided(&self) -> bool {
        self.void_reason().is_some()
    }

    /// The reason of the live void (the newest when several are live), if voided.
    pub fn void_reason(&self) -> Option<&str> {
        self.fields
            .get(&VisitField::VoidReason)?
            .versions()
            .into_iter()
            .find_map(|v| v.value.as_text().filter(|r| !r.trim().is_empty()))
    }

    /// True when any field holds concurrent values (cheaper than [`Visit::conflicts`]).
    pub fn has_conflict(&self) -> bool {
        self.fields.values().any(MvRegister::is_conflict)
            || self.arrests.values().any(MvRegister::is_conflict)
            || self
                .persons
                .values()
                .any(|p| p.fields.values().any(MvRegister::is_conflict))
    }

    /// Every field holding concurrent values, visit fields first, then arrests,
    /// then persons in order.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        let mut push = |target: Target, reg: &MvRegister<Value>| {
            if reg.is_conflict() {
                out.push(Conflict {
                    target,
                    versions: reg.versions().into_iter().cloned().collect(),
                });
            }
        };
        for (f, r) in self.fields.iter() {
            push(Target::Visit(f.clone()), r);
        }
        for (o, r) in self.arrests.iter() {
            push(Target::Arrests(o.clone()), r);
        }
        for (id, p) in self.persons() {
            for (f, r) in p.fields.iter() {
                push(Target::Person(id, f.clone()), r);
            }
        }
        out
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Empty => f.write_str(""),
            Value::Text(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Value::Time(t) => write!(f, "{t}"),
            Value::Position(p) => {
                // Integer arithmetic: no float formatting code in the wasm module.
                let deg = |e7: i32| {
                    let sign = if e7 < 0 { "-" } else { "" };
                    let a = e7.unsigned_abs();
                    format!("{sign}{}.{:06}", a / 10_000_000, (a % 10_000_000) / 10)
                };
                write!(f, "{},{} ±{}m", deg(p.lat_e7), deg(p.lon_e7), p.accuracy_m)
            }
        }
    }
}
