//! A fixed data set, built through the replica API, with figures worked out
//! by hand.

use super::*;

pub(super) const OP: OperationId = OperationId::from_u128(0xA1);
pub(super) const OTHER_OP: OperationId = OperationId::from_u128(0xA2);
pub(super) const DAY_STR: &str = "2026-07-14"; // a Tuesday in BST: local = UTC + 1 h

pub(super) fn v(n: u128) -> VisitId {
    VisitId::from_u128(n)
}

pub(super) fn sync(a: &mut Replica, b: &mut Replica, now: u64) {
    let to_b = wire::encode(a.missing_for(b.version_vector()));
    let to_a = wire::encode(b.missing_for(a.version_vector()));
    let rb = b.apply(now, wire::decode(&to_b).unwrap());
    let ra = a.apply(now, wire::decode(&to_a).unwrap());
    assert!(rb.rejected().is_empty() && ra.rejected().is_empty());
}

/// Syncs each phone with the server (then the first again, so all three hold everything).
pub(super) fn sync_round(a: &mut Replica, b: &mut Replica, server: &mut Replica, now: u64) {
    sync(a, server, now);
    sync(b, server, now);
    sync(a, server, now);
}

pub(super) fn pv() -> (PersonField, Value) {
    (PersonField::PotentialVictim, Value::Bool(true))
}
pub(super) fn age(g: AgeGroup) -> (PersonField, Value) {
    (PersonField::AgeGroup, Value::Text(g.as_str().into()))
}
pub(super) fn est(years: i64) -> (PersonField, Value) {
    (PersonField::EstimatedAge, Value::Int(years))
}
pub(super) fn born(d: &str) -> (PersonField, Value) {
    (PersonField::DateOfBirth, Value::Text(d.into()))
}
pub(super) fn role(r: PersonRole) -> (PersonField, Value) {
    (PersonField::Role, Value::Text(r.as_str().into()))
}

/// Records a person at a visit with some fields and safeguarding actions.
pub(super) fn person(
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

pub(super) fn visit_set(r: &mut Replica, t: &str, visit: VisitId, s: VisitSet, elems: &[&str]) {
    for e in elems {
        r.add(at(t), visit, SetTarget::Visit(s.clone()), e).unwrap();
    }
}

pub(super) fn arrests(r: &mut Replica, t: &str, visit: VisitId, o: Offence, n: i64) {
    r.set(at(t), visit, Target::Arrests(o), Value::Int(n))
        .unwrap();
}

pub(super) fn void(r: &mut Replica, t: &str, visit: VisitId, reason: &str) {
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
pub(super) struct Day {
    pub(super) phone_a: Replica,
    pub(super) phone_b: Replica,
    pub(super) server: Replica,
}

pub(super) fn build_day(final_sync: bool) -> Day {
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

pub(super) fn counts(pairs: &[(&str, u32)]) -> VecMap<String, u32> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

pub(super) fn names(items: &[&str]) -> VecSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The figures for OP on the 14th, worked out by hand from `build_day`.
pub(super) fn expected() -> DaySummary {
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
