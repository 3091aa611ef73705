//! Named scenarios for returns, resubmits, voids and the checks before
//! submit; and old stored ops (JSON and wire) that must keep their meaning.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use sync_core::checks::{check, Dates};
use sync_core::summary::LocalDate;
use sync_core::*;

const OPERATION: OperationId = OperationId::from_u128(1);
const V: VisitId = VisitId::from_u128(2);
const T0: u64 = 1_790_000_000_000;

fn replica(n: u128) -> Replica {
    Replica::new(ReplicaId::from_u128(n))
}

fn send(from: &Replica, to: &mut Replica, now: u64) {
    let bytes = wire::encode(from.missing_for(to.version_vector()));
    let report = to.apply(now, wire::decode(&bytes).unwrap());
    assert!(report.rejected().is_empty(), "{:?}", report.rejected());
}

fn status(r: &Replica) -> (String, u32) {
    let v = r.visit(&V).unwrap();
    (v.status().as_str().to_owned(), v.status_register().round())
}

fn pair() -> (Replica, Replica) {
    let (mut officer, mut server) = (replica(1), replica(2));
    officer
        .create_visit(T0, V, OPERATION, LocationKind::CarWash)
        .unwrap();
    officer.set_status(T0 + 1, V, Status::Submitted).unwrap();
    send(&officer, &mut server, T0 + 2);
    (officer, server)
}

#[test]
fn return_resubmit_review_round_trip() {
    let (mut officer, mut server) = pair();
    server
        .return_visit(T0 + 3, V, "  add the postcode ")
        .unwrap();
    send(&server, &mut officer, T0 + 4);
    assert_eq!(status(&officer), ("returned".into(), 0));
    let view = VisitView::from(officer.visit(&V).unwrap());
    assert_eq!(view.returned.as_ref().unwrap().reason, "add the postcode");
    officer.set_status(T0 + 5, V, Status::Submitted).unwrap();
    assert_eq!(status(&officer), ("submitted".into(), 1));
    send(&officer, &mut server, T0 + 6);
    server.set_status(T0 + 7, V, Status::Reviewed).unwrap();
    send(&server, &mut officer, T0 + 8);
    assert_eq!(status(&officer), ("reviewed".into(), 1));
    assert_eq!(officer.visit(&V), server.visit(&V));
    // The reason stays visible after the resubmit and the review.
    let view = VisitView::from(officer.visit(&V).unwrap());
    assert_eq!(view.returned.unwrap().round, 0);
}

#[test]
fn concurrent_return_beats_a_submit_that_had_not_seen_it() {
    let (mut officer, mut server) = pair();
    // The officer edits and submits again offline (same round: no return seen),
    // with a clock far ahead; the server returns meanwhile.
    officer
        .set(
            T0 + 9_000_000,
            V,
            Target::Visit(VisitField::Postcode),
            Value::Text("OX1 1AA".into()),
        )
        .unwrap();
    officer
        .set_status(T0 + 9_000_000, V, Status::Submitted)
        .unwrap();
    server.return_visit(T0 + 3, V, "wrong place").unwrap();
    send(&officer, &mut server, T0 + 10);
    send(&server, &mut officer, T0 + 10);
    assert_eq!(status(&officer), ("returned".into(), 0));
    assert_eq!(officer.visit(&V), server.visit(&V));
}

#[test]
fn concurrent_review_and_return_of_a_round_return_wins() {
    let (officer, mut a) = pair();
    let mut b = replica(3);
    send(&officer, &mut b, T0 + 2);
    a.set_status(T0 + 50, V, Status::Reviewed).unwrap();
    b.return_visit(T0 + 3, V, "no NRM referral").unwrap();
    send(&a, &mut b, T0 + 60);
    send(&b, &mut a, T0 + 60);
    assert_eq!(status(&a), ("returned".into(), 0));
    assert_eq!(a.visit(&V), b.visit(&V));
}

#[test]
fn concurrent_void_and_unvoid_stay_voided_until_one_who_saw_it_unvoids() {
    let (mut officer, mut server) = pair();
    officer.void(T0 + 3, V, "entered twice").unwrap();
    send(&officer, &mut server, T0 + 4);
    // Another void (new reason) and an un-void, concurrently, the un-void later.
    officer
        .void(T0 + 5, V, "duplicate of another visit")
        .unwrap();
    server.unvoid(T0 + 99, V).unwrap();
    send(&officer, &mut server, T0 + 100);
    send(&server, &mut officer, T0 + 100);
    for r in [&officer, &server] {
        let v = r.visit(&V).unwrap();
        assert!(v.is_voided());
        assert_eq!(v.void_reason(), Some("duplicate of another visit"));
    }
    server.unvoid(T0 + 101, V).unwrap();
    send(&server, &mut officer, T0 + 102);
    assert!(!officer.visit(&V).unwrap().is_voided());
    assert!(officer.void(T0 + 103, V, "   ").is_err());
}

#[test]
fn a_return_needs_a_reason() {
    let (_, mut server) = pair();
    let err = server.return_visit(T0 + 3, V, " ").unwrap_err();
    assert_eq!(err.reason, Reason::Empty);
    assert_eq!(err.field.as_deref(), Some("status.reason"));
}

#[test]
fn old_status_ops_keep_their_json_and_wire_forms() {
    // The form the server stored before rounds existed: no round, no reason.
    let op = Op {
        id: OpId::new(ReplicaId::from_u128(1), 3),
        hlc: Hlc::new(5, 0),
        visit: V,
        action: Action::Status {
            status: Status::Reviewed,
            round: 0,
            reason: None,
        },
    };
    let body = serde_json::to_string(&op).unwrap();
    assert!(
        body.ends_with(r#""type":"status","status":"reviewed"}"#),
        "{body}"
    );
    let old: Op = serde_json::from_str(&body).unwrap();
    assert_eq!(old, op);
    // On the wire, a round-0 status is opcode 10 as before: the body ends
    // with opcode 10 and the symbol of `reviewed` (index 213 of the frozen
    // table, sent as the varint of 213 << 1 = 426: 0xAA 0x03).
    let bytes = wire::encode([&op]);
    let n = bytes.len();
    assert_eq!(bytes[n - 3..], [10, 0xAA, 0x03]);
    assert_eq!(wire::decode(&bytes).unwrap(), vec![op.clone()]);
    // A return round-trips through opcode 11.
    let ret = Op {
        action: Action::Status {
            status: Status::Returned,
            round: 4,
            reason: Some("why".into()),
        },
        ..op
    };
    let bytes = wire::encode([&ret]);
    assert_eq!(wire::decode(&bytes).unwrap(), vec![ret.clone()]);
    let json = serde_json::to_string(&ret).unwrap();
    assert!(
        json.ends_with(r#""status":"returned","round":4,"reason":"why"}"#),
        "{json}"
    );
}

fn date(s: &str) -> LocalDate {
    LocalDate::parse(s).unwrap()
}

fn codes(r: &Replica, dates: Option<Dates>) -> (Vec<String>, Vec<String>) {
    let c = check(r.visit(&V).unwrap(), dates);
    let f = |v: Vec<checks::Problem>| v.into_iter().map(|p| p.code).collect();
    (f(c.blocking), f(c.warnings))
}

#[test]
fn checks_before_submit() {
    let mut r = replica(1);
    let t = 1_790_000_000_000; // 2026-09-21
    r.create_visit(t, V, OPERATION, LocationKind::CarWash)
        .unwrap();
    assert_eq!(codes(&r, None), (vec!["no_place".into()], vec![]));
    r.set(
        t,
        V,
        Target::Visit(VisitField::Address),
        Value::Text("1 High St".into()),
    )
    .unwrap();
    r.set(t, V, Target::Visit(VisitField::Occupants), Value::Int(3))
        .unwrap();
    assert_eq!(
        codes(&r, None),
        (vec![], vec!["people_not_recorded".into()])
    );
    let (child, adult, unknown, empty) = (
        PersonId::from_u128(10),
        PersonId::from_u128(11),
        PersonId::from_u128(12),
        PersonId::from_u128(13),
    );
    let pv = |r: &mut Replica, p: PersonId| {
        r.add_person(t, V, p).unwrap();
        r.set(
            t,
            V,
            Target::Person(p, PersonField::PotentialVictim),
            Value::Bool(true),
        )
        .unwrap();
    };
    pv(&mut r, child);
    // Born 2010: a child on the visit's day, whatever the estimated age says.
    r.set(
        t,
        V,
        Target::Person(child, PersonField::DateOfBirth),
        Value::Text("2010-01-01".into()),
    )
    .unwrap();
    r.set(
        t,
        V,
        Target::Person(child, PersonField::EstimatedAge),
        Value::Int(25),
    )
    .unwrap();
    pv(&mut r, adult);
    r.set(
        t,
        V,
        Target::Person(adult, PersonField::AgeGroup),
        Value::Text("adult".into()),
    )
    .unwrap();
    pv(&mut r, unknown);
    r.add_person(t, V, empty).unwrap();
    let dates = Dates {
        starts_on: date("2026-09-22"),
        ends_on: date("2026-09-28"),
    };
    assert_eq!(
        codes(&r, Some(dates)),
        (
            vec!["empty_person".into()],
            vec![
                "child_victim_without_nrm".into(),
                "adult_victim_without_nrm_or_dtn".into(),
                "unknown_age_victim_without_nrm".into(),
                "outside_operation_dates".into()
            ]
        )
    );
    let sg = |p| SetTarget::Person(p, PersonSet::SafeguardingActions);
    r.add(t, V, sg(child), "nrm_referral").unwrap();
    r.add(t, V, sg(adult), "duty_to_notify").unwrap();
    r.add(t, V, sg(unknown), "nrm_referral").unwrap();
    r.set(
        t,
        V,
        Target::Person(empty, PersonField::Removed),
        Value::Bool(true),
    )
    .unwrap();
    let inside = Dates {
        starts_on: date("2026-09-21"),
        ends_on: date("2026-09-21"),
    };
    assert_eq!(codes(&r, Some(inside)), (vec![], vec![]));
    r.void(t, V, "test visit").unwrap();
    assert_eq!(codes(&r, None).0, vec!["voided".to_owned()]);
}

#[test]
fn checks_need_a_kind() {
    let mut r = replica(1);
    r.create_visit(T0, V, OPERATION, LocationKind::Hotel)
        .unwrap();
    r.set(T0, V, Target::Visit(VisitField::LocationKind), Value::Empty)
        .unwrap();
    r.set(
        T0,
        V,
        Target::Visit(VisitField::Vrm),
        Value::Text("AB12CDE".into()),
    )
    .unwrap();
    assert_eq!(codes(&r, None), (vec!["no_kind".into()], vec![]));
}
