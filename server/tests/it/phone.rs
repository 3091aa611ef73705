//! What the phone's lock and revocation need from the server: a recovery code
//! given at enrolment that an admin can read out (audited, with a reason),
//! and two kinds of revocation: "lost" (nothing more is accepted) and
//! "reassigned" (the phone may still hand in its unsynced changes).

use crate::harness::{record_visit, World};
use serde_json::json;

#[test]
fn an_admin_reads_a_phone_s_recovery_code_with_a_reason() {
    let w = World::new();
    let user = w.srv.create_user(&w.admin, "pc.locked", "officer", None);
    w.srv.add_member(&w.admin, w.op1, user);
    let code = w.srv.issue_code(&w.admin, user);
    let r = w
        .srv
        .post(
            "/api/v1/enrol",
            None,
            &json!({ "code": code, "label": "locked phone" }),
        )
        .expect(201);
    let secret = r.body["recovery_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 24, "{secret}");
    let device = r.body["device_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/devices/{device}/recovery-code");
    w.srv
        .post(&path, Some(&w.admin), &json!({}))
        .expect_error(422, "reason_required");
    w.srv
        .post(&path, Some(&w.sup1), &json!({ "reason": "x" }))
        .expect_error(403, "forbidden");
    let before = w.srv.count("audit");
    let got = w
        .srv
        .post(
            &path,
            Some(&w.admin),
            &json!({ "reason": "PC locked out, 3 unsynced visits" }),
        )
        .expect(200);
    assert_eq!(got.body["code"], json!(secret));
    assert_eq!(w.srv.count("audit"), before + 1);
    let trail = w
        .srv
        .get("/api/v1/admin/audit?limit=5", Some(&w.admin))
        .expect(200);
    assert!(trail.text.contains("device.recovery_code") && trail.text.contains("PC locked out"));
}

#[test]
fn a_lost_phone_is_refused_everything_and_a_reassigned_one_may_still_push() {
    let mut w = World::new();
    let revoke = |dev: &str, mode: Option<&str>| {
        let path = format!("/api/v1/devices/{dev}/revoke");
        match mode {
            Some(m) => w.srv.post(&path, Some(&w.admin), &json!({ "mode": m })),
            None => w.srv.send("POST", &path, Some(&w.admin), None),
        }
    };
    revoke(&w.a.id.to_string(), Some("stolen")).expect_error(422, "invalid_field");

    // Reassigned: the unsynced visit is handed in; nothing else is answered.
    let (_, ops) = record_visit(&mut w.a, w.op1);
    revoke(&w.a.id.to_string(), Some("reassigned")).expect(204);
    w.srv.push_ok(&w.a, &ops);
    for path in ["/api/v1/sync/pull", "/api/v1/me", "/api/v1/operations"] {
        w.srv
            .get(path, Some(&w.a.token))
            .expect_error(401, "device_reassigned");
    }
    assert_eq!(w.srv.pull_all(&w.a2.token).len(), ops.len(), "handed in");
    let devices = w.srv.get("/api/v1/devices", Some(&w.admin)).expect(200);
    let mine = devices
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == json!(w.a.id.to_string()))
        .unwrap()
        .clone();
    assert_eq!(mine["revoke_mode"], json!("reassigned"), "{mine}");

    // Lost (the default): not even a push.
    let (_, ops2) = record_visit(&mut w.a2, w.op1);
    revoke(&w.a2.id.to_string(), None).expect(204);
    w.srv
        .push(&w.a2.token, &ops2)
        .expect_error(401, "device_revoked");
    w.srv
        .get("/api/v1/sync/pull", Some(&w.a2.token))
        .expect_error(401, "device_revoked");
}

#[test]
fn an_admin_sets_how_long_phones_keep_an_operation_s_synced_visits() {
    let w = World::new();
    let ops = w
        .srv
        .get("/api/v1/operations", Some(&w.a.token))
        .expect(200);
    assert_eq!(ops.body[0]["retention_days"], json!(7), "the default");
    let path = format!("/api/v1/operations/{}", w.op1);
    for bad in [0, 366] {
        w.srv
            .send(
                "PATCH",
                &path,
                Some(&w.admin),
                Some((
                    "application/json",
                    json!({ "retention_days": bad }).to_string().as_bytes(),
                )),
            )
            .expect_error(422, "invalid_field");
    }
    let r = w
        .srv
        .send(
            "PATCH",
            &path,
            Some(&w.admin),
            Some(("application/json", br#"{"retention_days": 3}"#)),
        )
        .expect(200);
    assert_eq!(r.body["retention_days"], json!(3));
    // The phones learn it from their operations list.
    let ops = w
        .srv
        .get("/api/v1/operations", Some(&w.a.token))
        .expect(200);
    assert_eq!(ops.body[0]["retention_days"], json!(3));
    let created = w
        .srv
        .post(
            "/api/v1/operations",
            Some(&w.admin),
            &json!({ "name": "Short", "force_area": "Kent", "starts_on": "2026-12-01", "ends_on": "2026-12-02", "retention_days": 2 }),
        )
        .expect(201);
    assert_eq!(created.body["retention_days"], json!(2));
}
