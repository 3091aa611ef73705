//! The day summary over the fixed data set: the figures, the same on every
//! replica once synced, and the rules behind them (age groups, voids).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

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
