//! The role matrix: every registered endpoint × every kind of caller, and no
//! response that shows a caller a record they may not see.

use crate::harness::{now_ms, record_visit, Resp, World};
use serde_json::{json, Value};
use std::fmt::Write;
use sync_core::{Op, Status, VisitId};

/// The kinds of caller, in the order of the table's columns.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    /// Admin, password session.
    Admin,
    /// Supervisor of operation 1, password session.
    Sup,
    /// Officer of operation 1, device token.
    Officer,
    /// Officer of operation 2, device token.
    OtherOfficer,
    /// Supervisor of operation 2, password session.
    OtherSup,
    /// Supervisor of operation 1, their phone's device token.
    SupPhone,
    /// An admin who is a member of operation 1, their phone's device token.
    AdminPhone,
    /// No token at all.
    Anon,
    /// Officer of operation 1 whose device was revoked.
    Revoked,
}

const WHO: [Who; 9] = [
    Who::Admin,
    Who::Sup,
    Who::Officer,
    Who::OtherOfficer,
    Who::OtherSup,
    Who::SupPhone,
    Who::AdminPhone,
    Who::Anon,
    Who::Revoked,
];

impl Who {
    /// May this caller see operation 1's records?
    fn sees_operation_1(self) -> bool {
        matches!(
            self,
            Who::Admin | Who::Sup | Who::Officer | Who::SupPhone | Who::AdminPhone
        )
    }
}

/// A note only operation 1's visit holds.
const SECRET_NOTE: &str = "Op-1 only: the manager keeps the passports in the office safe.";

struct Fixture {
    w: World,
    revoked: String,
    sup_phone: String,
    admin_phone: String,
    /// Operation 1's visit, submitted.
    v1: VisitId,
    /// Strings that only callers who see operation 1 may ever receive.
    secrets: Vec<String>,
}

fn fixture() -> Fixture {
    let mut w = World::new();
    let (v1, mut ops) = record_visit(&mut w.a, w.op1);
    ops.push(w.a.replica.note(now_ms(), v1, SECRET_NOTE).unwrap().clone());
    ops.push(
        w.a.replica
            .set_status(now_ms(), v1, Status::Submitted)
            .unwrap()
            .clone(),
    );
    w.srv.push_ok(&w.a, &ops);
    let (_, ops2) = record_visit(&mut w.b, w.op2);
    w.srv.push_ok(&w.b, &ops2);

    // A third officer of operation 1 whose phone is then revoked.
    let gone = w.srv.officer(&w.admin, "pc.lost", w.op1);
    w.srv
        .send(
            "POST",
            &format!("/api/v1/devices/{}/revoke", gone.id),
            Some(&w.admin),
            None,
        )
        .expect(204);

    // Phones of a supervisor and of an admin, both members of operation 1.
    let staff_phone = |name: &str, role: &str| {
        let user = w
            .srv
            .create_user(&w.admin, name, role, Some(crate::harness::STAFF_PASSWORD));
        w.srv.add_member(&w.admin, w.op1, user);
        w.srv.enrol(&w.srv.issue_code(&w.admin, user)).token
    };
    let sup_phone = staff_phone("ps.phone", "supervisor");
    let admin_phone = staff_phone("admin.phone", "admin");

    let secrets = vec![
        v1.to_string(),
        w.op1.to_string(),
        w.a.id.to_string(),
        SECRET_NOTE.into(),
        "Operation Aidant North".into(),
    ];
    Fixture {
        revoked: gone.token,
        sup_phone,
        admin_phone,
        v1,
        secrets,
        w,
    }
}

impl Fixture {
    fn token(&self, who: Who) -> Option<&str> {
        let w = &self.w;
        match who {
            Who::Admin => Some(&w.admin),
            Who::Sup => Some(&w.sup1),
            Who::Officer => Some(&w.a.token),
            Who::OtherOfficer => Some(&w.b.token),
            Who::OtherSup => Some(&w.sup2),
            Who::SupPhone => Some(&self.sup_phone),
            Who::AdminPhone => Some(&self.admin_phone),
            Who::Anon => None,
            Who::Revoked => Some(&self.revoked),
        }
    }

    /// One request as `who`; records any mismatch in `failures`.
    fn check(
        &self,
        failures: &mut String,
        who: Who,
        method: &str,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        let r = self.w.srv.send(
            method,
            path,
            self.token(who),
            bytes.as_deref().map(|b| ("application/json", b)),
        );
        let mut fail = |what: String| {
            let _ = writeln!(failures, "{method} {path} as {who:?}: {what}");
        };
        if r.status != want {
            fail(format!("status {} (want {want}): {}", r.status, r.text));
        }
        if r.status >= 400 {
            let code = r.code();
            if code.is_empty() || !r.body["message"].is_string() {
                fail(format!("error without code and message: {}", r.text));
            }
            // Login answers about the password, not the bearer token.
            let want_code = match (r.status, who) {
                _ if path.ends_with("/login") => None,
                (401, Who::Revoked) => Some("device_revoked"),
                (401, Who::Anon) => Some("unauthorized"),
                _ => None,
            };
            if want_code.is_some_and(|c| c != code) {
                fail(format!("code {code} (want {want_code:?})"));
            }
        }
        if !who.sees_operation_1() {
            for s in &self.secrets {
                if r.text.contains(s.as_str()) {
                    fail(format!("response shows {s:?}: {}", r.text));
                }
            }
        }
        r
    }
}

#[test]
fn role_matrix() {
    let f = fixture();
    let w = &f.w;
    let (op1, v1) = (w.op1, f.v1);
    let spare = w.srv.officer(&w.admin, "pc.spare", op1);
    let officer_user = w.a.user;
    let bad_login = json!({ "username": "admin", "password": "not the password" });
    let bad_setup = json!({
        "code": "ACDE-FGHJ-KMNP",
        "username": "intruder",
        "display_name": "Intruder",
        "password": "a long enough password",
    });
    let bad_code = json!({ "code": "ACDE-FGHJ-KMNP" });
    let new_op = json!({
        "name": "Operation New",
        "force_area": "Kent",
        "starts_on": "2026-10-01",
        "ends_on": "2026-10-02",
    });
    let new_team = json!({ "name": "Team Red" });
    let member = json!({ "user_id": officer_user });
    let new_user = json!({ "username": "pc.new", "display_name": "PC New", "role": "officer" });
    let no_ops = json!({ "ops": [] });
    // The postcode it already holds alone: answered with the visit unchanged.
    let give_back = json!({ "reason": "matrix: add the postcode" });
    let share = json!({ "user_id": officer_user, "reason": "matrix" });
    let recovery = json!({ "reason": "officer locked out" });
    let retention = json!({ "retention_days": 10 });
    let resolve = json!({ "reason": "matrix", "target": { "visit": "postcode" }, "value": { "text": "OX4 1AA" } });

    // Columns: Admin, Sup, Officer, OtherOfficer, OtherSup, SupPhone,
    // AdminPhone, Anon, Revoked. Phones (device tokens) only sync and say
    // who they are; people's sessions never sync.
    #[rustfmt::skip]
    let table: Vec<(&str, String, Option<&Value>, [u16; 9])> = vec![
        ("GET", "/healthz".into(), None, [200, 200, 200, 200, 200, 200, 200, 200, 200]),
        ("GET", "/readyz".into(), None, [200, 200, 200, 200, 200, 200, 200, 200, 200]),
        ("GET", "/metrics".into(), None, [200, 200, 200, 200, 200, 200, 200, 200, 200]),
        ("GET", "/api/v1/openapi.json".into(), None, [200, 200, 200, 200, 200, 200, 200, 200, 200]),
        ("POST", "/api/v1/setup".into(), Some(&bad_setup), [403, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("POST", "/api/v1/login".into(), Some(&bad_login), [401, 401, 401, 401, 401, 401, 401, 401, 401]),
        ("POST", "/api/v1/enrol".into(), Some(&bad_code), [403, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("GET", "/api/v1/me".into(), None, [200, 200, 200, 200, 200, 200, 200, 401, 401]),
        ("GET", "/api/v1/operations".into(), None, [200, 200, 200, 200, 200, 200, 200, 401, 401]),
        ("POST", "/api/v1/operations".into(), Some(&new_op), [201, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("PATCH", format!("/api/v1/operations/{op1}"), Some(&retention), [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/operations/{op1}/teams"), Some(&new_team), [201, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/operations/{op1}/members"), Some(&member), [204, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("GET", "/api/v1/users".into(), None, [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", "/api/v1/users".into(), Some(&new_user), [201, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/users/{officer_user}/enrolment-codes"), None, [201, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("GET", "/api/v1/devices".into(), None, [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/devices/{}/revoke", spare.id), None, [204, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/devices/{}/recovery-code", spare.id), Some(&recovery), [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("POST", "/api/v1/sync/push".into(), Some(&no_ops), [403, 403, 200, 200, 403, 200, 200, 401, 401]),
        ("GET", "/api/v1/sync/pull".into(), None, [403, 403, 200, 200, 403, 200, 200, 401, 401]),
        ("GET", "/api/v1/sync/snapshot".into(), None, [403, 403, 200, 200, 403, 200, 200, 401, 401]),
        ("GET", "/api/v1/visits".into(), None, [200, 200, 403, 403, 200, 403, 403, 401, 401]),
        ("GET", format!("/api/v1/visits/{v1}?reason=matrix"), None, [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/visits/{v1}/review"), None, [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        // After the review: returning a reviewed visit is allowed, then unchanged.
        ("POST", format!("/api/v1/visits/{v1}/return"), Some(&give_back), [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/visits/{v1}/share"), Some(&share), [204, 204, 403, 403, 404, 403, 403, 401, 401]),
        ("GET", format!("/api/v1/visits/{v1}/audit"), None, [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("POST", format!("/api/v1/visits/{v1}/resolve"), Some(&resolve), [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("GET", format!("/api/v1/operations/{op1}/summary?from=2026-09-21"), None, [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("GET", format!("/api/v1/operations/{op1}/export?from=2026-09-21&format=csv&reason=matrix"), None, [200, 200, 403, 403, 404, 403, 403, 401, 401]),
        ("GET", "/api/v1/exports".into(), None, [200, 200, 403, 403, 200, 403, 403, 401, 401]),
        ("GET", "/api/v1/admin/quarantine".into(), None, [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("GET", "/api/v1/admin/audit".into(), None, [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        ("GET", "/api/v1/admin/audit/verify".into(), None, [200, 403, 403, 403, 403, 403, 403, 401, 401]),
        // Last: it gives each phone that asks a fresh replica id.
        ("POST", "/api/v1/sync/rekey".into(), None, [403, 403, 200, 200, 403, 200, 200, 401, 401]),
    ];

    // Every route registered in api/mod.rs is in the table.
    let routes = include_str!("../../src/api/mod.rs");
    for line in routes.lines() {
        if let Some(rest) = line.split("resource(\"").nth(1) {
            let pattern = rest.split('"').next().unwrap();
            let prefix = if pattern.starts_with("/healthz")
                || pattern.starts_with("/readyz")
                || pattern.starts_with("/metrics")
            {
                ""
            } else {
                "/api/v1"
            };
            let re_path = format!("{prefix}{pattern}");
            let covered = table.iter().any(|(_, path, _, _)| {
                let path = path.split('?').next().unwrap();
                let (a, b): (Vec<_>, Vec<_>) =
                    (re_path.split('/').collect(), path.split('/').collect());
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || x.starts_with('{'))
            });
            assert!(covered, "route {re_path} is missing from the role matrix");
        }
    }

    let mut failures = String::new();
    for (method, path, body, want) in &table {
        for (who, want) in WHO.iter().zip(want) {
            f.check(&mut failures, *who, method, path, *body, *want);
        }
    }
    assert!(failures.is_empty(), "role matrix:\n{failures}");
}

#[test]
fn callers_never_see_records_of_other_operations() {
    let f = fixture();
    let w = &f.w;
    let mut failures = String::new();
    let v1 = f.v1;

    // A supervisor of operation 2 asking for operation 1's visit: 404, no fields.
    let r = f.check(
        &mut failures,
        Who::OtherSup,
        "GET",
        &format!("/api/v1/visits/{v1}?reason=curious"),
        None,
        404,
    );
    assert_eq!(r.code(), "not_found");
    assert!(r.body.get("fields").is_none() && r.body.get("persons").is_none());
    assert!(!r.text.contains("OX4 1AA") && !r.text.contains(SECRET_NOTE));

    // The same 404 as for a visit that does not exist at all.
    let missing = f.check(
        &mut failures,
        Who::OtherSup,
        "GET",
        &format!("/api/v1/visits/{}?reason=curious", uuid::Uuid::new_v4()),
        None,
        404,
    );
    assert_eq!(missing.body, r.body);

    // Their visit list and operations hold only operation 2.
    let list = f.check(
        &mut failures,
        Who::OtherSup,
        "GET",
        "/api/v1/visits",
        None,
        200,
    );
    let ops: Vec<&Value> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["operation_id"])
        .collect();
    assert_eq!(ops, vec![&json!(w.op2.to_string())]);
    let filtered = f.check(
        &mut failures,
        Who::OtherSup,
        "GET",
        &format!("/api/v1/visits?operation={}", w.op1),
        None,
        200,
    );
    assert_eq!(filtered.body, json!([]));
    for who in [Who::OtherSup, Who::OtherOfficer] {
        let r = f.check(&mut failures, who, "GET", "/api/v1/operations", None, 200);
        assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
        assert_eq!(r.body[0]["id"], json!(w.op2.to_string()));
        let me = f.check(&mut failures, who, "GET", "/api/v1/me", None, 200);
        assert_eq!(me.body["operations"], json!([w.op2.to_string()]));
    }

    // Operation 2's officer pulls nothing of operation 1 (and never its own
    // ops back: here, nothing at all).
    let r = f.check(
        &mut failures,
        Who::OtherOfficer,
        "GET",
        "/api/v1/sync/pull?after=0&limit=1000",
        None,
        200,
    );
    let pulled: Vec<Op> = serde_json::from_value(r.body["ops"].clone()).unwrap();
    assert!(pulled.is_empty(), "{pulled:?}");
    // Nor do the phones of operation 1's supervisor and admin: they hold no
    // visit (not theirs, no team, nothing shared).
    for who in [Who::SupPhone, Who::AdminPhone] {
        let r = f.check(&mut failures, who, "GET", "/api/v1/sync/pull", None, 200);
        assert_eq!(r.body["ops"], json!([]), "{who:?}");
    }

    // Operation 1's other officer, in the same team, gets operation 1's visit.
    let mate = w.srv.pull_all(&w.a2.token);
    assert!(mate.iter().any(|o| o.visit == v1));
    assert!(mate.iter().all(|o| o.id.replica != w.b.id));

    // A revoked device is told so, whatever it asks for.
    for path in ["/api/v1/me", "/api/v1/sync/pull", "/api/v1/operations"] {
        let r = f.check(&mut failures, Who::Revoked, "GET", path, None, 401);
        assert_eq!(r.code(), "device_revoked");
    }
    let r = w.srv.push(&f.revoked, &[]);
    r.expect_error(401, "device_revoked");
    // An unknown token is plainly unauthorised.
    w.srv
        .get("/api/v1/me", Some("0123456789abcdef"))
        .expect_error(401, "unauthorized");
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn enrolment_codes_work_once() {
    let srv = crate::harness::Server::start();
    let admin = srv.admin();
    let op = srv.create_operation(&admin, "Operation Once");
    let user = srv.create_user(&admin, "pc.once", "officer", None);
    srv.add_member(&admin, op, user);
    let code = srv.issue_code(&admin, user);
    // Typed in lower case with spaces, it still works.
    let typed = code.to_lowercase().replace('-', " ");
    let dev = srv.enrol(&typed);
    assert_eq!(dev.user, user);
    let again = srv.post("/api/v1/enrol", None, &json!({ "code": code }));
    again.expect_error(403, "bad_enrolment_code");
    assert!(again.body["message"]
        .as_str()
        .unwrap()
        .contains("already used"));
    let me = srv.get("/api/v1/me", Some(&dev.token)).expect(200);
    assert_eq!(me.body["device_id"], json!(dev.id.to_string()));
    assert_eq!(me.body["operations"], json!([op.to_string()]));
    // The device list shows it, with no token or hash.
    let devices = srv.get("/api/v1/devices", Some(&admin)).expect(200);
    assert!(devices.text.contains(&dev.id.to_string()));
    assert!(!devices.text.contains(&dev.token) && !devices.text.contains("token"));
    let users = srv.get("/api/v1/users", Some(&admin)).expect(200);
    assert!(!users.text.contains("password") && !users.text.contains("argon2"));
}
