//! Bad input of every kind gets a 4xx with a JSON `{code, message}`, never a
//! 5xx, and changes nothing stored; login and enrolment are rate limited.

use crate::harness::{now_ms, record_visit, Resp, Server, World};
use serde_json::json;
use std::fmt::Write;
use sync_core::{Action, Hlc, Op, OpId};
use uuid::Uuid;

const BODY_LIMIT: usize = 16 * 1024;
const BATCH_LIMIT: usize = 5;

fn counts(srv: &Server) -> [i64; 5] {
    ["ops", "visits", "users", "operations", "devices"].map(|t| srv.count(t))
}

#[test]
fn bad_requests_get_json_4xx_and_change_nothing() {
    let mut w = World::on(Server::start_with(|c| {
        c.limits.body_bytes = BODY_LIMIT;
        c.limits.batch_ops = BATCH_LIMIT;
    }));
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    for chunk in ops.chunks(BATCH_LIMIT) {
        w.srv.push_ok(&w.a, chunk);
    }
    let before = counts(&w.srv);
    assert_eq!(before[1], 1);

    let admin = Some(w.admin.as_str());
    let sup = Some(w.sup1.as_str());
    let dev = Some(w.a.token.as_str());
    let json_ct = "application/json";
    let good_op = |seq: u64| Op {
        id: OpId::new(w.a.id, seq),
        hlc: Hlc::new(now_ms(), 0),
        visit,
        action: Action::Note {
            text: "fits".into(),
        },
    };
    let push_of = |n: u64| {
        serde_json::to_vec(&json!({ "ops": (0..n).map(|i| good_op(100 + i)).collect::<Vec<_>>() }))
            .unwrap()
    };
    let wire_of = |n: u64| {
        let ops: Vec<Op> = (0..n).map(|i| good_op(100 + i)).collect();
        sync_core::wire::encode(ops.iter())
    };
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let long = "x".repeat(BODY_LIMIT + 1);
    let huge_push = serde_json::to_vec(&json!({ "ops": [{ "padding": long }] })).unwrap();
    let bad_uuid = "not-a-uuid";

    // (method, path, token, body as (content type, bytes), status, code)
    type Case<'a> = (
        &'a str,
        String,
        Option<&'a str>,
        Option<(&'a str, Vec<u8>)>,
        u16,
        &'a str,
    );
    let j = |v: serde_json::Value| Some((json_ct, serde_json::to_vec(&v).unwrap()));
    let raw = |s: &str| Some((json_ct, s.as_bytes().to_vec()));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // Malformed JSON.
        ("POST", "/api/v1/login".into(), None, raw("{\"username\": \"admin\""), 400, "malformed_json"),
        ("POST", "/api/v1/login".into(), None, raw(""), 400, "malformed_json"),
        ("POST", "/api/v1/operations".into(), admin, raw("{name: 'x'}"), 400, "malformed_json"),
        ("POST", "/api/v1/sync/push".into(), dev, raw("{\"ops\": [1, 2,"), 400, "malformed_json"),
        ("POST", "/api/v1/sync/push".into(), dev, raw(&nested), 400, "malformed_json"),
        ("POST", "/api/v1/enrol".into(), None, Some((json_ct, vec![0xff, 0xfe, b'{'])), 400, "malformed_json"),
        // Wrong types and unknown fields.
        ("POST", "/api/v1/login".into(), None, j(json!({ "username": 5, "password": "x" })), 422, "invalid_field"),
        ("POST", "/api/v1/login".into(), None, j(json!("admin")), 422, "invalid_field"),
        ("POST", "/api/v1/sync/push".into(), dev, j(json!({ "ops": "all of them" })), 422, "invalid_field"),
        ("POST", "/api/v1/sync/push".into(), dev, j(json!({ "ops": [], "extra": 1 })), 422, "invalid_field"),
        ("POST", "/api/v1/sync/push".into(), dev, j(json!({})), 422, "invalid_field"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "pc.x", "display_name": "X", "role": "chief" })), 422, "invalid_field"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "PC X!", "display_name": "X", "role": "officer" })), 422, "invalid_field"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "pc.short", "display_name": "X", "role": "supervisor", "password": "short" })), 422, "invalid_field"),
        ("POST", "/api/v1/operations".into(), admin, j(json!({ "name": 7, "force_area": "K", "starts_on": "2026-01-01", "ends_on": "2026-01-02" })), 422, "invalid_field"),
        ("POST", "/api/v1/operations".into(), admin, j(json!({ "name": "N", "force_area": "K", "starts_on": "2026-02-30", "ends_on": "2026-03-02" })), 422, "invalid_field"),
        ("POST", "/api/v1/operations".into(), admin, j(json!({ "name": "N", "force_area": "K", "starts_on": "2026-03-02", "ends_on": "2026-03-01" })), 422, "invalid_field"),
        // Bad UUIDs, in paths and in bodies.
        ("GET", format!("/api/v1/visits/{bad_uuid}"), sup, None, 400, "bad_path"),
        ("POST", format!("/api/v1/visits/{bad_uuid}/review"), sup, None, 400, "bad_path"),
        ("POST", format!("/api/v1/users/{bad_uuid}/enrolment-codes"), admin, None, 400, "bad_path"),
        ("POST", format!("/api/v1/devices/{bad_uuid}/revoke"), admin, None, 400, "bad_path"),
        ("POST", format!("/api/v1/operations/{bad_uuid}/members"), admin, j(json!({ "user_id": w.a.user })), 400, "bad_path"),
        ("POST", format!("/api/v1/operations/{bad_uuid}/teams"), admin, j(json!({ "name": "T" })), 400, "bad_path"),
        ("POST", format!("/api/v1/operations/{}/members", w.op1), admin, j(json!({ "user_id": bad_uuid })), 422, "invalid_field"),
        ("POST", "/api/v1/operations".into(), admin, j(json!({ "id": bad_uuid, "name": "N", "force_area": "K", "starts_on": "2026-01-01", "ends_on": "2026-01-02" })), 422, "invalid_field"),
        ("GET", format!("/api/v1/visits?operation={bad_uuid}"), sup, None, 400, "bad_query"),
        // Well-formed ids of things that do not exist.
        ("GET", format!("/api/v1/visits/{}?reason=check", Uuid::new_v4()), sup, None, 404, "not_found"),
        ("GET", format!("/api/v1/visits/{visit}"), sup, None, 422, "reason_required"),
        ("POST", format!("/api/v1/users/{}/enrolment-codes", Uuid::new_v4()), admin, None, 404, "not_found"),
        ("POST", format!("/api/v1/devices/{}/revoke", Uuid::new_v4()), admin, None, 404, "not_found"),
        ("POST", format!("/api/v1/operations/{}/members", Uuid::new_v4()), admin, j(json!({ "user_id": w.a.user })), 404, "not_found"),
        ("POST", format!("/api/v1/operations/{}/members", w.op1), admin, j(json!({ "user_id": Uuid::new_v4() })), 404, "not_found"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "pc.jones", "display_name": "Dup", "role": "officer" })), 409, "conflict"),
        // Bad query strings.
        ("GET", "/api/v1/sync/pull?after=-1".into(), dev, None, 400, "bad_query"),
        ("GET", "/api/v1/sync/pull?after=abc".into(), dev, None, 400, "bad_query"),
        ("GET", "/api/v1/sync/pull?after=99999999999999999999".into(), dev, None, 400, "bad_query"),
        ("GET", "/api/v1/sync/pull?limit=ten".into(), dev, None, 400, "bad_query"),
        ("GET", "/api/v1/sync/pull?cursor=3".into(), dev, None, 400, "bad_query"),
        ("GET", "/api/v1/visits?status=closed".into(), sup, None, 400, "bad_query"),
        ("GET", "/api/v1/admin/audit?limit=many".into(), admin, None, 400, "bad_query"),
        // Unknown routes and wrong methods.
        ("GET", "/api/v1/nothing-here".into(), admin, None, 404, "no_route"),
        ("GET", "/api/v2/visits".into(), admin, None, 404, "no_route"),
        ("GET", "/wp-login.php".into(), None, None, 404, "no_route"),
        ("GET", "/api/v1/visits/a/b/c".into(), sup, None, 404, "no_route"),
        ("DELETE", "/api/v1/operations".into(), admin, None, 405, "method_not_allowed"),
        ("GET", "/api/v1/login".into(), None, None, 405, "method_not_allowed"),
        ("PUT", "/healthz".into(), None, None, 405, "method_not_allowed"),
        ("PATCH", format!("/api/v1/visits/{visit}"), sup, j(json!({ "status": "reviewed" })), 405, "method_not_allowed"),
        ("GET", "/api/v1/sync/push".into(), dev, None, 405, "method_not_allowed"),
        // Oversized bodies and batches.
        ("POST", "/api/v1/sync/push".into(), dev, Some((json_ct, huge_push.clone())), 413, "body_too_large"),
        ("POST", "/api/v1/login".into(), None, j(json!({ "username": "admin", "password": long })), 413, "body_too_large"),
        ("POST", "/api/v1/sync/push".into(), dev, Some((json_ct, push_of(BATCH_LIMIT as u64 + 1))), 413, "batch_too_large"),
        ("POST", "/api/v1/sync/push".into(), dev, Some(("application/octet-stream", wire_of(BATCH_LIMIT as u64 + 1))), 413, "batch_too_large"),
        // Over-long strings.
        ("POST", "/api/v1/login".into(), None, j(json!({ "username": "u".repeat(65), "password": "p" })), 422, "invalid_field"),
        ("POST", "/api/v1/login".into(), None, j(json!({ "username": "admin", "password": "p".repeat(1025) })), 422, "invalid_field"),
        ("POST", "/api/v1/enrol".into(), None, j(json!({ "code": "C".repeat(65) })), 422, "invalid_field"),
        ("POST", "/api/v1/operations".into(), admin, j(json!({ "name": "n".repeat(201), "force_area": "K", "starts_on": "2026-01-01", "ends_on": "2026-01-02" })), 422, "invalid_field"),
        ("POST", format!("/api/v1/operations/{}/teams", w.op1), admin, j(json!({ "name": "t".repeat(101) })), 422, "invalid_field"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "pc.long", "display_name": "d".repeat(201), "role": "officer" })), 422, "invalid_field"),
        ("POST", "/api/v1/users".into(), admin, j(json!({ "username": "pc.ctl", "display_name": "bell\u{7}", "role": "officer" })), 422, "invalid_field"),
        ("GET", format!("/api/v1/visits/{visit}?reason={}", "r".repeat(501)), sup, None, 422, "invalid_field"),
        // Wrong content types.
        ("POST", "/api/v1/sync/push".into(), dev, Some(("text/plain", push_of(1))), 415, "unsupported_media_type"),
        ("POST", "/api/v1/sync/push".into(), dev, Some(("application/x-www-form-urlencoded", b"ops=1".to_vec())), 415, "unsupported_media_type"),
        ("POST", "/api/v1/sync/push".into(), dev, Some(("application/octet-stream", b"\x00\x01garbage".to_vec())), 400, "malformed_batch"),
        ("POST", "/api/v1/login".into(), None, Some(("application/x-www-form-urlencoded", b"username=admin&password=x".to_vec())), 415, "unsupported_media_type"),
    ];

    let mut failures = String::new();
    for (method, path, token, body, status, code) in &cases {
        let r = w.srv.send(
            method,
            path,
            *token,
            body.as_ref().map(|(ct, b)| (*ct, b.as_slice())),
        );
        judge(
            &mut failures,
            &format!("{method} {path}"),
            &r,
            *status,
            code,
        );
    }

    // The same oversized body streamed without a Content-Length.
    let r = w
        .srv
        .send_chunked("/api/v1/sync/push", dev, json_ct, huge_push.clone());
    judge(&mut failures, "chunked push", &r, 413, "body_too_large");
    // A bearer token far too long is simply unknown.
    let r = w.srv.get("/api/v1/me", Some(&"t".repeat(10_000)));
    judge(&mut failures, "long token", &r, 401, "unauthorized");

    // Ops with absurd values are rejected one by one, never a 5xx.
    let absurd: Vec<serde_json::Value> = vec![
        json!({ "id": { "replica": w.a.id, "seq": 0 }, "hlc": { "wall_ms": 1, "counter": 0 }, "visit": visit, "type": "note", "text": "seq zero" }),
        json!({ "id": { "replica": w.a.id, "seq": -1 }, "hlc": { "wall_ms": 1, "counter": 0 }, "visit": visit, "type": "note", "text": "negative" }),
        json!({ "id": { "replica": w.a.id, "seq": 900 }, "hlc": { "wall_ms": 1, "counter": 0 }, "visit": visit, "type": "teleport" }),
        json!({ "id": { "replica": "nope", "seq": 901 }, "hlc": { "wall_ms": 1, "counter": 0 }, "visit": visit, "type": "note", "text": "x" }),
        // Not an op, and long: the quarantine keeps a prefix of it (cut
        // inside a three-byte character here).
        json!({ "junk": "\u{20ac}".repeat(2_000) }),
        json!({ "id": { "replica": w.a.id, "seq": 902 }, "hlc": { "wall_ms": 1, "counter": 0 }, "visit": visit, "type": "set", "target": { "visit": "occupants" }, "value": { "int": 100_000 }, "pred": [] }),
    ];
    for item in absurd {
        let r = w
            .srv
            .post("/api/v1/sync/push", dev, &json!({ "ops": [item] }));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["rejected"], json!(1), "{}", r.text);
    }
    let q = w
        .srv
        .get("/api/v1/admin/quarantine?limit=10", admin)
        .expect(200);
    let junk = q
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["body"].as_str().unwrap().contains("junk"));
    let junk = junk.expect("the long item quarantined")["body"]
        .as_str()
        .unwrap();
    assert!(junk.len() <= 4_096 && junk.len() > 4_000, "{}", junk.len());

    assert!(failures.is_empty(), "bad input:\n{failures}");
    // Nothing stored changed.
    assert_eq!(
        counts(&w.srv),
        before,
        "ops, visits, users, operations, devices"
    );
    let (_, _, more) = w.srv.pull_page(&w.a2.token, 0, None);
    assert!(!more);
    assert_eq!(w.srv.pull_all(&w.a2.token), ops);
    // And the server still answers.
    w.srv.get("/readyz", None).expect(200);
}

fn judge(failures: &mut String, what: &str, r: &Resp, status: u16, code: &str) {
    let json = r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if r.status != status || r.code() != code || !r.body["message"].is_string() || !json {
        let _ = writeln!(
            failures,
            "{what}: got {} {:?} ({:?}), want {status} {code}",
            r.status,
            r.text.chars().take(300).collect::<String>(),
            r.header("content-type"),
        );
    }
}

#[test]
fn login_and_enrolment_are_rate_limited() {
    // The default limit: 10 attempts a minute per address.
    let srv = Server::start_with(|c| c.limits = Default::default());
    let limit = server::config::Limits::default().auth_per_minute as usize;
    for i in 0..=limit {
        let r = srv.post(
            "/api/v1/login",
            None,
            &json!({ "username": format!("user{i}"), "password": "wrong password" }),
        );
        if i < limit {
            r.expect_error(401, "bad_credentials");
        } else {
            r.expect_error(429, "rate_limited");
            let wait: u64 = r
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("seconds");
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    // The right password does not get through either, for now.
    srv.post(
        "/api/v1/login",
        None,
        &json!({ "username": "admin", "password": crate::harness::ADMIN_PASSWORD }),
    )
    .expect_error(429, "rate_limited");

    for i in 0..=limit {
        let r = srv.post(
            "/api/v1/enrol",
            None,
            &json!({ "code": format!("ACDE-FGHJ-{:04}", 3_000 + i) }),
        );
        if i < limit {
            r.expect_error(403, "bad_enrolment_code");
        } else {
            r.expect_error(429, "rate_limited");
            assert!(r.header("retry-after").is_some());
        }
    }
    // Rate-limited attempts were not even written to the audit trail.
    let failures: i64 = srv.sql(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM audit WHERE action IN ('login.failure', 'device.enrol_failure')",
            (),
            |r| r.get(0),
        )
    });
    assert_eq!(failures, 2 * limit as i64);
}
