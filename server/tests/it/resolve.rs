//! `POST /api/v1/visits/{id}/resolve`: a supervisor settles a conflict with a
//! server op that supersedes every version, so it is gone on every device
//! after sync; officers may not; the reason is audited.

use crate::harness::{now_ms, record_visit, World};
use serde_json::json;
use sync_core::{PersonField, PersonId, Target, Value, VisitField, VisitId};

/// Officers A and A2 edit the same visit offline: the postcode and a
/// person's estimated age end up in conflict on the server.
fn conflicted(w: &mut World) -> (VisitId, PersonId) {
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    let person = ops
        .iter()
        .find_map(|o| match o.action {
            sync_core::Action::AddPerson { person } => Some(person),
            _ => None,
        })
        .unwrap();
    w.srv.push_ok(&w.a, &ops);
    w.a2.replica.apply(now_ms(), ops);
    let t = now_ms();
    let pc = Target::Visit(VisitField::Postcode);
    let age = Target::Person(person, PersonField::EstimatedAge);
    let mine = vec![
        w.a.replica
            .set(t, visit, pc.clone(), Value::Text("OX4 1AB".into()))
            .unwrap()
            .clone(),
        w.a.replica
            .set(t + 1, visit, age.clone(), Value::Int(24))
            .unwrap()
            .clone(),
    ];
    let theirs = vec![
        w.a2.replica
            .set(t + 2, visit, pc, Value::Text("OX4 1AD".into()))
            .unwrap()
            .clone(),
        w.a2.replica
            .set(t + 3, visit, age, Value::Int(31))
            .unwrap()
            .clone(),
    ];
    w.srv.push_ok(&w.a, &mine);
    w.srv.push_ok(&w.a2, &theirs);
    (visit, person)
}

#[test]
fn a_supervisor_resolves_a_conflict_for_every_device() {
    let mut w = World::new();
    let (visit, person) = conflicted(&mut w);
    let path = format!("/api/v1/visits/{visit}/resolve");
    let read = |token: &str| {
        w.srv
            .get(&format!("/api/v1/visits/{visit}?reason=check"), Some(token))
            .expect(200)
            .body
    };
    let before = read(&w.sup1);
    assert_eq!(before["conflicts"], 2, "{before}");
    let competing = &before["fields"]["postcode"];
    assert_eq!(competing["conflict"].as_array().unwrap().len(), 1);
    let body = |reason: &str, value: serde_json::Value| json!({ "reason": reason, "target": { "visit": "postcode" }, "value": value });
    let chosen = json!({ "text": "OX4 1AB" });

    // Who may: not officers, not another operation's supervisor.
    w.srv
        .post(&path, Some(&w.a.token), &body("mine", chosen.clone()))
        .expect_error(403, "session_required");
    w.srv
        .post(&path, Some(&w.sup2), &body("curious", chosen.clone()))
        .expect_error(404, "not_found");
    // What is checked: a reason, a valid value, a field that exists.
    w.srv
        .post(&path, Some(&w.sup1), &body("  ", chosen.clone()))
        .expect_error(422, "invalid_field");
    w.srv
        .post(
            &path,
            Some(&w.sup1),
            &json!({ "target": { "visit": "postcode" }, "value": chosen }),
        )
        .expect_error(422, "invalid_field");
    let bad = w.srv.post(
        &path,
        Some(&w.sup1),
        &body("typo", json!({ "text": "not a postcode" })),
    );
    bad.expect_error(422, "invalid_field");
    assert!(bad.text.contains("postcode"), "{}", bad.text);
    w.srv
        .post(
            &path,
            Some(&w.sup1),
            &json!({ "reason": "x", "target": { "visit": "vrm" }, "value": { "text": "AB12 CDE" } }),
        )
        .expect_error(404, "not_found");
    w.srv
        .post(
            &format!("/api/v1/visits/{}/resolve", uuid::Uuid::new_v4()),
            Some(&w.sup1),
            &body("x", chosen.clone()),
        )
        .expect_error(404, "not_found");
    let ops_before = w.srv.count("op_ids");

    // The supervisor settles the postcode, then the age.
    let reason = "PC Jones confirmed the postcode on the premises licence";
    let r = w
        .srv
        .post(&path, Some(&w.sup1), &body(reason, chosen.clone()))
        .expect(200);
    assert_eq!(r.body["conflicts"], 1, "{}", r.text);
    assert_eq!(r.body["fields"]["postcode"]["value"], chosen);
    assert!(r.body["fields"]["postcode"].get("conflict").is_none());
    let age = json!({ "person": [person, "estimated_age"] });
    let r = w
        .srv
        .post(
            &path,
            Some(&w.admin),
            &json!({ "reason": "passport seen", "target": age, "value": { "int": 27 } }),
        )
        .expect(200);
    assert_eq!(r.body["conflicts"], 0, "{}", r.text);
    assert_eq!(w.srv.count("op_ids"), ops_before + 2);
    let rows = w
        .srv
        .get(
            &format!("/api/v1/visits?operation={}", w.op1),
            Some(&w.sup1),
        )
        .expect(200);
    assert_eq!(rows.body[0]["conflicts"], 0);

    // Asking again for the same value changes nothing; asking for another
    // value now that it is settled is refused.
    w.srv
        .post(&path, Some(&w.sup1), &body(reason, chosen.clone()))
        .expect(200);
    assert_eq!(w.srv.count("op_ids"), ops_before + 2);
    w.srv
        .post(
            &path,
            Some(&w.sup1),
            &body("late", json!({ "text": "OX4 1AD" })),
        )
        .expect_error(409, "no_conflict");

    // Both phones pull and agree: no conflict, the chosen values.
    for dev in [&mut w.a, &mut w.a2] {
        let ops = w.srv.pull_all(&dev.token);
        dev.replica.apply(now_ms(), ops);
        let v = dev.replica.visit(&visit).unwrap();
        assert!(v.conflicts().is_empty(), "{:?}", v.conflicts());
        assert_eq!(v.text(&VisitField::Postcode), Some("OX4 1AB"));
        let p = v.person(&person).unwrap();
        assert_eq!(p.get(&PersonField::EstimatedAge), Some(&Value::Int(27)));
    }
    assert_eq!(
        w.a.replica.visit(&visit).unwrap(),
        w.a2.replica.visit(&visit).unwrap()
    );

    // Audited with who and why, not the value.
    let audit = w
        .srv
        .get("/api/v1/admin/audit?limit=50", Some(&w.admin))
        .expect(200);
    let rows: Vec<&serde_json::Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "visit.resolve")
        .collect();
    assert_eq!(rows.len(), 2, "{}", audit.text);
    let postcode = rows.iter().find(|r| r["reason"] == reason).unwrap();
    assert_eq!(postcode["subject"], format!("visit:{visit}"));
    assert!(postcode["detail"].as_str().unwrap().contains("postcode"));
    assert!(!audit.text.contains("OX4 1AB"));
}
