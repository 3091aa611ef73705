//! The day summary: Europe/London days (checked against chrono-tz natively),
//! day boundaries, hand-computed figures for a fixed data set built through the
//! replica API, and the same figures on every replica once synced.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use sync_core::lattice::{VecMap, VecSet};
use sync_core::summary::{
    day_summary, london_date, london_day_bounds, london_offset_ms, ByAge, DaySummary, LocalDate,
};
use sync_core::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn date(s: &str) -> LocalDate {
    LocalDate::parse(s).unwrap_or_else(|| panic!("bad date {s:?}"))
}

/// A UTC instant written `YYYY-MM-DD HH:MM[:SS[.mmm]]` (in UTC), in ms.
fn utc(s: &str) -> i64 {
    let num = |x: &str| -> i64 { x.parse().unwrap_or_else(|_| panic!("bad time {s:?}")) };
    let (d, t) = s.split_once(' ').expect("date and time");
    let mut hms = t.splitn(3, ':');
    let (h, m) = (num(hms.next().unwrap()), num(hms.next().expect("minutes")));
    let (sec, ms) = hms.next().map_or((0, 0), |x| match x.split_once('.') {
        Some((sec, ms)) => (num(sec), num(ms)),
        None => (num(x), 0),
    });
    date(d).days_since_epoch() * DAY + h * HOUR + m * 60_000 + sec * 1_000 + ms
}

/// The same, as the wall time the replica API takes.
fn at(s: &str) -> u64 {
    u64::try_from(utc(s)).expect("after 1970")
}

fn next_day(d: LocalDate) -> LocalDate {
    LocalDate::from_days_since_epoch(d.days_since_epoch() + 1)
}

fn prev_day(d: LocalDate) -> LocalDate {
    LocalDate::from_days_since_epoch(d.days_since_epoch() - 1)
}

#[test]
fn local_date_parse_and_display() {
    for (s, ok) in [
        ("2026-03-29", true),
        ("2024-02-29", true),
        ("2025-02-29", false),
        ("2026-13-01", false),
        ("2026-00-10", false),
        ("2026-3-29", false),
        ("2026-03-29T00", false),
        ("+202-03-29", false),
        ("2026-+3-29", false),
        ("2026-03-+9", false),
        (" 202-03-29", false),
        ("", false),
    ] {
        let parsed = LocalDate::parse(s);
        assert_eq!(parsed.is_some(), ok, "{s:?} → {parsed:?}");
        if let Some(d) = parsed {
            assert_eq!(d.to_string(), s);
        }
    }
    let json = serde_json::to_string(&date("2026-10-25")).unwrap();
    assert_eq!(json, "\"2026-10-25\"");
    assert_eq!(
        serde_json::from_str::<LocalDate>(&json).unwrap(),
        date("2026-10-25")
    );
    assert!(serde_json::from_str::<LocalDate>("\"2026-10-32\"").is_err());
}

// ---------------------------------------------------------------------------
// Day boundaries

/// A visit started at `when` (UTC) belongs to the London day `day`: both by
/// `london_date` and by `day_summary`, which counts it on that day only.
fn check(when: &str, day: &str) {
    let (t, d) = (utc(when), date(day));
    assert_eq!(london_date(t), d, "london_date({when} UTC)");
    let (start, end) = london_day_bounds(d);
    assert!(start <= t && t < end, "{when} UTC outside bounds of {day}");

    let op = OperationId::from_u128(1);
    let mut r = Replica::new(ReplicaId::from_u128(1));
    r.create_visit(at(when), VisitId::from_u128(1), op, LocationKind::Hotel)
        .unwrap();
    let count = |d| day_summary(r.visits(), Some(op), d).visits;
    assert_eq!(count(d), 1, "{when} UTC not counted on {day}");
    assert_eq!(
        count(prev_day(d)),
        0,
        "{when} UTC counted the day before {day}"
    );
    assert_eq!(
        count(next_day(d)),
        0,
        "{when} UTC counted the day after {day}"
    );
}

#[test]
fn day_boundaries() {
    // Summer (BST, UTC+1): 00:30 BST on the 29th is 23:30 UTC on the 28th.
    check("2026-07-28 23:30", "2026-07-29");
    check("2026-07-28 22:59:59.999", "2026-07-28"); // 23:59:59.999 BST
    check("2026-07-28 23:00", "2026-07-29"); // 00:00 BST
    check("2026-07-29 22:59:59.999", "2026-07-29");
    check("2026-07-29 23:00", "2026-07-30");

    // Winter (GMT): UTC = local.
    check("2026-01-15 23:59:59.999", "2026-01-15");
    check("2026-01-16 00:00", "2026-01-16");
    check("2025-12-31 23:59:59.999", "2025-12-31");
    check("2026-01-01 00:00", "2026-01-01");

    // 29 March 2026, clocks go forward at 01:00 GMT to 02:00 BST: 23 hours.
    check("2026-03-28 23:59:59.999", "2026-03-28"); // 23:59:59.999 GMT
    check("2026-03-29 00:00", "2026-03-29"); // 00:00 GMT
    check("2026-03-29 00:59:59.999", "2026-03-29"); // 00:59:59.999 GMT
    check("2026-03-29 01:00", "2026-03-29"); // 02:00 BST
    check("2026-03-29 22:59:59.999", "2026-03-29"); // 23:59:59.999 BST
    check("2026-03-29 23:00", "2026-03-30"); // 00:00 BST

    // 25 October 2026, clocks go back at 02:00 BST to 01:00 GMT: 25 hours, and
    // 01:00–02:00 local happens twice, both times on the 25th.
    check("2026-10-24 22:59:59.999", "2026-10-24"); // 23:59:59.999 BST
    check("2026-10-24 23:00", "2026-10-25"); // 00:00 BST
    check("2026-10-25 00:00", "2026-10-25"); // 01:00 BST, first time
    check("2026-10-25 00:30", "2026-10-25"); // 01:30 BST
    check("2026-10-25 00:59:59.999", "2026-10-25"); // 01:59:59.999 BST
    check("2026-10-25 01:00", "2026-10-25"); // 01:00 GMT, second time
    check("2026-10-25 01:30", "2026-10-25"); // 01:30 GMT
    check("2026-10-25 23:59:59.999", "2026-10-25"); // 23:59:59.999 GMT
    check("2026-10-26 00:00", "2026-10-26"); // 00:00 GMT
}

#[test]
fn day_bounds_around_the_2026_clock_changes() {
    for (day, start, end, hours) in [
        ("2026-03-28", "2026-03-28 00:00", "2026-03-29 00:00", 24),
        ("2026-03-29", "2026-03-29 00:00", "2026-03-29 23:00", 23),
        ("2026-03-30", "2026-03-29 23:00", "2026-03-30 23:00", 24),
        ("2026-07-14", "2026-07-13 23:00", "2026-07-14 23:00", 24),
        ("2026-10-24", "2026-10-23 23:00", "2026-10-24 23:00", 24),
        ("2026-10-25", "2026-10-24 23:00", "2026-10-26 00:00", 25),
        ("2026-10-26", "2026-10-26 00:00", "2026-10-27 00:00", 24),
        ("2026-12-31", "2026-12-31 00:00", "2027-01-01 00:00", 24),
    ] {
        let (s, e) = london_day_bounds(date(day));
        assert_eq!((s, e), (utc(start), utc(end)), "{day}");
        assert_eq!(e - s, hours * HOUR, "{day}");
    }
    // The offsets either side of each change.
    assert_eq!(london_offset_ms(utc("2026-03-29 00:59:59.999")), 0);
    assert_eq!(london_offset_ms(utc("2026-03-29 01:00")), HOUR);
    assert_eq!(london_offset_ms(utc("2026-10-25 00:59:59.999")), HOUR);
    assert_eq!(london_offset_ms(utc("2026-10-25 01:00")), 0);
}

// ---------------------------------------------------------------------------
// A fixed data set, built through the replica API, with hand-computed figures.

const OP: OperationId = OperationId::from_u128(0xA1);
const OTHER_OP: OperationId = OperationId::from_u128(0xA2);
const DAY_STR: &str = "2026-07-14"; // a Tuesday in BST: local = UTC + 1 h

fn v(n: u128) -> VisitId {
    VisitId::from_u128(n)
}

fn sync(a: &mut Replica, b: &mut Replica, now: u64) {
    let to_b = wire::encode(a.missing_for(b.version_vector()));
    let to_a = wire::encode(b.missing_for(a.version_vector()));
    let rb = b.apply(now, wire::decode(&to_b).unwrap());
    let ra = a.apply(now, wire::decode(&to_a).unwrap());
    assert!(rb.rejected().is_empty() && ra.rejected().is_empty());
}

/// Syncs each phone with the server (then the first again, so all three hold everything).
fn sync_round(a: &mut Replica, b: &mut Replica, server: &mut Replica, now: u64) {
    sync(a, server, now);
    sync(b, server, now);
    sync(a, server, now);
}

fn pv() -> (PersonField, Value) {
    (PersonField::PotentialVictim, Value::Bool(true))
}
fn age(g: AgeGroup) -> (PersonField, Value) {
    (PersonField::AgeGroup, Value::Text(g.as_str().into()))
}
fn est(years: i64) -> (PersonField, Value) {
    (PersonField::EstimatedAge, Value::Int(years))
}
fn born(d: &str) -> (PersonField, Value) {
    (PersonField::DateOfBirth, Value::Text(d.into()))
}
fn role(r: PersonRole) -> (PersonField, Value) {
    (PersonField::Role, Value::Text(r.as_str().into()))
}

/// Records a person at a visit with some fields and safeguarding actions.
fn person(
    r: &mut Replica,
    t: &str,
    visit: VisitId,
    n: u128,
    fields: &[(PersonField, Value)],
    actions: &[SafeguardingAction],
) -> PersonId {
    let (t, p) = (at(t), PersonId::from_u128(n));
    r.add_person(t, visit, p).unwrap();
    for (f, value) in fields {
        r.set(t, visit, Target::Person(p, f.clone()), value.clone())
            .unwrap();
    }
    for a in actions {
        let set = SetTarget::Person(p, PersonSet::SafeguardingActions);
        r.add(t, visit, set, a.as_str()).unwrap();
    }
    p
}

fn visit_set(r: &mut Replica, t: &str, visit: VisitId, s: VisitSet, elems: &[&str]) {
    for e in elems {
        r.add(at(t), visit, SetTarget::Visit(s.clone()), e).unwrap();
    }
}

fn arrests(r: &mut Replica, t: &str, visit: VisitId, o: Offence, n: i64) {
    r.set(at(t), visit, Target::Arrests(o), Value::Int(n))
        .unwrap();
}

fn void(r: &mut Replica, t: &str, visit: VisitId, reason: &str) {
    let value = if reason.is_empty() {
        Value::Empty
    } else {
        Value::Text(reason.into())
    };
    r.set(at(t), visit, Target::Visit(VisitField::VoidReason), value)
        .unwrap();
}

/// Two phones and the server after the day (times are UTC; BST = UTC + 1 h).
/// Returns them before the last sync round (`provisional`) and after it.
struct Day {
    phone_a: Replica,
    phone_b: Replica,
    server: Replica,
}

fn build_day(final_sync: bool) -> Day {
    use AgeGroup::{Adult, Child, Unknown};
    use SafeguardingAction as S;
    let mut a = Replica::new(ReplicaId::from_u128(1));
    let mut b = Replica::new(ReplicaId::from_u128(2));
    let mut server = Replica::new(ReplicaId::from_u128(9));
    use VisitSet::{Officers, PartnerAgencies};

    // V9, phone A: 23:59 BST on the 13th. The day before: excluded.
    a.create_visit(at("2026-07-13 22:59"), v(9), OP, LocationKind::CarWash)
        .unwrap();
    visit_set(&mut a, "2026-07-13 23:05", v(9), Officers, &["1111"]);
    person(
        &mut a,
        "2026-07-13 23:05",
        v(9),
        901,
        &[pv()],
        &[S::NrmReferral],
    );

    // V1, phone A: car wash at 09:00 BST.
    a.create_visit(at("2026-07-14 08:00"), v(1), OP, LocationKind::CarWash)
        .unwrap();
    visit_set(
        &mut a,
        "2026-07-14 08:01",
        v(1),
        Officers,
        &["4512", "3301"],
    );
    visit_set(
        &mut a,
        "2026-07-14 08:01",
        v(1),
        PartnerAgencies,
        &["glaa", "hmrc"],
    );
    let t = "2026-07-14 08:10";
    // P1: adult as recorded, NRM referral.
    person(
        &mut a,
        t,
        v(1),
        101,
        &[pv(), age(Adult)],
        &[S::NrmReferral, S::SalvationArmyReferral],
    );
    // P2: no age group, estimated 16: a child.
    person(
        &mut a,
        t,
        v(1),
        102,
        &[pv(), est(16)],
        &[S::NrmReferral, S::ChildrensServicesReferral],
    );
    // P3: spoken to, not a potential victim.
    person(
        &mut a,
        t,
        v(1),
        103,
        &[role(PersonRole::ManagerOrOwner)],
        &[],
    );
    // P4: recorded twice by mistake, then removed: in no figure.
    let p4 = person(
        &mut a,
        t,
        v(1),
        104,
        &[pv(), age(Child)],
        &[S::NrmReferral, S::DutyToNotify],
    );
    a.set(
        at("2026-07-14 08:20"),
        v(1),
        Target::Person(p4, PersonField::Removed),
        Value::Bool(true),
    )
    .unwrap();
    arrests(&mut a, "2026-07-14 08:40", v(1), Offence::ModernSlavery, 1);
    arrests(&mut a, "2026-07-14 08:40", v(1), Offence::IllegalWorking, 2);

    // V8, phone A: another operation, same day. Excluded from OP's figures.
    a.create_visit(
        at("2026-07-14 09:00"),
        v(8),
        OTHER_OP,
        LocationKind::CarWash,
    )
    .unwrap();
    visit_set(&mut a, "2026-07-14 09:05", v(8), Officers, &["7777"]);
    visit_set(&mut a, "2026-07-14 09:05", v(8), PartnerAgencies, &["ngo"]);
    person(
        &mut a,
        "2026-07-14 09:10",
        v(8),
        801,
        &[pv(), age(Adult)],
        &[S::DutyToNotify],
    );
    arrests(&mut a, "2026-07-14 09:30", v(8), Offence::DrugSupply, 5);

    // V2, phone A: nail bar at 11:00 BST.
    a.create_visit(at("2026-07-14 10:00"), v(2), OP, LocationKind::NailBar)
        .unwrap();
    visit_set(&mut a, "2026-07-14 10:01", v(2), Officers, &["4512"]);
    visit_set(
        &mut a,
        "2026-07-14 10:01",
        v(2),
        PartnerAgencies,
        &["local_authority", "border_force"],
    );
    let removed = SetTarget::Visit(PartnerAgencies);
    a.remove(at("2026-07-14 10:02"), v(2), removed, "border_force")
        .unwrap()
        .expect("was present");
    let t = "2026-07-14 10:15";
    // P5: age group unknown and nothing else known: unknown, no action taken.
    person(&mut a, t, v(2), 201, &[pv(), age(Unknown)], &[]);
    // P6: adult who declined an NRM referral: Duty to Notify.
    person(
        &mut a,
        t,
        v(2),
        202,
        &[pv(), age(Adult)],
        &[S::DutyToNotify],
    );
    // P7: given the helpline number but not judged a potential victim.
    person(&mut a, t, v(2), 203, &[], &[S::HelplineInformationGiven]);
    // P8: estimated 18: an adult.
    person(&mut a, t, v(2), 204, &[pv(), est(18)], &[S::WelfareCheck]);

    // V6, phone B: takeaway at 13:00 BST, then voided.
    b.create_visit(at("2026-07-14 12:00"), v(6), OP, LocationKind::Takeaway)
        .unwrap();
    visit_set(&mut b, "2026-07-14 12:05", v(6), Officers, &["9999"]);
    visit_set(&mut b, "2026-07-14 12:05", v(6), PartnerAgencies, &["hse"]);
    person(
        &mut b,
        "2026-07-14 12:10",
        v(6),
        601,
        &[pv(), age(Child)],
        &[S::NrmReferral],
    );
    arrests(&mut b, "2026-07-14 12:20", v(6), Offence::Other, 1);
    void(
        &mut b,
        "2026-07-14 12:45",
        v(6),
        "Duplicate of another record",
    );

    // V3, phone B: vehicle stop at 15:00 BST.
    b.create_visit(at("2026-07-14 14:00"), v(3), OP, LocationKind::VehicleStop)
        .unwrap();
    visit_set(&mut b, "2026-07-14 14:01", v(3), Officers, &["2207"]);
    visit_set(&mut b, "2026-07-14 14:01", v(3), PartnerAgencies, &["dvsa"]);
    person(
        &mut b,
        "2026-07-14 14:05",
        v(3),
        301,
        &[role(PersonRole::Driver)],
        &[],
    );
    // P10: recorded child; the (wrong) estimate of 19 does not override it.
    person(
        &mut b,
        "2026-07-14 14:05",
        v(3),
        302,
        &[pv(), age(Child), est(19)],
        &[S::NrmReferral],
    );
    arrests(&mut b, "2026-07-14 14:20", v(3), Offence::DrugSupply, 1);
    arrests(&mut b, "2026-07-14 14:30", v(3), Offence::DrugSupply, 2); // corrected
    arrests(&mut b, "2026-07-14 14:30", v(3), Offence::Driving, 0); // zero: left out

    // V7, phone B: massage parlour at 17:00 BST, voided by mistake, then reinstated.
    b.create_visit(
        at("2026-07-14 16:00"),
        v(7),
        OP,
        LocationKind::MassageParlour,
    )
    .unwrap();
    person(
        &mut b,
        "2026-07-14 16:10",
        v(7),
        701,
        &[role(PersonRole::Worker)],
        &[],
    );
    void(&mut b, "2026-07-14 16:30", v(7), "Wrong operation");
    void(&mut b, "2026-07-14 16:40", v(7), "");

    sync_round(&mut a, &mut b, &mut server, at("2026-07-14 19:00"));

    // V5: hotel at 21:00 BST, created on A, synced to B, then edited on both offline.
    a.create_visit(at("2026-07-14 20:00"), v(5), OP, LocationKind::Hotel)
        .unwrap();
    sync_round(&mut a, &mut b, &mut server, at("2026-07-14 20:05"));
    let pc = Target::Visit(VisitField::Postcode);
    a.set(
        at("2026-07-14 20:10"),
        v(5),
        pc.clone(),
        Value::Text("OX1 1AA".into()),
    )
    .unwrap();
    b.set(
        at("2026-07-14 20:12"),
        v(5),
        pc,
        Value::Text("OX4 2BB".into()),
    )
    .unwrap();
    visit_set(&mut a, "2026-07-14 20:15", v(5), Officers, &["4512"]);
    visit_set(&mut a, "2026-07-14 20:15", v(5), PartnerAgencies, &["glaa"]);
    visit_set(
        &mut b,
        "2026-07-14 20:16",
        v(5),
        Officers,
        &["5150", "4512"],
    );
    visit_set(&mut b, "2026-07-14 20:16", v(5), PartnerAgencies, &["nca"]);
    person(
        &mut a,
        "2026-07-14 20:20",
        v(5),
        501,
        &[pv(), age(Adult)],
        &[S::NrmReferral],
    );
    // P12: no age group; born 2010-07-15, so 15 on the 14th (16 the day after).
    person(
        &mut b,
        "2026-07-14 20:21",
        v(5),
        502,
        &[pv(), born("2010-07-15"), est(20)],
        &[S::NrmReferral, S::PoliceProtectionS46],
    );
    arrests(
        &mut a,
        "2026-07-14 20:30",
        v(5),
        Offence::HumanTrafficking,
        1,
    );
    sync_round(&mut a, &mut b, &mut server, at("2026-07-14 21:00"));

    // V4, phone B: vehicle stop at 23:30 BST: still the 14th.
    b.create_visit(at("2026-07-14 22:30"), v(4), OP, LocationKind::VehicleStop)
        .unwrap();
    visit_set(&mut b, "2026-07-14 22:31", v(4), Officers, &["2207"]);

    // V10, phone A: 00:00 BST on the 15th (23:00 UTC on the 14th), voided:
    // the next day, so neither counted nor counted as voided.
    a.create_visit(at("2026-07-14 23:00"), v(10), OP, LocationKind::NailBar)
        .unwrap();
    visit_set(
        &mut a,
        "2026-07-14 23:01",
        v(10),
        Officers,
        &["4512", "8888"],
    );
    void(&mut a, "2026-07-14 23:20", v(10), "Test record");

    if final_sync {
        sync_round(&mut a, &mut b, &mut server, at("2026-07-15 00:30"));
    }
    Day {
        phone_a: a,
        phone_b: b,
        server,
    }
}

fn counts(pairs: &[(&str, u32)]) -> VecMap<String, u32> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

fn names(items: &[&str]) -> VecSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The figures for OP on the 14th, worked out by hand from `build_day`.
fn expected() -> DaySummary {
    DaySummary {
        date: date(DAY_STR),
        operation: Some(OP),
        // V1 car wash, V2 nail bar, V3 and V4 vehicle stops, V5 hotel, V7
        // massage parlour. Not V6 (voided), V8 (other operation), V9, V10
        // (other days).
        visits: 6,
        visits_by_kind: counts(&[
            ("car_wash", 1),
            ("hotel", 1),
            ("massage_parlour", 1),
            ("nail_bar", 1),
            ("vehicle_stop", 2),
        ]),
        vehicles_stopped: 2,
        // V1: P1 P2 P3 (P4 removed); V2: P5–P8; V3: P9 P10; V5: P11 (A), P12
        // (B); V7: one worker.
        people_spoken_to: 12,
        // Adults P1, P6, P8 (18), P11; children P2 (16), P10 (recorded), P12
        // (date of birth); unknown P5.
        potential_victims: ByAge {
            adult: 4,
            child: 3,
            unknown: 1,
        },
        // All of them but P5. (P7 has an action but is not a potential victim.)
        safeguarded: 7,
        // P1, P2, P10, P11, P12.
        nrm_referrals: 5,
        // P6.
        duty_to_notify: 1,
        arrests_by_offence: counts(&[
            ("drug_supply", 2),
            ("human_trafficking", 1),
            ("illegal_working", 2),
            ("modern_slavery", 1),
        ]),
        partner_agencies: names(&["dvsa", "glaa", "hmrc", "local_authority", "nca"]),
        officers_on_duty: names(&["2207", "3301", "4512", "5150"]),
        // V6.
        voided: 1,
        // V5's postcode.
        visits_with_conflicts: 1,
    }
}

#[test]
fn fixed_day_figures() {
    let day = build_day(true);
    let s = day_summary(day.server.visits(), Some(OP), date(DAY_STR));
    assert_eq!(s, expected());
    assert_eq!(s.arrests(), 6);
    assert_eq!(s.potential_victims.total(), 8);

    // The concurrently edited visit: one visit, both persons, both values kept.
    let v5 = day.server.visit(&v(5)).unwrap();
    assert_eq!(v5.persons().len(), 2);
    assert_eq!(v5.conflicts().len(), 1);
    assert_eq!(v5.text(&VisitField::Postcode), Some("OX4 2BB"));

    // Every operation: V8 joins in.
    let all = day_summary(day.server.visits(), None, date(DAY_STR));
    let e = expected();
    assert_eq!(
        all,
        DaySummary {
            operation: None,
            visits: 7,
            visits_by_kind: counts(&[
                ("car_wash", 2),
                ("hotel", 1),
                ("massage_parlour", 1),
                ("nail_bar", 1),
                ("vehicle_stop", 2),
            ]),
            people_spoken_to: 13,
            potential_victims: ByAge {
                adult: 5,
                ..e.potential_victims.clone()
            },
            safeguarded: 8,
            duty_to_notify: 2,
            arrests_by_offence: counts(&[
                ("drug_supply", 7),
                ("human_trafficking", 1),
                ("illegal_working", 2),
                ("modern_slavery", 1),
            ]),
            partner_agencies: names(&["dvsa", "glaa", "hmrc", "local_authority", "nca", "ngo"]),
            officers_on_duty: names(&["2207", "3301", "4512", "5150", "7777"]),
            ..e
        }
    );

    // The neighbouring days hold only V9 and the voided V10.
    let before = day_summary(day.server.visits(), Some(OP), date("2026-07-13"));
    assert_eq!(
        (before.visits, before.voided, before.nrm_referrals),
        (1, 0, 1)
    );
    assert_eq!(before.officers_on_duty, names(&["1111"]));
    let after = day_summary(day.server.visits(), Some(OP), date("2026-07-15"));
    assert_eq!((after.visits, after.voided), (0, 1));
    assert!(after.officers_on_duty.is_empty());
    // An operation with nothing on the day: all zero.
    let none = day_summary(
        day.server.visits(),
        Some(OperationId::from_u128(7)),
        date(DAY_STR),
    );
    assert_eq!(none.visits + none.voided + none.people_spoken_to, 0);
}

#[test]
fn summary_is_the_same_on_every_replica_once_synced() {
    // Before the last round, phone A lacks B's late vehicle stop (V4): its
    // provisional figures say so; B already holds everything for the 14th.
    let day = build_day(false);
    let d = date(DAY_STR);
    let e = expected();
    assert_eq!(
        day_summary(day.phone_a.visits(), Some(OP), d),
        DaySummary {
            visits: 5,
            visits_by_kind: counts(&[
                ("car_wash", 1),
                ("hotel", 1),
                ("massage_parlour", 1),
                ("nail_bar", 1),
                ("vehicle_stop", 1),
            ]),
            vehicles_stopped: 1,
            ..e.clone()
        }
    );
    assert_eq!(day_summary(day.phone_b.visits(), Some(OP), d), e);

    // Once synced, phones and server agree on every day and every operation.
    let day = build_day(true);
    for d in ["2026-07-13", DAY_STR, "2026-07-15", "2026-07-16"] {
        for op in [Some(OP), Some(OTHER_OP), None] {
            let server = day_summary(day.server.visits(), op, date(d));
            assert_eq!(
                day_summary(day.phone_a.visits(), op, date(d)),
                server,
                "{d} {op:?}"
            );
            assert_eq!(
                day_summary(day.phone_b.visits(), op, date(d)),
                server,
                "{d} {op:?}"
            );
        }
    }
    // A phone restored from storage computes the same figures.
    let restored = Replica::load(&day.phone_a.save()).unwrap();
    assert_eq!(day_summary(restored.visits(), Some(OP), d), e);
    // And the figures survive the trip to the phone as JSON.
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<DaySummary>(&json).unwrap(), e);
}

#[test]
fn age_group_precedence() {
    use AgeGroup::{Adult, Child, Unknown};
    let d = date(DAY_STR);
    // (fields, expected group)
    let cases: &[(&[(PersonField, Value)], AgeGroup)] = &[
        (&[], Unknown),
        (&[age(Adult)], Adult),
        (&[age(Child)], Child),
        (&[age(Unknown)], Unknown),
        (&[age(Adult), est(12)], Adult),
        (&[age(Child), born("1980-01-01")], Child),
        (&[age(Unknown), est(12)], Child),
        (&[age(Unknown), est(40)], Adult),
        (
            &[
                (PersonField::AgeGroup, Value::Text("young_adult".into())),
                est(12),
            ],
            Child,
        ),
        (&[(PersonField::AgeGroup, Value::Empty), est(30)], Adult),
        (&[est(17)], Child),
        (&[est(18)], Adult),
        (&[est(0)], Child),
        // Date of birth is taken over the estimate; 18 on the day itself.
        (&[born("2008-07-14"), est(12)], Adult),
        (&[born("2008-07-15"), est(30)], Child),
        (&[born("2008-02-29")], Adult),
        // A date of birth after the day is an error: the estimate is used.
        (&[born("2030-01-01"), est(30)], Adult),
        (&[born("2030-01-01")], Unknown),
    ];
    for (i, (fields, group)) in cases.iter().enumerate() {
        let mut r = Replica::new(ReplicaId::from_u128(1));
        r.create_visit(at("2026-07-14 12:00"), v(1), OP, LocationKind::Other)
            .unwrap();
        person(
            &mut r,
            "2026-07-14 12:01",
            v(1),
            1,
            &[&[pv()], *fields].concat(),
            &[],
        );
        let s = day_summary(r.visits(), Some(OP), d).potential_victims;
        let got = match (s.adult, s.child, s.unknown) {
            (1, 0, 0) => Adult,
            (0, 1, 0) => Child,
            (0, 0, 1) => Unknown,
            other => panic!("case {i}: {other:?}"),
        };
        assert_eq!(got, *group, "case {i}: {fields:?}");
    }
}

#[test]
fn a_visit_without_a_start_or_operation() {
    let mut r = Replica::new(ReplicaId::from_u128(1));
    r.create_visit(
        at("2026-07-14 12:00"),
        v(1),
        OP,
        LocationKind::Unrecognised("hovercraft_port".into()),
    )
    .unwrap();
    r.create_visit(at("2026-07-14 12:00"), v(2), OP, LocationKind::Hotel)
        .unwrap();
    // Cleared start: on no day.
    r.set(
        at("2026-07-14 12:01"),
        v(2),
        Target::Visit(VisitField::StartedAt),
        Value::Empty,
    )
    .unwrap();
    let s = day_summary(r.visits(), Some(OP), date(DAY_STR));
    assert_eq!(s.visits, 1);
    assert_eq!(s.visits_by_kind, counts(&[("hovercraft_port", 1)]));

    // A server holding only a later edit of a visit (its create not yet
    // received) counts it in no operation's summary, but in the all-operations one.
    let mut server = Replica::new(ReplicaId::from_u128(9));
    let late: Vec<Op> = r
        .missing_for(server.version_vector())
        .skip(1)
        .cloned()
        .collect();
    server.apply(at("2026-07-14 12:05"), late);
    assert_eq!(
        day_summary(server.visits(), Some(OP), date(DAY_STR)).visits,
        0
    );
    assert_eq!(day_summary(server.visits(), None, date(DAY_STR)).visits, 1);
}

// ---------------------------------------------------------------------------
// Native only: chrono-tz as the reference, and property tests.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use chrono::{Datelike, NaiveDate, Offset, TimeZone, Utc};
    use chrono_tz::Europe::London;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn start() -> i64 {
        utc("1996-01-01 00:00")
    }
    fn end() -> i64 {
        utc("2100-01-01 00:00")
    }

    /// chrono-tz's offset and local date at a UTC instant.
    fn reference(ms: i64) -> (i64, LocalDate) {
        let local = Utc.timestamp_millis_opt(ms).unwrap().with_timezone(&London);
        let offset = i64::from(local.offset().fix().local_minus_utc()) * 1_000;
        let d = local.date_naive();
        (
            offset,
            LocalDate::new(d.year(), d.month(), d.day()).unwrap(),
        )
    }

    fn ours(ms: i64) -> (i64, LocalDate) {
        (london_offset_ms(ms), london_date(ms))
    }

    /// Every change of offset 1996–2100 per chrono-tz, found by a daily scan
    /// refined to the hour (changes are on the hour).
    fn transitions() -> &'static [i64] {
        static T: OnceLock<Vec<i64>> = OnceLock::new();
        T.get_or_init(|| {
            let mut out = Vec::new();
            let mut t = start();
            while t < end() {
                if reference(t).0 != reference(t + DAY).0 {
                    let mut h = t;
                    while reference(h + HOUR).0 == reference(t).0 {
                        h += HOUR;
                    }
                    out.push(h + HOUR);
                }
                t += DAY;
            }
            out
        })
    }

    #[test]
    fn london_offset_and_date_match_chrono_tz_every_hour_1996_to_2100() {
        let mut t = start();
        let mut n = 0;
        while t < end() {
            assert_eq!(ours(t), reference(t), "at {t} ms");
            t += HOUR;
            n += 1;
        }
        assert_eq!(n, 37_986 * 24); // 104 years, 26 of them leap
                                    // Two changes a year, each at 01:00 UTC on a Sunday.
        let ts = transitions();
        assert_eq!(ts.len(), 2 * 104);
        for &t in ts {
            let u = Utc.timestamp_millis_opt(t).unwrap();
            assert_eq!(u.format("%a %H:%M:%S%.3f").to_string(), "Sun 01:00:00.000");
        }
    }

    #[test]
    fn london_day_bounds_match_chrono_tz_every_day_1996_to_2100() {
        let midnight = |d: NaiveDate| {
            London
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .single()
                .expect("London midnight is never skipped or repeated")
                .timestamp_millis()
        };
        let mut d = NaiveDate::from_ymd_opt(1996, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
        let (mut short, mut long) = (0, 0);
        while d < last {
            let ld = LocalDate::new(d.year(), d.month(), d.day()).unwrap();
            let next = d.succ_opt().unwrap();
            let (s, e) = london_day_bounds(ld);
            assert_eq!((s, e), (midnight(d), midnight(next)), "{ld}");
            assert_eq!(london_date(s), ld);
            assert_eq!(london_date(e - 1), ld);
            short += usize::from(e - s == 23 * HOUR);
            long += usize::from(e - s == 25 * HOUR);
            d = next;
        }
        assert_eq!((short, long), (104, 104));
    }

    #[test]
    fn before_1996_the_rule_is_not_history() {
        // Documented in summary.rs: in 1995 summer time ended on 22 October,
        // not on the last Sunday (the 29th); the rule applied here says BST.
        let t = utc("1995-10-24 23:30");
        assert_eq!(reference(t), (0, date("1995-10-24")));
        assert_eq!(ours(t), (HOUR, date("1995-10-25")));
        // Years whose changes fell on the same Sundays agree.
        let t = utc("1992-10-25 00:30");
        assert_eq!(ours(t), reference(t));
    }

    proptest! {
        #[test]
        fn london_time_matches_chrono_tz_at_any_instant(t in start()..end()) {
            prop_assert_eq!(ours(t), reference(t));
        }

        #[test]
        fn london_time_matches_chrono_tz_around_transitions(
            t in proptest::sample::select(transitions()),
            delta in prop_oneof![
                Just(-HOUR), Just(-1), Just(0), Just(1), Just(HOUR),
                -2 * HOUR..2 * HOUR,
            ],
        ) {
            prop_assert_eq!(ours(t + delta), reference(t + delta));
        }

        #[test]
        fn any_day_bounds_hold_exactly_that_day(days in 9_496i64..47_482) {
            // 1996-01-01 ..= 2099-12-31
            let d = LocalDate::from_days_since_epoch(days);
            let (s, e) = london_day_bounds(d);
            prop_assert!([23 * HOUR, 24 * HOUR, 25 * HOUR].contains(&(e - s)));
            prop_assert_eq!(london_date(s), d);
            prop_assert_eq!(london_date(e - 1), d);
            prop_assert_eq!(london_date(s - 1), LocalDate::from_days_since_epoch(days - 1));
            prop_assert_eq!(london_date(e), LocalDate::from_days_since_epoch(days + 1));
        }
    }

    // -----------------------------------------------------------------------
    // Random edits on three replicas: once synced, every replica computes the
    // same summary, whatever happened and in whatever order ops were delivered.

    /// Instants around the October 2026 change and a summer midnight.
    const TIMES: [&str; 8] = [
        "2026-07-13 22:59:59.999",
        "2026-07-13 23:00",
        "2026-07-14 12:00",
        "2026-10-24 22:59:59.999",
        "2026-10-24 23:00",
        "2026-10-25 00:30",
        "2026-10-25 01:30",
        "2026-10-26 00:00",
    ];
    const DATES: [&str; 6] = [
        "2026-07-13",
        "2026-07-14",
        "2026-10-24",
        "2026-10-25",
        "2026-10-26",
        "2026-10-27",
    ];

    #[derive(Clone, Debug)]
    enum Step {
        Create {
            visit: u8,
            op: u8,
            kind: u8,
            time: u8,
        },
        Void(u8, bool),
        Person {
            visit: u8,
            person: u8,
            pv: bool,
            group: u8,
            est: Option<i64>,
        },
        RemovePerson(u8, u8),
        Action {
            visit: u8,
            person: u8,
            action: u8,
        },
        Arrest {
            visit: u8,
            offence: u8,
            n: i64,
        },
        Officer(u8, u8),
        DropOfficer(u8, u8),
        Sync(usize),
    }

    fn step() -> impl Strategy<Value = (usize, Step)> {
        let s = prop_oneof![
            (0..4u8, 0..2u8, 0..3u8, 0..8u8).prop_map(|(visit, op, kind, time)| Step::Create {
                visit,
                op,
                kind,
                time
            }),
            (0..4u8, any::<bool>()).prop_map(|(v, on)| Step::Void(v, on)),
            (
                0..4u8,
                0..3u8,
                any::<bool>(),
                0..4u8,
                proptest::option::of(0..40i64)
            )
                .prop_map(|(visit, person, pv, group, est)| Step::Person {
                    visit,
                    person,
                    pv,
                    group,
                    est
                }),
            (0..4u8, 0..3u8).prop_map(|(v, p)| Step::RemovePerson(v, p)),
            (0..4u8, 0..3u8, 0..3u8).prop_map(|(visit, person, action)| Step::Action {
                visit,
                person,
                action
            }),
            (0..4u8, 0..2u8, 0..3i64).prop_map(|(visit, offence, n)| Step::Arrest {
                visit,
                offence,
                n
            }),
            (0..4u8, 0..3u8).prop_map(|(v, o)| Step::Officer(v, o)),
            (0..4u8, 0..3u8).prop_map(|(v, o)| Step::DropOfficer(v, o)),
            (0..3usize).prop_map(Step::Sync),
        ];
        (0..3usize, s)
    }

    fn run(r: &mut Replica, now: u64, s: &Step) -> Result<(), OpError> {
        let visit = |n: &u8| v(u128::from(*n) + 1);
        let pid = |p: &u8| PersonId::from_u128(u128::from(*p) + 1);
        let officer = |o: &u8| ["4512", "2207", "5150"][usize::from(*o)];
        match s {
            Step::Create {
                visit: n,
                op,
                kind,
                time,
            } => {
                let kinds = [
                    LocationKind::Hotel,
                    LocationKind::CarWash,
                    LocationKind::VehicleStop,
                ];
                let op = [OP, OTHER_OP][usize::from(*op)];
                r.create_visit(
                    at(TIMES[usize::from(*time)]),
                    visit(n),
                    op,
                    kinds[usize::from(*kind)].clone(),
                )?;
            }
            Step::Void(n, on) => {
                let value = if *on {
                    Value::Text("error".into())
                } else {
                    Value::Empty
                };
                r.set(now, visit(n), Target::Visit(VisitField::VoidReason), value)?;
            }
            Step::Person {
                visit: n,
                person,
                pv,
                group,
                est,
            } => {
                let p = pid(person);
                r.add_person(now, visit(n), p)?;
                r.set(
                    now,
                    visit(n),
                    Target::Person(p, PersonField::PotentialVictim),
                    Value::Bool(*pv),
                )?;
                if let Some(g) = AgeGroup::KNOWN.get(usize::from(*group)) {
                    r.set(
                        now,
                        visit(n),
                        Target::Person(p, PersonField::AgeGroup),
                        Value::Text((*g).into()),
                    )?;
                }
                if let Some(a) = est {
                    r.set(
                        now,
                        visit(n),
                        Target::Person(p, PersonField::EstimatedAge),
                        Value::Int(*a),
                    )?;
                }
            }
            Step::RemovePerson(n, p) => {
                r.set(
                    now,
                    visit(n),
                    Target::Person(pid(p), PersonField::Removed),
                    Value::Bool(true),
                )?;
            }
            Step::Action {
                visit: n,
                person,
                action,
            } => {
                let a = ["nrm_referral", "duty_to_notify", "welfare_check"][usize::from(*action)];
                r.add(
                    now,
                    visit(n),
                    SetTarget::Person(pid(person), PersonSet::SafeguardingActions),
                    a,
                )?;
            }
            Step::Arrest {
                visit: n,
                offence,
                n: count,
            } => {
                let o = Offence::parse(["drug_supply", "modern_slavery"][usize::from(*offence)]);
                r.set(now, visit(n), Target::Arrests(o), Value::Int(*count))?;
            }
            Step::Officer(n, o) => {
                r.add(
                    now,
                    visit(n),
                    SetTarget::Visit(VisitSet::Officers),
                    officer(o),
                )?;
            }
            Step::DropOfficer(n, o) => {
                r.remove(
                    now,
                    visit(n),
                    SetTarget::Visit(VisitSet::Officers),
                    officer(o),
                )?;
            }
            Step::Sync(_) => unreachable!(),
        }
        Ok(())
    }

    fn summaries(r: &Replica) -> Vec<DaySummary> {
        DATES
            .iter()
            .flat_map(|d| {
                [Some(OP), Some(OTHER_OP), None].map(|op| day_summary(r.visits(), op, date(d)))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn replicas_agree_on_the_summary_once_synced(
            steps in proptest::collection::vec(step(), 1..40),
            shuffle_seed in any::<u64>(),
        ) {
            let mut rs: Vec<Replica> = (1..=3u128).map(|i| Replica::new(ReplicaId::from_u128(i))).collect();
            let mut now = at("2026-10-27 12:00");
            for (i, s) in &steps {
                now += 1_000;
                if let Step::Sync(j) = s {
                    if i != j {
                        let (lo, hi) = (*i.min(j), *i.max(j));
                        let (left, right) = rs.split_at_mut(hi);
                        sync(&mut left[lo], &mut right[0], now);
                    }
                } else {
                    // Edits of a visit this replica does not hold yet are refused.
                    let _ = run(&mut rs[*i], now, s);
                }
            }
            for _ in 0..2 {
                for (x, y) in [(0, 1), (1, 2), (0, 2)] {
                    let (left, right) = rs.split_at_mut(y);
                    sync(&mut left[x], &mut right[0], now);
                }
            }
            let reference = summaries(&rs[0]);
            for r in &rs[1..] {
                prop_assert_eq!(&summaries(r), &reference);
            }
            // The same ops delivered to a fresh server in another order.
            let mut ops: Vec<Op> = rs[0].missing_for(&VersionVector::default()).cloned().collect();
            let mut seed = shuffle_seed | 1;
            for k in (1..ops.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ops.swap(k, (seed % (k as u64 + 1)) as usize);
            }
            let mut server = Replica::new(ReplicaId::from_u128(9));
            server.apply(now, ops);
            prop_assert_eq!(summaries(&server), reference);
        }
    }
}

/// Who is a child: one rule (`summary::age_group`) for the summary, the visit
/// view and so the field app and admin pages. The recorded group wins; then
/// the date of birth on the visit's day; then the estimated age; else unknown.
#[test]
fn one_rule_says_who_is_a_child() {
    use sync_core::summary::age_group;
    let op = OperationId::from_u128(3);
    let visit = VisitId::from_u128(30);
    // (age group, date of birth, estimated age) → on 2026-11-23.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        Option<i64>,
        AgeGroup,
    );
    let cases: &[Case] = &[
        (Some("child"), Some("1990-01-01"), Some(40), AgeGroup::Child),
        (Some("adult"), Some("2015-01-01"), Some(9), AgeGroup::Adult),
        (None, Some("2008-11-23"), None, AgeGroup::Adult), // 18 today
        (None, Some("2008-11-24"), None, AgeGroup::Child), // 18 tomorrow
        (None, Some("2008-11-24"), Some(30), AgeGroup::Child), // birth beats estimate
        (Some("unknown"), None, Some(16), AgeGroup::Child),
        (
            Some("adult_or_child_unsure"),
            None,
            Some(17),
            AgeGroup::Child,
        ),
        (None, None, Some(18), AgeGroup::Adult),
        (None, Some("2030-01-01"), None, AgeGroup::Unknown), // born after the visit: ignored
        (None, None, None, AgeGroup::Unknown),
    ];
    for (group, born, est, want) in cases {
        let mut r = Replica::new(ReplicaId::from_u128(1));
        r.create_visit(at("2026-11-23 10:00"), visit, op, LocationKind::Hotel)
            .unwrap();
        let p = PersonId::from_u128(7);
        r.add_person(at("2026-11-23 10:01"), visit, p).unwrap();
        let mut set = |f: PersonField, v: Value| {
            r.set(at("2026-11-23 10:02"), visit, Target::Person(p, f), v)
                .unwrap();
        };
        if let Some(g) = group {
            set(PersonField::AgeGroup, Value::Text((*g).into()));
        }
        if let Some(b) = born {
            set(PersonField::DateOfBirth, Value::Text((*b).into()));
        }
        if let Some(e) = est {
            set(PersonField::EstimatedAge, Value::Int(*e));
        }
        let v = r.visit(&visit).unwrap();
        let person = v.person(&p).unwrap();
        let case = format!("{group:?} {born:?} {est:?}");
        assert_eq!(age_group(person, Some(date("2026-11-23"))), *want, "{case}");
        // The view (what the field app and the admin pages read) says the same.
        assert_eq!(VisitView::from(v).persons[0].age, *want, "{case}");
    }
}
