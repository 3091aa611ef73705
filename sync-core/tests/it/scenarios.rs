//! Named scenarios: clock skew, status, conflicts, unknown values, bad input.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use sync_core::*;

const OPERATION: OperationId = OperationId::from_u128(1);
const V: VisitId = VisitId::from_u128(2);
const HOUR: u64 = 3_600_000;
const T0: u64 = 1_790_000_000_000;

fn replica(n: u128) -> Replica {
    Replica::new(ReplicaId::from_u128(n))
}

/// Sends `from`'s news to `to` over the wire format; returns the report.
fn send(from: &Replica, to: &mut Replica, now: u64) -> ApplyReport {
    let bytes = wire::encode(from.missing_for(to.version_vector()));
    to.apply(now, wire::decode(&bytes).unwrap())
}

fn both_ways(a: &mut Replica, b: &mut Replica, now: u64) {
    send(a, b, now);
    send(b, a, now);
    assert_eq!(a.visit(&V), b.visit(&V));
}

fn started(a: &mut Replica, b: &mut Replica) {
    a.create_visit(T0, V, OPERATION, LocationKind::CarWash)
        .unwrap();
    send(a, b, T0);
}

fn postcode(r: &Replica) -> Option<String> {
    r.visit(&V)?.text(&VisitField::Postcode).map(str::to_owned)
}

fn set_postcode(r: &mut Replica, now: u64, pc: &str) -> Op {
    r.set(
        now,
        V,
        Target::Visit(VisitField::Postcode),
        Value::Text(pc.into()),
    )
    .unwrap()
    .clone()
}

#[test]
fn phone_hours_ahead_does_not_win_a_later_write() {
    let (mut fast, mut right) = (replica(9), replica(1));
    started(&mut fast, &mut right);
    set_postcode(&mut fast, T0 + 6 * HOUR, "OX1 1AA");
    let report = send(&fast, &mut right, T0 + 60_000);
    assert_eq!(report.skew.len(), 1, "the skew is reported");
    assert!(report.skew[0].1.ahead_by_ms > 5 * HOUR);
    // The right clock was not dragged six hours ahead: at most the bound.
    assert!(right.clock().last().wall_ms <= T0 + 60_000 + right.clock().max_forward_ms());
    // Having seen the fast phone's value, a correct phone overwrites it, and wins
    // everywhere although its stamp is hours "older".
    let op = set_postcode(&mut right, T0 + 120_000, "OX4 2BB");
    assert!(op.hlc.wall_ms < T0 + 6 * HOUR);
    both_ways(&mut fast, &mut right, T0 + 180_000);
    assert_eq!(postcode(&fast).as_deref(), Some("OX4 2BB"));
    assert!(fast.visit(&V).unwrap().conflicts().is_empty());
}

#[test]
fn phone_hours_behind_can_still_write() {
    let (mut slow, mut right) = (replica(1), replica(9));
    started(&mut right, &mut slow);
    set_postcode(&mut right, T0 + 60_000, "OX1 1AA");
    send(&right, &mut slow, T0 - 4 * HOUR);
    // The slow phone overwrites what it saw; it wins despite its clock.
    set_postcode(&mut slow, T0 - 4 * HOUR + 1, "OX9 9ZZ");
    both_ways(&mut slow, &mut right, T0 + 120_000);
    assert_eq!(postcode(&right).as_deref(), Some("OX9 9ZZ"));
    // And its own clock still moves forward monotonically.
    let a = slow.note(T0 - 4 * HOUR, V, "one").unwrap().clone();
    let b = slow.note(T0 - 5 * HOUR, V, "two").unwrap().clone();
    assert!(a.hlc < b.hlc);
}

#[test]
fn concurrent_overwrite_from_a_skewed_phone_is_a_visible_conflict() {
    let (mut fast, mut right) = (replica(9), replica(1));
    started(&mut fast, &mut right);
    set_postcode(&mut fast, T0 + 6 * HOUR, "OX1 1AA");
    set_postcode(&mut right, T0 + 60_000, "OX4 2BB");
    both_ways(&mut fast, &mut right, T0 + 120_000);
    let v = right.visit(&V).unwrap();
    let conflicts = v.conflicts();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.target, Target::Visit(VisitField::Postcode));
    let values: Vec<(String, ReplicaId)> = c
        .versions
        .iter()
        .map(|x| (x.value.to_string(), x.stamp.replica))
        .collect();
    assert_eq!(
        values,
        vec![
            ("OX1 1AA".to_string(), ReplicaId::from_u128(9)),
            ("OX4 2BB".to_string(), ReplicaId::from_u128(1))
        ]
    );
    // A supervisor who has seen both picks one; the conflict is gone everywhere.
    set_postcode(&mut right, T0 + 200_000, "OX4 2BB");
    both_ways(&mut fast, &mut right, T0 + 300_000);
    assert!(fast.visit(&V).unwrap().conflicts().is_empty());
    assert_eq!(postcode(&fast).as_deref(), Some("OX4 2BB"));
}

#[test]
fn status_never_goes_backwards_whatever_the_replica_ids() {
    for (officer_id, supervisor_id) in [(1, 2), (2, 1)] {
        let (mut officer, mut supervisor) = (replica(officer_id), replica(supervisor_id));
        started(&mut officer, &mut supervisor);
        officer.set_status(T0 + 1, V, Status::Submitted).unwrap();
        send(&officer, &mut supervisor, T0 + 2);
        supervisor.set_status(T0 + 3, V, Status::Reviewed).unwrap();
        // A stale device, later clock, resubmits and even tries "draft".
        officer.set_status(T0 + HOUR, V, Status::Submitted).unwrap();
        officer.set_status(T0 + HOUR, V, Status::Draft).unwrap();
        both_ways(&mut officer, &mut supervisor, T0 + HOUR);
        let v = officer.visit(&V).unwrap();
        assert_eq!(v.status(), Status::Reviewed);
        let reached = v.status_register().reached().unwrap();
        assert_eq!(reached.stamp.replica, ReplicaId::from_u128(supervisor_id));
    }
}

#[test]
fn voiding_keeps_the_record_with_its_reason() {
    let (mut a, mut b) = (replica(1), replica(2));
    started(&mut a, &mut b);
    a.note(T0 + 1, V, "three workers").unwrap();
    a.set(
        T0 + 2,
        V,
        Target::Visit(VisitField::VoidReason),
        Value::Text("duplicate of visit 41".into()),
    )
    .unwrap();
    both_ways(&mut a, &mut b, T0 + 3);
    let v = b.visit(&V).unwrap();
    assert!(v.is_voided());
    assert_eq!(
        v.text(&VisitField::VoidReason),
        Some("duplicate of visit 41")
    );
    assert_eq!(v.notes().count(), 1);
    assert_eq!(v.location_kind(), Some(LocationKind::CarWash));
}

#[test]
fn removed_person_is_flagged_not_lost_and_concurrent_edits_survive() {
    let (mut a, mut b) = (replica(1), replica(2));
    started(&mut a, &mut b);
    let p = PersonId::from_u128(77);
    a.add_person(T0 + 1, V, p).unwrap();
    a.set(
        T0 + 2,
        V,
        Target::Person(p, PersonField::Name),
        Value::Text("Withheld".into()),
    )
    .unwrap();
    send(&a, &mut b, T0 + 3);
    a.set(
        T0 + 4,
        V,
        Target::Person(p, PersonField::Removed),
        Value::Bool(true),
    )
    .unwrap();
    b.add(
        T0 + 5,
        V,
        SetTarget::Person(p, PersonSet::SafeguardingActions),
        "nrm_referral",
    )
    .unwrap();
    both_ways(&mut a, &mut b, T0 + 6);
    let person = a.visit(&V).unwrap().person(&p).unwrap();
    assert!(person.is_removed());
    assert_eq!(
        person.get(&PersonField::Name),
        Some(&Value::Text("Withheld".into()))
    );
    assert!(person.has(&PersonSet::SafeguardingActions, "nrm_referral"));
}

#[test]
fn concurrent_notes_are_all_kept_in_the_same_order() {
    let (mut a, mut b, mut c) = (replica(1), replica(2), replica(3));
    started(&mut a, &mut b);
    send(&a, &mut c, T0);
    a.note(T0 + 10, V, "from a").unwrap();
    b.note(T0 + 10, V, "from b").unwrap();
    c.note(T0 + 5, V, "from c").unwrap();
    both_ways(&mut a, &mut b, T0 + 20);
    both_ways(&mut c, &mut a, T0 + 20);
    both_ways(&mut b, &mut c, T0 + 20);
    let texts: Vec<String> = c.visit(&V).unwrap().notes().map(|n| n.text).collect();
    assert_eq!(texts, ["from c", "from a", "from b"]);
}

#[test]
fn set_is_add_wins() {
    let (mut a, mut b) = (replica(1), replica(2));
    started(&mut a, &mut b);
    let s = SetTarget::Visit(VisitSet::PartnerAgencies);
    a.add(T0 + 1, V, s.clone(), "glaa").unwrap();
    send(&a, &mut b, T0 + 2);
    a.remove(T0 + 3, V, s.clone(), "glaa").unwrap().unwrap();
    b.add(T0 + 3, V, s.clone(), "glaa").unwrap();
    both_ways(&mut a, &mut b, T0 + 4);
    assert!(a.visit(&V).unwrap().has(&VisitSet::PartnerAgencies, "glaa"));
    // Removing what is there now removes it everywhere.
    a.remove(T0 + 5, V, s, "glaa").unwrap().unwrap();
    both_ways(&mut a, &mut b, T0 + 6);
    assert!(!b.visit(&V).unwrap().has(&VisitSet::PartnerAgencies, "glaa"));
}

/// Ops a newer client might send: unknown kind, field, set, element, status.
fn newer_client_ops(r: &mut Replica) -> Vec<Op> {
    let p = PersonId::from_u128(5);
    let mut ops = r
        .create_visit(T0, V, OPERATION, LocationKind::parse("hovercraft_port"))
        .unwrap();
    ops.push(
        r.set(
            T0,
            V,
            Target::Visit(VisitField::parse("drone_footage_ref")),
            Value::Int(42),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.add(
            T0,
            V,
            SetTarget::Visit(VisitSet::Indicators),
            "nb_new_indicator_2027",
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.add(
            T0,
            V,
            SetTarget::Visit(VisitSet::parse("languages_heard")),
            "tigrinya",
        )
        .unwrap()
        .clone(),
    );
    ops.push(r.add_person(T0, V, p).unwrap().clone());
    ops.push(
        r.set(
            T0,
            V,
            Target::Person(p, PersonField::Role),
            Value::Text("delivery_rider".into()),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.set(
            T0,
            V,
            Target::Arrests(Offence::parse("cyber_fraud")),
            Value::Int(1),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.set_status(T0, V, Status::parse("archived"))
            .unwrap()
            .clone(),
    );
    ops
}

#[test]
fn unknown_values_survive_wire_json_and_relay() {
    let mut newer = replica(1);
    let ops = newer_client_ops(&mut newer);
    // Wire round trip.
    assert_eq!(wire::decode(&wire::encode(&ops)).unwrap(), ops);
    // JSON round trip (the server's API form).
    let json = serde_json::to_string(&ops).unwrap();
    let back: Vec<Op> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ops);
    // Relayed through an older replica to a third, unchanged and all accepted.
    let (mut relay, mut third) = (replica(2), replica(3));
    let report = send(&newer, &mut relay, T0);
    assert_eq!(report.accepted(), ops.len());
    send(&relay, &mut third, T0);
    let relayed: Vec<Op> = third
        .missing_for(&VersionVector::default())
        .cloned()
        .collect();
    assert_eq!(relayed, ops);
    let v = third.visit(&V).unwrap();
    assert_eq!(
        v.location_kind(),
        Some(LocationKind::parse("hovercraft_port"))
    );
    assert!(!v.location_kind().unwrap().is_known());
    assert_eq!(
        v.get(&VisitField::parse("drone_footage_ref")),
        Some(&Value::Int(42))
    );
    assert!(v.has(&VisitSet::Indicators, "nb_new_indicator_2027"));
    assert!(v.has(&VisitSet::parse("languages_heard"), "tigrinya"));
    assert_eq!(v.arrests().count(), 1);
    assert_eq!(v.status(), Status::Draft);
    assert_eq!(
        v.status_register().unrecognised().collect::<Vec<_>>(),
        ["archived"]
    );
}

#[test]
fn a_bad_op_never_blocks_the_rest_of_a_queue() {
    let (mut a, mut b) = (replica(1), replica(2));
    a.create_visit(T0, V, OPERATION, LocationKind::Hotel)
        .unwrap();
    let mut ops: Vec<Op> = a.missing_for(&VersionVector::default()).cloned().collect();
    // Forge three bad ops among 40 good ones, as a buggy or tampered client might.
    for i in 0..40u64 {
        ops.push(a.note(T0 + i, V, &format!("note {i}")).unwrap().clone());
    }
    let seq = ops.len() as u64;
    let bad = |k: u64, action: Action| Op {
        id: OpId::new(ReplicaId::from_u128(1), seq + k),
        hlc: Hlc::new(T0 + 100, 0),
        visit: V,
        action,
    };
    let bad_ops = vec![
        bad(1, Action::Note { text: "   ".into() }),
        bad(
            2,
            Action::Set {
                target: Target::Person(PersonId::from_u128(3), PersonField::Nationality),
                value: Value::Text("Albania".into()),
                pred: vec![],
            },
        ),
        bad(
            3,
            Action::Add {
                set: SetTarget::Visit(VisitSet::Indicators),
                elem: "DROP TABLE".into(),
            },
        ),
    ];
    a.apply(T0, bad_ops.clone());
    ops.extend(bad_ops);
    ops.push(a.note(T0 + 200, V, "after").unwrap().clone());
    let report = b.apply(T0 + 300, ops.iter().rev().cloned());
    let rejected = report.rejected();
    assert_eq!(rejected.len(), 3);
    let fields: Vec<Option<&str>> = rejected.iter().map(|e| e.field.as_deref()).collect();
    assert_eq!(
        fields,
        [Some("indicators"), Some("person.nationality"), Some("note")]
    );
    assert_eq!(report.accepted(), ops.len() - 3);
    assert_eq!(b.visit(&V).unwrap().notes().count(), 41);
    assert_eq!(b.version_vector(), a.version_vector());
    // The messages are readable.
    assert_eq!(
        rejected[1].reason.to_string(),
        "\"Albania\" is not an ISO 3166 alpha-2 country code"
    );
}

#[test]
fn reused_op_id_with_other_content_is_rejected_and_the_first_kept() {
    let (mut a, mut b) = (replica(1), replica(2));
    a.create_visit(T0, V, OPERATION, LocationKind::Hotel)
        .unwrap();
    send(&a, &mut b, T0);
    let mut forged: Op = a
        .missing_for(&VersionVector::default())
        .next()
        .cloned()
        .unwrap();
    forged.action = Action::Create {
        operation: OperationId::from_u128(666),
    };
    let report = b.apply(T0, [forged]);
    assert_eq!(report.rejected()[0].reason, Reason::IdReused);
    assert_eq!(b.visit(&V).unwrap().operation(), Some(OPERATION));
}

#[test]
fn local_edits_are_validated_before_using_a_sequence_number() {
    let mut a = replica(1);
    a.create_visit(T0, V, OPERATION, LocationKind::VehicleStop)
        .unwrap();
    let err = a
        .set(
            T0,
            V,
            Target::Visit(VisitField::Occupants),
            Value::Text("seven".into()),
        )
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("occupants"));
    let ok = a
        .set(T0, V, Target::Visit(VisitField::Occupants), Value::Int(7))
        .unwrap();
    assert_eq!(ok.id.seq, 4);
    let unknown = a.note(T0, VisitId::from_u128(999), "x").unwrap_err();
    assert_eq!(unknown.reason, Reason::UnknownVisit);
}

#[test]
fn delta_is_small_on_the_wire() {
    let (mut a, mut b) = (replica(1), replica(2));
    started(&mut a, &mut b);
    for i in 0..13u64 {
        set_postcode(&mut a, T0 + 1_000 * i, "OX1 1AA");
    }
    let bytes = wire::encode(a.missing_for(b.version_vector()));
    // Header (one replica UUID, one visit UUID), then per edit: clock delta,
    // field symbol, the 7-byte postcode and one pred: about 22 bytes.
    assert!(bytes.len() <= 16 * 2 + 13 * 24, "{} bytes", bytes.len());
}

#[test]
fn view_shows_the_conflict_with_who_and_when() {
    let (mut a, mut b) = (replica(1), replica(2));
    started(&mut a, &mut b);
    set_postcode(&mut a, T0 + 10, "OX1 1AA");
    set_postcode(&mut b, T0 + 20, "OX4 2BB");
    both_ways(&mut a, &mut b, T0 + 30);
    let view = VisitView::from(a.visit(&V).unwrap());
    let json = serde_json::to_value(&view).unwrap();
    let pc = &json["fields"]["postcode"];
    assert_eq!(pc["value"]["text"], "OX4 2BB");
    assert_eq!(pc["conflict"][0]["value"]["text"], "OX1 1AA");
    assert_eq!(pc["conflict"][0]["at_ms"], T0 + 10);
    assert_eq!(pc["conflict"][0]["by"], ReplicaId::from_u128(1).to_string());
    assert_eq!(view.conflicts, 1);
    assert_eq!(json["fields"]["location_kind"]["value"]["text"], "car_wash");
    assert!(json["fields"]["location_kind"].get("conflict").is_none());
}
