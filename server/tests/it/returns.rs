//! Return for correction over HTTP: a supervisor returns a submitted visit
//! with a reason, the officer's phone pulls it and sees it returned with the
//! reason, resubmits, and the supervisor reviews; no phone can push a return;
//! a return and a resubmit made concurrently converge; un-void is a
//! supervisor's act; the review list carries the checks' warnings.

use crate::harness::{now_ms, record_visit, Device, Resp, Server, World, STAFF_PASSWORD};
use serde_json::{json, Value};
use sync_core::{
    Action, Hlc, Op, OpId, PersonField, Status, Target, Value as V, VisitId, VisitView,
};

fn results(r: &Resp) -> Vec<Value> {
    r.body["results"].as_array().expect("results").clone()
}

/// The result of pushing ops: `"accepted"` or the rejection code, per op.
fn outcomes(srv: &Server, dev: &Device, ops: &[Op]) -> Vec<String> {
    let r = srv.push(&dev.token, ops).expect(200);
    results(&r)
        .iter()
        .map(|res| match res["result"].as_str() {
            Some("accepted") => "accepted".into(),
            _ => res["code"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

fn pull(srv: &Server, dev: &mut Device) {
    let ops = srv.pull_all(&dev.token);
    let report = dev.replica.apply(now_ms(), ops);
    assert!(report.rejected().is_empty(), "{:?}", report.rejected());
}

/// A submitted visit recorded and pushed by officer A.
fn submitted(w: &mut World) -> VisitId {
    let (v, mut ops) = record_visit(&mut w.a, w.op1);
    ops.push(
        w.a.replica
            .set_status(now_ms(), v, Status::Submitted)
            .unwrap()
            .clone(),
    );
    w.srv.push_ok(&w.a, &ops);
    v
}

fn give_back(w: &World, v: VisitId, reason: &str) -> Resp {
    w.srv.post(
        &format!("/api/v1/visits/{v}/return"),
        Some(&w.sup1),
        &json!({ "reason": reason }),
    )
}

/// The server's merged view of a visit (read with a reason, as a supervisor).
fn server_view(w: &World, v: VisitId) -> Value {
    w.srv
        .get(
            &format!("/api/v1/visits/{v}?reason=returns+test"),
            Some(&w.sup1),
        )
        .expect(200)
        .body
}

fn phone_view(dev: &Device, v: VisitId) -> Value {
    serde_json::to_value(VisitView::from(dev.replica.visit(&v).expect("held"))).unwrap()
}

fn row(w: &World, v: VisitId, status: &str) -> Option<Value> {
    let list = w
        .srv
        .get(&format!("/api/v1/visits?status={status}"), Some(&w.sup1))
        .expect(200);
    list.body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(v.to_string()))
        .cloned()
}

/// A supervisor's phone in operation 1 that holds `v` (shared with them).
fn sup_phone(w: &World, v: VisitId) -> Device {
    let user = w
        .srv
        .create_user(&w.admin, "ps.phone", "supervisor", Some(STAFF_PASSWORD));
    w.srv.add_member(&w.admin, w.op1, user);
    w.srv
        .post(
            &format!("/api/v1/visits/{v}/share"),
            Some(&w.sup1),
            &json!({ "user_id": user, "reason": "to correct on the phone" }),
        )
        .expect(204);
    let mut dev = w.srv.enrol(&w.srv.issue_code(&w.admin, user));
    pull(&w.srv, &mut dev);
    assert!(dev.replica.visit(&v).is_some());
    dev
}

#[test]
fn return_resubmit_review_over_http() {
    let mut w = World::new();
    let v = submitted(&mut w);
    give_back(&w, v, " ").expect_error(422, "reason_required");
    give_back(&w, v, &"x".repeat(2_001)).expect_error(422, "invalid_field");
    let r = give_back(&w, v, "Add the workers' names and the NRM referral.").expect(200);
    assert_eq!(r.body["status"], json!("returned"), "{}", r.text);
    assert_eq!(r.body["round"], json!(0));
    assert_eq!(
        r.body["return_reason"],
        json!("Add the workers' names and the NRM referral.")
    );
    // Asked again before the officer resubmits: unchanged, nothing written.
    give_back(&w, v, "again").expect(200);
    assert_eq!(
        server_view(&w, v)["returned"]["reason"],
        json!("Add the workers' names and the NRM referral.")
    );
    // A returned visit cannot be reviewed before it is resubmitted.
    w.srv
        .post(
            &format!("/api/v1/visits/{v}/review"),
            Some(&w.sup1),
            &json!({}),
        )
        .expect_error(409, "not_submitted");
    assert!(row(&w, v, "returned").is_some());
    assert!(row(&w, v, "submitted").is_none());

    // The officer's phone pulls it: returned, with the reason.
    pull(&w.srv, &mut w.a);
    let phone = phone_view(&w.a, v);
    assert_eq!(phone["status"], json!("returned"));
    assert_eq!(
        phone["returned"]["reason"],
        json!("Add the workers' names and the NRM referral.")
    );
    // Corrects and resubmits: the next round.
    let fix =
        w.a.replica
            .note(now_ms(), v, "Names added; NRM referral made.")
            .unwrap()
            .clone();
    let resubmit =
        w.a.replica
            .set_status(now_ms(), v, Status::Submitted)
            .unwrap()
            .clone();
    assert!(matches!(resubmit.action, Action::Status { round: 1, .. }));
    assert_eq!(
        outcomes(&w.srv, &w.a, &[fix, resubmit]),
        ["accepted", "accepted"]
    );
    let listed = row(&w, v, "submitted").expect("back in the review list");
    assert_eq!(listed["round"], json!(1));

    // The supervisor reviews the resubmitted round.
    let r = w
        .srv
        .post(
            &format!("/api/v1/visits/{v}/review"),
            Some(&w.sup1),
            &json!({}),
        )
        .expect(200);
    assert_eq!(
        (r.body["status"].clone(), r.body["round"].clone()),
        (json!("reviewed"), json!(1))
    );
    pull(&w.srv, &mut w.a);
    assert_eq!(phone_view(&w.a, v), server_view(&w, v));
    assert_eq!(phone_view(&w.a, v)["status"], json!("reviewed"));

    // The return is audited with its reason.
    let audit = w
        .srv
        .get(&format!("/api/v1/visits/{v}/audit"), Some(&w.sup1))
        .expect(200);
    let entries = audit.body["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == json!("visit.return")
            && e["reason"] == json!("Add the workers' names and the NRM referral.")),
        "{entries:?}"
    );
}

#[test]
fn no_phone_can_push_a_return_or_jump_a_round() {
    let mut w = World::new();
    let v = submitted(&mut w);
    let mut sup_phone = sup_phone(&w, v);
    for dev in [&mut w.a, &mut sup_phone] {
        let ret = dev
            .replica
            .return_visit(now_ms(), v, "from a phone")
            .unwrap()
            .clone();
        // A submit in a round no return has opened (it would undo a review).
        let ahead = Op {
            id: OpId::new(dev.id, ret.id.seq + 1),
            hlc: Hlc::new(now_ms(), 0),
            visit: v,
            action: Action::Status {
                status: Status::Submitted,
                round: 1,
                reason: None,
            },
        };
        assert_eq!(
            outcomes(&w.srv, dev, &[ret, ahead]),
            ["forbidden_action", "forbidden_action"]
        );
    }
    assert_eq!(server_view(&w, v)["status"], json!("submitted"));
}

#[test]
fn concurrent_return_and_resubmit_converge() {
    let mut w = World::new();
    let v = submitted(&mut w);
    // Officer A2 (same team) holds it too.
    pull(&w.srv, &mut w.a2);
    // Offline on A's phone: an edit and a submit again, not having seen the
    // return the supervisor makes meanwhile.
    let edit =
        w.a.replica
            .set(
                now_ms() + 60_000,
                v,
                Target::Visit(sync_core::VisitField::Address),
                V::Text("Unit 4, Mill Lane".into()),
            )
            .unwrap()
            .clone();
    let again =
        w.a.replica
            .set_status(now_ms() + 60_000, v, Status::Submitted)
            .unwrap()
            .clone();
    give_back(&w, v, "Which unit?").expect(200);
    assert_eq!(
        outcomes(&w.srv, &w.a, &[edit, again]),
        ["accepted", "accepted"]
    );
    // The return beats the submit of its round, everywhere.
    pull(&w.srv, &mut w.a);
    pull(&w.srv, &mut w.a2);
    let server = server_view(&w, v);
    assert_eq!(server["status"], json!("returned"));
    assert_eq!(phone_view(&w.a, v), server);
    assert_eq!(phone_view(&w.a2, v), server);
    // A2 resubmits (next round); A, still offline, does too: both round 1.
    let s2 =
        w.a2.replica
            .set_status(now_ms(), v, Status::Submitted)
            .unwrap()
            .clone();
    let s1 =
        w.a.replica
            .set_status(now_ms(), v, Status::Submitted)
            .unwrap()
            .clone();
    assert_eq!(outcomes(&w.srv, &w.a2, &[s2]), ["accepted"]);
    assert_eq!(outcomes(&w.srv, &w.a, &[s1]), ["accepted"]);
    pull(&w.srv, &mut w.a);
    pull(&w.srv, &mut w.a2);
    let server = server_view(&w, v);
    assert_eq!(
        (server["status"].clone(), server["round"].clone()),
        (json!("submitted"), json!(1))
    );
    assert_eq!(phone_view(&w.a, v), server);
    assert_eq!(phone_view(&w.a2, v), server);
}

#[test]
fn unvoid_is_a_supervisors_act() {
    let mut w = World::new();
    let (v, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let void =
        w.a.replica
            .void(now_ms(), v, "Created in error")
            .unwrap()
            .clone();
    let unvoid = w.a.replica.unvoid(now_ms(), v).unwrap().clone();
    assert_eq!(
        outcomes(&w.srv, &w.a, &[void, unvoid]),
        ["accepted", "forbidden_action"]
    );
    assert_eq!(server_view(&w, v)["voided"], json!(true));
    assert_eq!(server_view(&w, v)["void_reason"], json!("Created in error"));
    let mut sup_phone = sup_phone(&w, v);
    let unvoid = sup_phone.replica.unvoid(now_ms(), v).unwrap().clone();
    assert_eq!(outcomes(&w.srv, &sup_phone, &[unvoid]), ["accepted"]);
    assert_eq!(server_view(&w, v)["voided"], json!(false));
}

#[test]
fn review_list_carries_the_checks() {
    let mut w = World::new();
    let (v, mut ops) = record_visit(&mut w.a, w.op1);
    // A child potential victim with no NRM referral, and an empty person.
    let child = sync_core::PersonId(uuid::Uuid::new_v4());
    let empty = sync_core::PersonId(uuid::Uuid::new_v4());
    let r = &mut w.a.replica;
    let t = now_ms();
    ops.push(r.add_person(t, v, child).unwrap().clone());
    ops.push(
        r.set(
            t,
            v,
            Target::Person(child, PersonField::EstimatedAge),
            V::Int(15),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.set(
            t,
            v,
            Target::Person(child, PersonField::PotentialVictim),
            V::Bool(true),
        )
        .unwrap()
        .clone(),
    );
    ops.push(r.add_person(t, v, empty).unwrap().clone());
    // Submitted as an older phone would (no checks on the phone): the
    // server refuses nothing for them and shows them.
    ops.push(r.set_status(t, v, Status::Submitted).unwrap().clone());
    w.srv.push_ok(&w.a, &ops);
    let listed = row(&w, v, "submitted").expect("listed");
    let codes = |k: &str| -> Vec<String> {
        listed[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes("blocking"), ["empty_person"]);
    // The harness's operation runs 2026-09-21 to 2026-09-27; the visit is today.
    let today = sync_core::summary::london_date(now_ms() as i64).to_string();
    let mut want = vec!["child_victim_without_nrm"];
    if !("2026-09-21".."2026-09-28").contains(&today.as_str()) {
        want.push("outside_operation_dates");
    }
    assert_eq!(codes("warnings"), want);
    assert_eq!(listed["warnings"][0]["person"], json!(child.to_string()));
    // The same function on the phone says the same.
    let phone = sync_core::checks::check(
        w.a.replica.visit(&v).unwrap(),
        Some(sync_core::checks::Dates {
            starts_on: sync_core::summary::LocalDate::parse("2026-09-21").unwrap(),
            ends_on: sync_core::summary::LocalDate::parse("2026-09-27").unwrap(),
        }),
    );
    assert_eq!(
        serde_json::to_value(&phone.warnings).unwrap(),
        listed["warnings"]
    );
}

/// A database written before returns existed (migration 5): its stored
/// status ops load as round 0 and mean what they meant, and opening it
/// computes every visit's checks.
#[test]
fn a_database_from_before_returns_migrates_and_keeps_its_statuses() {
    let mut w = World::new();
    let v = submitted(&mut w);
    let dir = w.srv.stop();
    let path = dir.path().join("aidant.sqlite3");
    let c = rusqlite::Connection::open(&path).unwrap();
    // Ops as the servers of then stored them: one to a row, JSON in `body`.
    #[allow(clippy::type_complexity)]
    let stored: Vec<(String, String, Option<String>, String, Vec<u8>)> = c
        .prepare(
            "SELECT visit_id, operation_id, device_id, received_at, wire FROM ops ORDER BY cursor",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    c.execute_batch("DELETE FROM ops; DROP TABLE op_ids; ALTER TABLE ops DROP COLUMN last_seq;")
        .unwrap();
    for (visit, operation, device, at, wire) in stored {
        for op in sync_core::wire::decode(&wire).unwrap() {
            c.execute(
                "INSERT INTO ops (replica, seq, visit_id, operation_id, body, device_id, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    op.id.replica.to_string(),
                    op.id.seq as i64,
                    visit,
                    operation,
                    serde_json::to_string(&op).unwrap(),
                    device,
                    at
                ],
            )
            .unwrap();
        }
    }
    c.execute_batch(
        "ALTER TABLE ops DROP COLUMN wire;
         DROP TABLE login_failures;
         DROP TABLE visit_states;
         ALTER TABLE visits DROP COLUMN checks;
         ALTER TABLE visits DROP COLUMN status_round;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(c);
    // The server opens it through the ledger, which brings the derived rows
    // (checks) up to date.
    let location = server::db::Location::File(path.clone());
    let key = server::db::audit::default_key_path(&path);
    drop(server::ledger::open(&location, &key).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    let (status, round, checks): (String, i64, String) = c
        .query_row(
            "SELECT status, status_round, checks FROM visits WHERE id = ?1",
            [v.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), round), ("submitted", 0));
    let checks: Value = serde_json::from_str(&checks).unwrap();
    assert_eq!(checks["blocking"], json!([]), "{checks}");
    // Migration 11 claimed every old op's id under its own row's cursor
    // (the rows stay segments of one op).
    let (rows, claimed, matched): (i64, i64, i64) = c
        .query_row(
            "SELECT (SELECT COUNT(*) FROM ops), (SELECT COUNT(*) FROM op_ids),
                    (SELECT COUNT(*) FROM op_ids i JOIN ops o
                      ON o.cursor = i.cursor AND o.replica = i.replica AND o.seq = i.seq
                     WHERE o.last_seq IS NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(rows > 0);
    assert_eq!((claimed, matched), (rows, rows));
    // The stored status op was the old form (no round), and reads as
    // round 0 once rewritten as wire bytes at open.
    let mut stmt = c
        .prepare("SELECT wire FROM ops WHERE visit_id = ?1 AND body = ''")
        .unwrap();
    let ops: Vec<Op> = stmt
        .query_map([v.to_string()], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|w| sync_core::wire::decode(&w.unwrap()).unwrap().remove(0))
        .collect();
    let op = ops
        .into_iter()
        .find(|o| matches!(o.action, Action::Status { .. }))
        .expect("the status op");
    assert!(matches!(
        op.action,
        Action::Status {
            round: 0,
            reason: None,
            ..
        }
    ));
}

/// The review list shows the case without opening it: the place, who
/// recorded it, and its potential victims by age group (a child counted by
/// sync-core's one rule), with no name in it.
#[test]
fn the_review_list_shows_place_recorder_and_potential_victims() {
    let mut w = World::new();
    let (v, mut ops) = record_visit(&mut w.a, w.op1);
    let t = now_ms() + 10;
    let child = sync_core::PersonId(uuid::Uuid::new_v4());
    let r = &mut w.a.replica;
    ops.push(
        r.set(
            t,
            v,
            Target::Visit(sync_core::VisitField::PremisesName),
            V::Text("Bubbles Car Wash".into()),
        )
        .unwrap()
        .clone(),
    );
    ops.push(r.add_person(t + 1, v, child).unwrap().clone());
    ops.push(
        r.set(
            t + 2,
            v,
            Target::Person(child, PersonField::Name),
            V::Text("Zed Quillon".into()),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.set(
            t + 3,
            v,
            Target::Person(child, PersonField::EstimatedAge),
            V::Int(15),
        )
        .unwrap()
        .clone(),
    );
    ops.push(
        r.set(
            t + 4,
            v,
            Target::Person(child, PersonField::PotentialVictim),
            V::Bool(true),
        )
        .unwrap()
        .clone(),
    );
    ops.push(r.set_status(t + 5, v, Status::Submitted).unwrap().clone());
    w.srv.push_ok(&w.a, &ops);
    let list = w
        .srv
        .get(
            &format!("/api/v1/visits?operation={}&status=submitted", w.op1),
            Some(&w.sup1),
        )
        .expect(200);
    let row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(v.to_string()))
        .expect("listed");
    let brief = &row["brief"];
    assert_eq!(brief["place"], json!("Bubbles Car Wash"), "{row}");
    assert_eq!(brief["persons"], json!(2));
    assert_eq!(
        brief["potential_victims"],
        json!({ "adult": 0, "child": 1, "unknown": 0 })
    );
    let by = brief["recorded_by"].as_array().unwrap();
    assert_eq!(by.len(), 1, "{brief}");
    assert!(!list.text.contains("Zed Quillon"), "a name in the list");
}
