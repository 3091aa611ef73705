//! The shared peer-comparison scenario: one logical script of edits, written
//! once, replayed through any engine that implements [`Engine`].
//!
//! The script, per visit:
//!
//! 1. device A creates a visit record: 30 scalar fields, 8 indicators, 2
//!    partner agencies, 4 persons (5 fields each) and 3 notes ([`record`]);
//! 2. the record is synced to device B;
//! 3. A makes 13 edits ([`edits_a`]) and B 9 concurrent ones ([`edits_b`]):
//!    scalar overwrites (two of them the same field on both sides, so a
//!    conflict arises), set adds and removes, a person field and a note each;
//! 4. both sync both ways (one delta A→B, one B→A) and must converge.
//!
//! [`run`] drives the script for `visits` records at once (one store per
//! device, one delta each way for all of them) and measures, with a clock the
//! caller passes in (so the same code can time a wasm build with
//! `performance.now()`), the concurrent-edit phase and the merge phase.
//! [`run_sync_core`] is the sync-core side; the automerge and yrs adapters
//! live with the `peers` bench, so this crate does not depend on them.

use crate::sync_core_engine::SyncCore;

/// A field value, engine-neutral. Each engine maps it to its nearest type.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Text, or a vocabulary identifier for vocabulary fields.
    Text(String),
    /// A whole number.
    Int(i64),
    /// Yes or no.
    Bool(bool),
    /// A UTC instant in ms since the Unix epoch.
    Time(i64),
    /// A GPS fix: degrees × 10⁷ and accuracy in metres.
    Position {
        /// Latitude × 10⁷.
        lat_e7: i32,
        /// Longitude × 10⁷.
        lon_e7: i32,
        /// Accuracy radius.
        accuracy_m: u32,
    },
}

fn text(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

/// A set field of the visit used by the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetName {
    /// `indicators`.
    Indicators,
    /// `partner_agencies`.
    PartnerAgencies,
}

impl SetName {
    /// The field name.
    pub fn key(self) -> &'static str {
        match self {
            SetName::Indicators => "indicators",
            SetName::PartnerAgencies => "partner_agencies",
        }
    }
}

/// One logical edit of one visit.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Overwrite a scalar field of the visit.
    Field(&'static str, Val),
    /// Add an element to a set.
    Add(SetName, &'static str),
    /// Remove an element from a set.
    Remove(SetName, &'static str),
    /// Overwrite a field of the person at this index (0..4).
    Person(usize, &'static str, Val),
    /// Append a note.
    Note(String),
}

/// The initial content of one visit record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The 30 scalar fields, `location_kind` and `started_at` first.
    pub fields: Vec<(&'static str, Val)>,
    /// 8 indicator ids.
    pub indicators: Vec<&'static str>,
    /// 2 partner agency ids.
    pub partner_agencies: Vec<&'static str>,
    /// 4 persons, 5 fields each.
    pub persons: Vec<Vec<(&'static str, Val)>>,
    /// 3 notes.
    pub notes: Vec<String>,
}

/// Wall time of the first record, ms since the Unix epoch (2024-06-03 09:00 UTC).
pub const BASE_MS: u64 = 1_717_405_200_000;

/// Edits per visit on device A.
pub const EDITS_A: usize = 13;
/// Edits per visit on device B.
pub const EDITS_B: usize = 9;

/// Spreads a small number over 128 bits so ids look like generated UUIDs:
/// two draws of the shared seeded source (`sync_core::rand`), seeded by it.
fn mix(n: u128) -> u128 {
    let mut r = sync_core::rand::SplitMix64::new(n as u64 ^ (n >> 64) as u64);
    (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64())
}

/// The 128-bit id of visit `v` (sync-core uses it as a `VisitId`; the peers use
/// its hyphenated text as a map key).
pub fn visit_uuid(v: usize) -> u128 {
    mix(0x5649_5349_5400_0000 + v as u128)
}

/// The 128-bit id of person `p` of visit `v`.
pub fn person_uuid(v: usize, p: usize) -> u128 {
    mix(0x5045_5253_4f4e_0000_0000 + ((v as u128) << 8) + p as u128)
}

/// The 128-bit id of the operation every visit belongs to.
pub fn operation_uuid() -> u128 {
    mix(0x4f50_4552_4154_494f_4e00)
}

/// The 128-bit id of device `device` (1 = A, 2 = B).
pub fn device_uuid(device: u8) -> u128 {
    mix(0x4445_5649_4345_0000 + u128::from(device))
}

/// When visit `v` was started (ms since the Unix epoch).
pub fn started_at(v: usize) -> i64 {
    BASE_MS as i64 + v as i64 * 60_000
}

/// The record device A creates for visit `v`. A few values vary with `v` so
/// that 1,000 records are not 1,000 copies of the same bytes.
pub fn record(v: usize) -> Record {
    let t0 = started_at(v);
    let fields = vec![
        ("location_kind", text("car_wash")),
        ("started_at", Val::Time(t0)),
        ("visit_type", text("welfare_engagement")),
        ("ended_at", Val::Time(t0 + 45 * 60_000)),
        ("force_area", text("Thames Valley")),
        ("premises_name", text(format!("Sparkle Hand Car Wash {v}"))),
        ("address", text(format!("Unit {}, Botley Road, Oxford", v % 40 + 1))),
        ("postcode", text("OX2 0HA")),
        (
            "position",
            Val::Position {
                lat_e7: 517_520_000 + v as i32 * 37,
                lon_e7: -12_577_000 - v as i32 * 53,
                accuracy_m: 8,
            },
        ),
        ("reference", text(format!("TVP-OP117-{v:04}"))),
        ("vrm", text(format!("AB{:02} CDE", v % 100))),
        ("vehicle_make", text("Ford")),
        ("vehicle_model", text("Transit")),
        ("vehicle_colour", text("White")),
        ("occupants", Val::Int(3 + (v % 20) as i64)),
        ("stop_power", text("pace_s1")),
        ("search_conducted", Val::Bool(false)),
        ("search_grounds", text("Information from partner agency")),
        ("search_object", text("Documents")),
        ("search_found", text("")),
        ("search_outcome", text("No further action")),
        ("civil_penalty_notices", Val::Int(0)),
        ("hse_prohibition_notices", Val::Int(1)),
        ("intelligence_submitted", Val::Bool(true)),
        ("intel_reference", text("")),
        (
            "licensing_issues",
            text("No planning permission for the caravan used as accommodation"),
        ),
        ("premises_closed", Val::Bool(false)),
        ("follow_up_required", Val::Bool(false)),
        (
            "summary",
            text(format!(
                "Visit {v}: six workers on site, two appeared under 18. Supervisor answered for all."
            )),
        ),
        ("void_reason", text("")),
    ];
    let person = |age: &str, gender: &str, nat: &str, role: &str, victim: bool| {
        vec![
            ("age_group", text(age)),
            ("gender", text(gender)),
            ("nationality", text(nat)),
            ("role", text(role)),
            ("potential_victim", Val::Bool(victim)),
        ]
    };
    Record {
        fields,
        indicators: vec![
            "cw_cash_only_no_receipts",
            "cw_unsafe_facilities",
            "cw_no_protective_clothing",
            "cw_many_workers_per_car_low_price",
            "cw_workers_defer_to_supervisor",
            "little_or_no_pay",
            "lives_at_workplace",
            "fear_of_police",
        ],
        partner_agencies: vec!["glaa", "hse"],
        persons: vec![
            person("adult", "male", "AL", "worker", true),
            person("child", "male", "AL", "worker", true),
            person("adult", "male", "RO", "worker", false),
            person("adult", "male", "GB", "manager_or_owner", false),
        ],
        notes: vec![
            format!(
                "Arrived 09:{:02}; two workers left by the back gate.",
                v % 60
            ),
            "Workers sleep in a caravan behind the jet-wash bays.".to_owned(),
            "Manager produced no payslips or contracts.".to_owned(),
        ],
    }
}

/// Device A's 13 edits of visit `v` (made after the first sync).
pub fn edits_a(v: usize) -> Vec<Edit> {
    use Edit::*;
    use SetName::*;
    vec![
        Field(
            "summary",
            text(format!(
                "Visit {v}: six workers, two possibly under 18; supervisor controlled all answers."
            )),
        ),
        Field("occupants", Val::Int(9)),
        Field("ended_at", Val::Time(started_at(v) + 52 * 60_000)),
        Field("search_conducted", Val::Bool(true)),
        Field("vehicle_colour", text("Silver")),
        Add(Indicators, "cw_onsite_accommodation"),
        Add(Indicators, "no_id_documents"),
        Remove(Indicators, "cw_unsafe_facilities"),
        Add(PartnerAgencies, "hmrc"),
        Person(0, "potential_victim", Val::Bool(false)),
        Note(format!(
            "Visit {v}: manager refused to name two of the workers."
        )),
        Field("follow_up_required", Val::Bool(true)),
        Field("intel_reference", text(format!("INT-24-{v:05}"))),
    ]
}

/// Device B's 9 edits of visit `v`, concurrent with A's.
pub fn edits_b(v: usize) -> Vec<Edit> {
    use Edit::*;
    use SetName::*;
    vec![
        Field(
            "summary",
            text(format!(
                "Visit {v}: six workers; accommodation in a caravan on site; follow up with GLAA."
            )),
        ),
        Field("occupants", Val::Int(11)),
        Add(Indicators, "debt_to_employer"),
        Remove(Indicators, "cw_cash_only_no_receipts"),
        Remove(PartnerAgencies, "glaa"),
        Person(1, "nationality", text("RO")),
        Note("Second officer: a ledger of debts was seen in the office.".to_owned()),
        Field("premises_closed", Val::Bool(true)),
        Field("search_found", text("Ledger with names and amounts owed")),
    ]
}

/// One replica of a store of visit records, in some engine.
///
/// Device 1 is A (it creates every record), device 2 is B.
pub trait Engine: Sized {
    /// Short name for tables.
    const NAME: &'static str;
    /// An edit made ready to apply: targets resolved and values converted, as
    /// an app holding the record open would have them. Applying it is timed.
    type Prepared;
    /// What a device remembers of a peer after a sync, to compute the next
    /// delta: a version vector, a set of heads, a state vector.
    type Summary;

    /// An empty replica for device 1 (A) or 2 (B).
    fn new(device: u8) -> Self;
    /// Creates visit `v` with `record` (untimed).
    fn create(&mut self, v: usize, record: &Record);
    /// Resolves one edit of visit `v` (untimed).
    fn prepare(&mut self, v: usize, edit: &Edit) -> Self::Prepared;
    /// Makes one local edit, as its own unit of change (timed).
    fn edit(&mut self, edit: &Self::Prepared);
    /// What this replica holds now.
    fn summary(&mut self) -> Self::Summary;
    /// The bytes a peer that held `since` is missing.
    fn delta(&mut self, since: &Self::Summary) -> Vec<u8>;
    /// Applies a peer's delta.
    fn apply(&mut self, delta: &[u8]);
    /// The whole store, as it would be sent to a new device or saved.
    fn full(&mut self) -> Vec<u8>;
    /// What a new device's first sync receives, before any transport
    /// compression (sync-core: a snapshot of each visit's merged state;
    /// by default the whole store).
    fn bootstrap(&mut self) -> Vec<u8> {
        self.full()
    }
    /// True when both replicas show the same `visits` records.
    fn converged(&mut self, other: &mut Self, visits: usize) -> bool;
}

/// What one run of the script measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Records in the store.
    pub visits: usize,
    /// Concurrent edits made (A's and B's).
    pub edits: usize,
    /// Time for all concurrent edits, in microseconds.
    pub edit_total_us: f64,
    /// Time to produce and apply both deltas, in microseconds.
    pub merge_total_us: f64,
    /// Bytes of the A→B delta.
    pub delta_a_to_b: usize,
    /// Bytes of the B→A delta.
    pub delta_b_to_a: usize,
    /// Bytes of the whole store after the merge.
    pub record_bytes: usize,
}

impl Measurement {
    /// Microseconds per concurrent edit.
    pub fn edit_us(&self) -> f64 {
        self.edit_total_us / self.edits as f64
    }

    /// Average bytes of the two deltas.
    pub fn delta_bytes(&self) -> f64 {
        (self.delta_a_to_b + self.delta_b_to_a) as f64 / 2.0
    }
}

/// Runs the whole script for `visits` records through engine `E`.
///
/// `clock` returns a monotonic time in microseconds (any origin). Only the
/// concurrent-edit phase and the merge phase are timed; creating the records,
/// the first sync, preparing edits and the convergence check are not.
///
/// # Panics
///
/// When the two replicas do not converge.
pub fn run<E: Engine>(visits: usize, clock: &mut dyn FnMut() -> f64) -> Measurement {
    play::<E>(visits, clock).0
}

/// What a new device's first sync receives after the script, for `visits`
/// records (see [`Engine::bootstrap`]).
pub fn bootstrap<E: Engine>(visits: usize) -> Vec<u8> {
    let mut t = 0.0;
    play::<E>(visits, &mut || {
        t += 1.0;
        t
    })
    .1
    .bootstrap()
}

/// The whole store after the script, for `visits` records
/// (see [`Engine::full`]).
pub fn full<E: Engine>(visits: usize) -> Vec<u8> {
    let mut t = 0.0;
    play::<E>(visits, &mut || {
        t += 1.0;
        t
    })
    .1
    .full()
}

fn play<E: Engine>(visits: usize, clock: &mut dyn FnMut() -> f64) -> (Measurement, E) {
    let mut a = E::new(1);
    let mut b = E::new(2);
    for v in 0..visits {
        a.create(v, &record(v));
    }
    let empty = b.summary();
    let first = a.delta(&empty);
    b.apply(&first);
    assert!(a.converged(&mut b, visits), "{}: first sync", E::NAME);
    // What each side remembers of the other after this sync.
    let a_had = a.summary();
    let b_had = b.summary();

    let mut prep_a = Vec::with_capacity(visits * EDITS_A);
    let mut prep_b = Vec::with_capacity(visits * EDITS_B);
    for v in 0..visits {
        for e in edits_a(v) {
            prep_a.push(a.prepare(v, &e));
        }
        for e in edits_b(v) {
            prep_b.push(b.prepare(v, &e));
        }
    }

    let t0 = clock();
    for e in &prep_a {
        a.edit(e);
    }
    for e in &prep_b {
        b.edit(e);
    }
    let t1 = clock();

    let t2 = clock();
    let to_b = a.delta(&b_had);
    let to_a = b.delta(&a_had);
    b.apply(&to_b);
    a.apply(&to_a);
    let t3 = clock();

    assert!(a.converged(&mut b, visits), "{}: did not converge", E::NAME);
    let record_bytes = a.full().len();
    let m = Measurement {
        visits,
        edits: prep_a.len() + prep_b.len(),
        edit_total_us: t1 - t0,
        merge_total_us: t3 - t2,
        delta_a_to_b: to_b.len(),
        delta_b_to_a: to_a.len(),
        record_bytes,
    };
    (m, a)
}

/// The sync-core side of the script: [`run`] with [`SyncCore`].
///
/// `clock` returns microseconds; on wasm pass `performance.now() * 1000.0`.
///
/// # Panics
///
/// When the replicas do not converge or show other than the two expected
/// conflicts per visit.
pub fn run_sync_core(visits: usize, clock: &mut dyn FnMut() -> f64) -> Measurement {
    run::<SyncCore>(visits, clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_has_the_promised_shape() {
        let r = record(7);
        assert_eq!(r.fields.len(), 30);
        assert_eq!(r.indicators.len(), 8);
        assert_eq!(r.partner_agencies.len(), 2);
        assert_eq!(r.persons.len(), 4);
        assert!(r.persons.iter().all(|p| p.len() == 5));
        assert_eq!(r.notes.len(), 3);
        assert_eq!(edits_a(7).len(), EDITS_A);
        assert_eq!(edits_b(7).len(), EDITS_B);
        let mut names: Vec<_> = r.fields.iter().map(|(k, _)| *k).collect();
        names.sort_unstable();
        let mut known = sync_core::VisitField::KNOWN.to_vec();
        known.sort_unstable();
        assert_eq!(names, known);
    }

    #[test]
    fn sync_core_runs_the_script_and_converges() {
        let mut t = 0.0;
        let mut clock = || {
            t += 1.0;
            t
        };
        for visits in [1, 3] {
            let m = run_sync_core(visits, &mut clock);
            assert_eq!(m.edits, visits * (EDITS_A + EDITS_B));
            assert!(m.delta_a_to_b > 0 && m.delta_b_to_a > 0);
            assert!(m.record_bytes > m.delta_a_to_b);
        }
    }
}
