//! Need-to-know at the record: which op each kind of phone may push (the
//! permission table, every action kind × officer, supervisor and admin
//! devices), what each phone receives (the scope rule, on raw pull pages),
//! people read only through audited routes with a reason, and device tokens
//! that expire.

use crate::harness::{now_ms, record_visit, Device, Resp, Server, STAFF_PASSWORD};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use sync_core::{Op, OperationId, Status, Target, Value as V, VisitField, VisitId};
use uuid::Uuid;

fn results(r: &Resp) -> Vec<Value> {
    r.body["results"].as_array().expect("results").clone()
}

/// Pulls everything the device may pull and applies it to its replica.
fn sync_down(srv: &Server, dev: &mut Device) -> Vec<Op> {
    let ops = srv.pull_all(&dev.token);
    dev.replica.apply(now_ms(), ops.clone());
    ops
}

/// A user of `role` in `operation` and `team`, with one enrolled device.
fn device_of(
    srv: &Server,
    admin: &str,
    name: &str,
    role: &str,
    operation: OperationId,
    team: Option<Uuid>,
) -> Device {
    let password = (role != "officer").then_some(STAFF_PASSWORD);
    let user = srv.create_user(admin, name, role, password);
    srv.add_to_team(admin, operation, user, team);
    let code = srv.issue_code(admin, user);
    srv.enrol(&code)
}

/// The result of pushing one op: `"accepted"` or the rejection code.
fn outcome(srv: &Server, dev: &Device, op: &Op) -> String {
    let r = srv.push(&dev.token, std::slice::from_ref(op)).expect(200);
    let res = &results(&r)[0];
    match res["result"].as_str() {
        Some("accepted") => "accepted".into(),
        Some("rejected") => res["code"].as_str().unwrap_or("").to_owned(),
        other => format!("{other:?}"),
    }
}

/// The visits whose ops a page of ops carries.
fn visits_of(ops: &[Op]) -> BTreeSet<VisitId> {
    ops.iter().map(|o| o.visit).collect()
}

struct Roles {
    srv: Server,
    admin: String,
    op: OperationId,
    other_op: OperationId,
    /// Officer, supervisor and admin devices, all in team Red of `op`.
    devices: Vec<(&'static str, Device)>,
    /// A second officer of team Red (records the visits the others act on).
    recorder: Device,
    /// An officer of team Blue.
    blue: Device,
}

fn roles() -> Roles {
    let srv = Server::start();
    let admin = srv.admin();
    let op = srv.create_operation(&admin, "Operation Matrix");
    let other_op = srv.create_operation(&admin, "Operation Elsewhere");
    let red = srv.create_team(&admin, op, "Red");
    let blue_team = srv.create_team(&admin, op, "Blue");
    let devices = vec![
        (
            "officer",
            device_of(&srv, &admin, "pc.red", "officer", op, Some(red)),
        ),
        (
            "supervisor",
            device_of(&srv, &admin, "ps.red", "supervisor", op, Some(red)),
        ),
        (
            "admin",
            device_of(&srv, &admin, "admin.red", "admin", op, Some(red)),
        ),
    ];
    let recorder = device_of(&srv, &admin, "pc.recorder", "officer", op, Some(red));
    let blue = device_of(&srv, &admin, "pc.blue", "officer", op, Some(blue_team));
    Roles {
        srv,
        admin,
        op,
        other_op,
        devices,
        recorder,
        blue,
    }
}

impl Roles {
    /// A fresh visit recorded by `who` (pushed), optionally submitted;
    /// every device of team Red then syncs it down.
    fn visit_by(&mut self, who: Option<usize>, submitted: bool) -> VisitId {
        let dev = match who {
            Some(i) => &mut self.devices[i].1,
            None => &mut self.recorder,
        };
        let (v, mut ops) = record_visit(dev, self.op);
        if submitted {
            ops.push(
                dev.replica
                    .set_status(now_ms(), v, Status::Submitted)
                    .unwrap()
                    .clone(),
            );
        }
        self.srv.push_ok(dev, &ops);
        for (_, d) in &mut self.devices {
            sync_down(&self.srv, d);
        }
        sync_down(&self.srv, &mut self.recorder);
        v
    }
}

/// Every action kind × officer, supervisor and admin phones, pushed over
/// HTTP: the permission table of `server/src/permissions.rs`.
#[test]
fn push_by_role_matrix() {
    let mut r = roles();
    let void = |d: &mut Device, v: VisitId| {
        d.replica
            .set(
                now_ms(),
                v,
                Target::Visit(VisitField::VoidReason),
                V::Text("Created in error".into()),
            )
            .unwrap()
            .clone()
    };
    let mut failures = Vec::new();
    for i in 0..r.devices.len() {
        let role = r.devices[i].0;
        let mut check = |what: &str, got: String, want: &str| {
            if got != want {
                failures.push(format!("{role} device, {what}: {got} (want {want})"));
            }
        };
        // Create, in its operation and in one it does not belong to.
        let dev = &mut r.devices[i].1;
        let (_, ops) = record_visit(dev, r.op);
        check("create", outcome(&r.srv, dev, &ops[0]), "accepted");
        r.srv.push_ok(dev, &ops[1..]);
        let (_, ops) = record_visit(dev, r.other_op);
        check(
            "create elsewhere",
            outcome(&r.srv, dev, &ops[0]),
            "forbidden_operation",
        );

        // A team-mate's draft: edit, submit, review, an unknown status, void.
        let v = r.visit_by(None, false);
        let dev = &mut r.devices[i].1;
        let edit = dev
            .replica
            .set(
                now_ms(),
                v,
                Target::Visit(VisitField::Postcode),
                V::Text("OX1 1AA".into()),
            )
            .unwrap()
            .clone();
        check("edit a team visit", outcome(&r.srv, dev, &edit), "accepted");
        let note = dev
            .replica
            .note(now_ms(), v, "Seen by a colleague.")
            .unwrap()
            .clone();
        check("note", outcome(&r.srv, dev, &note), "accepted");
        let review = dev
            .replica
            .set_status(now_ms(), v, Status::Reviewed)
            .unwrap()
            .clone();
        check("review", outcome(&r.srv, dev, &review), "forbidden_action");
        let other = dev
            .replica
            .set_status(now_ms(), v, Status::Unrecognised("archived".into()))
            .unwrap()
            .clone();
        check(
            "unknown status",
            outcome(&r.srv, dev, &other),
            "forbidden_action",
        );
        let staff = role != "officer";
        let op = void(dev, v);
        check(
            "void someone else's draft",
            outcome(&r.srv, dev, &op),
            if staff {
                "accepted"
            } else {
                "forbidden_action"
            },
        );
        let unvoid = dev.replica.unvoid(now_ms(), v).unwrap().clone();
        check(
            "un-void",
            outcome(&r.srv, dev, &unvoid),
            if staff {
                "accepted"
            } else {
                "forbidden_action"
            },
        );
        let submit = dev
            .replica
            .set_status(now_ms(), v, Status::Submitted)
            .unwrap()
            .clone();
        check("submit", outcome(&r.srv, dev, &submit), "accepted");
        // Last on this visit: the refused return stays in this phone's own
        // replica (its next submit would name a round the server never opened).
        let give_back = dev
            .replica
            .return_visit(now_ms(), v, "from a phone")
            .unwrap()
            .clone();
        check(
            "return",
            outcome(&r.srv, dev, &give_back),
            "forbidden_action",
        );

        // Its own visits: void while a draft, void once submitted.
        let own_draft = r.visit_by(Some(i), false);
        let own_submitted = r.visit_by(Some(i), true);
        let dev = &mut r.devices[i].1;
        let op = void(dev, own_draft);
        check("void its own draft", outcome(&r.srv, dev, &op), "accepted");
        let op = void(dev, own_submitted);
        check(
            "void its own submitted visit",
            outcome(&r.srv, dev, &op),
            if staff {
                "accepted"
            } else {
                "forbidden_action"
            },
        );

        // Another team's visit: never.
        let (bv, bops) = record_visit(&mut r.blue, r.op);
        r.srv.push_ok(&r.blue, &bops);
        let dev = &mut r.devices[i].1;
        dev.replica.apply(now_ms(), bops);
        let edit = dev.replica.note(now_ms(), bv, "Not mine.").unwrap().clone();
        check(
            "edit another team's visit",
            outcome(&r.srv, dev, &edit),
            "forbidden_visit",
        );
        let op = void(dev, bv);
        check(
            "void another team's visit",
            outcome(&r.srv, dev, &op),
            "forbidden_visit",
        );
    }
    assert!(
        failures.is_empty(),
        "permission table:\n{}",
        failures.join("\n")
    );

    // Every refused op sits in the quarantine under its code.
    let q = r
        .srv
        .get("/api/v1/admin/quarantine?limit=1000", Some(&r.admin))
        .expect(200);
    let codes: Vec<&str> = q
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    for code in ["forbidden_action", "forbidden_visit", "forbidden_operation"] {
        assert!(codes.contains(&code), "{code} not quarantined: {codes:?}");
    }
}

/// Regression: an officer's phone pushed `status: reviewed` and the visit
/// read `reviewed` with the officer's device as reviewer.
#[test]
fn an_officer_phone_cannot_mark_its_own_visit_reviewed() {
    let mut r = roles();
    let v = r.visit_by(Some(0), true);
    let dev = &mut r.devices[0].1;
    let review = dev
        .replica
        .set_status(now_ms(), v, Status::Reviewed)
        .unwrap()
        .clone();
    let note = dev
        .replica
        .note(now_ms(), v, "Pushed with the review.")
        .unwrap()
        .clone();
    // In one batch: the review is refused, the note behind it still lands.
    let res = r.srv.push(&dev.token, &[review, note]).expect(200);
    let res = results(&res);
    assert_eq!(res[0]["code"], json!("forbidden_action"), "{res:?}");
    assert_eq!(res[1]["result"], json!("accepted"), "{res:?}");
    let sup = r.srv.login("ps.red", STAFF_PASSWORD);
    let list = r
        .srv
        .get(&format!("/api/v1/visits?operation={}", r.op), Some(&sup))
        .expect(200);
    let row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(v.to_string()))
        .expect("listed")
        .clone();
    assert_eq!(row["status"], json!("submitted"));
    // The supervisor reviews on the review page instead.
    let done = r
        .srv
        .send(
            "POST",
            &format!("/api/v1/visits/{v}/review"),
            Some(&sup),
            None,
        )
        .expect(200);
    assert_eq!(done.body["status"], json!("reviewed"));
    assert!(
        done.body.get("persons").is_none(),
        "review answers no personal data"
    );
}

/// Three teams of two officers: each phone receives its team's visits and
/// its own, nothing else (asserted on the raw pull pages); a visit shared
/// later arrives with its whole history; an officer moved to another team
/// receives that team's visits whole; own ops never come back.
#[test]
fn phones_hold_their_team_s_visits_and_what_is_shared_with_them() {
    let srv = Server::start();
    let admin = srv.admin();
    let op = srv.create_operation(&admin, "Operation Scope");
    let teams: Vec<Uuid> = ["Red", "Blue", "Green"]
        .iter()
        .map(|n| srv.create_team(&admin, op, n))
        .collect();
    let mut phones: Vec<Device> = (0..6)
        .map(|i| srv.officer_in(&admin, &format!("pc.scope{i}"), op, Some(teams[i / 2])))
        .collect();
    let (_, sup) = srv.supervisor(&admin, "ps.scope", op);
    // Each officer records two visits, with a few more ops on the first.
    let mut by: Vec<Vec<(VisitId, Vec<Op>)>> = Vec::new();
    for p in &mut phones {
        let mut mine = Vec::new();
        for _ in 0..2 {
            let (v, ops) = record_visit(p, op);
            srv.push_ok(p, &ops);
            mine.push((v, ops));
        }
        by.push(mine);
    }
    let team_visits = |t: usize| -> BTreeSet<VisitId> {
        (2 * t..2 * t + 2)
            .flat_map(|i| by[i].iter().map(|(v, _)| *v))
            .collect()
    };
    // Raw pages, followed to the end.
    let pull = |p: &Device, after: i64| -> (Vec<Op>, i64) {
        let (mut all, mut after) = (Vec::new(), after);
        loop {
            let (ops, cursor, more) = srv.pull_page(&p.token, after, Some(7));
            all.extend(ops);
            after = cursor;
            if !more {
                return (all, after);
            }
        }
    };
    let mut cursors = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        let (ops, cursor) = pull(p, 0);
        cursors.push(cursor);
        // Its team-mate's visits (its own ops never come back), each op once.
        let mate = i ^ 1;
        let mates: BTreeSet<VisitId> = by[mate].iter().map(|(v, _)| *v).collect();
        assert_eq!(visits_of(&ops), mates, "phone {i}");
        assert!(
            ops.iter().all(|o| o.id.replica != p.id),
            "phone {i} got its own ops back"
        );
        let want: BTreeSet<_> = by[mate]
            .iter()
            .flat_map(|(_, o)| o.iter().map(|o| o.id))
            .collect();
        let got: Vec<_> = ops.iter().map(|o| o.id).collect();
        assert_eq!(got.len(), want.len(), "phone {i}: an op twice");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    }

    // Phone 0 (Red) edits a Blue visit it does not hold: refused.
    let (blue_visit, blue_ops) = by[2][0].clone();
    phones[0].replica.apply(now_ms(), blue_ops.clone());
    let poke = phones[0]
        .replica
        .note(now_ms(), blue_visit, "curious")
        .unwrap()
        .clone();
    assert_eq!(outcome(&srv, &phones[0], &poke), "forbidden_visit");

    // A supervisor shares that Blue visit with officer 4 (Green) after more
    // ops were written to it: phone 4 receives its whole history, once.
    let more = phones[2]
        .replica
        .note(now_ms(), blue_visit, "Later note.")
        .unwrap()
        .clone();
    srv.push_ok(&phones[2], std::slice::from_ref(&more));
    let share = |body: Value| {
        srv.post(
            &format!("/api/v1/visits/{blue_visit}/share"),
            Some(&sup),
            &body,
        )
    };
    share(json!({ "user_id": phones[4].user })).expect_error(422, "reason_required");
    share(json!({ "user_id": phones[4].user, "team_id": teams[0], "reason": "x" }))
        .expect_error(422, "invalid_field");
    share(json!({ "user_id": Uuid::new_v4(), "reason": "x" }))
        .expect_error(422, "not_in_operation");
    share(
        json!({ "user_id": phones[4].user, "reason": "Same premises as the Green crew's visit" }),
    )
    .expect(204);
    let (got, c4) = pull(&phones[4], cursors[4]);
    let want: BTreeSet<_> = blue_ops.iter().chain([&more]).map(|o| o.id).collect();
    assert_eq!(
        got.iter().map(|o| o.id).collect::<BTreeSet<_>>(),
        want,
        "phone 4 after the share"
    );
    assert_eq!(got.len(), want.len(), "an op came twice");
    cursors[4] = c4;
    // Its team-mate (phone 5) did not get it; asking again brings nothing new.
    let (none, _) = pull(&phones[5], cursors[5]);
    assert!(none.is_empty(), "phone 5 got {:?}", visits_of(&none));
    let (again, _) = pull(&phones[4], cursors[4]);
    assert!(again.is_empty());
    // A phone enrolled from scratch for officer 4 gets the same, once.
    let (fresh, _) = pull(&phones[4], 0);
    let mut want_fresh: BTreeSet<VisitId> = by[5].iter().map(|(v, _)| *v).collect();
    want_fresh.insert(blue_visit);
    assert_eq!(visits_of(&fresh), want_fresh);

    // Officer 1 moves from Red to Green: their phone receives Green's visits
    // whole on the next pull (and keeps its own visits).
    srv.add_to_team(&admin, op, phones[1].user, Some(teams[2]));
    let (got, _) = pull(&phones[1], cursors[1]);
    assert_eq!(visits_of(&got), team_visits(2), "after the move");
    let green_ops: usize = (4..6)
        .flat_map(|i| by[i].iter().map(|(_, o)| o.len()))
        .sum();
    assert_eq!(got.len(), green_ops, "Green's history, each op once");
    // New Red visits no longer reach them; new Green ones do.
    let (red_new, red_ops) = record_visit(&mut phones[0], op);
    srv.push_ok(&phones[0], &red_ops);
    let (green_new, green_ops) = record_visit(&mut phones[5], op);
    srv.push_ok(&phones[5], &green_ops);
    let (got, _) = pull(&phones[1], 0);
    let seen = visits_of(&got);
    assert!(seen.contains(&green_new) && !seen.contains(&red_new));
    // Their own Red visits stay theirs (they recorded them).
    let own = srv
        .get(&format!("/api/v1/visits/{}/audit", by[1][0].0), Some(&sup))
        .expect(200);
    assert!(own.text.contains("pc.scope1"), "{}", own.text);

    // Sharing with a team: every phone of the team gets it.
    let (red_visit, _) = by[0][1];
    let r = srv.post(
        &format!("/api/v1/visits/{red_visit}/share"),
        Some(&sup),
        &json!({ "team_id": teams[1], "reason": "Blue crew follow-up" }),
    );
    r.expect(204);
    for p in &phones[2..4] {
        assert!(visits_of(&pull(p, 0).0).contains(&red_visit));
    }
    assert!(!visits_of(&pull(&phones[5], 0).0).contains(&red_visit));

    // The visit's audit view names the share and who holds it now.
    let a = srv
        .get(&format!("/api/v1/visits/{blue_visit}/audit"), Some(&sup))
        .expect(200);
    assert!(a.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "visit.share"
            && e["reason"] == "Same premises as the Green crew's visit"));
    let holders: BTreeSet<&str> = a.body["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        holders,
        BTreeSet::from(["pc.scope2", "pc.scope3", "pc.scope4"])
    );
}

/// Regressions: sessions paged through every op of their operations, and
/// `GET /visits/{id}` without a reason answered with the persons.
#[test]
fn people_read_only_with_a_reason_and_every_read_is_audited() {
    let w = crate::harness::World::new();
    let mut a = w.a;
    let (v, ops) = record_visit(&mut a, w.op1);
    w.srv.push_ok(&a, &ops);

    for token in [&w.admin, &w.sup1] {
        w.srv
            .get("/api/v1/sync/pull?after=0", Some(token))
            .expect_error(403, "device_required");
        w.srv.push(token, &[]).expect_error(403, "device_required");
    }
    for q in ["", "?reason=", "?reason=%20%20"] {
        let r = w.srv.get(&format!("/api/v1/visits/{v}{q}"), Some(&w.sup1));
        r.expect_error(422, "reason_required");
        assert!(r.body.get("persons").is_none());
    }
    let audit_rows = |srv: &Server| srv.count("audit");
    let before = audit_rows(&w.srv);
    w.srv
        .get(
            &format!("/api/v1/visits/{v}?reason=Checking+the+NRM+referral"),
            Some(&w.sup1),
        )
        .expect(200);
    assert_eq!(audit_rows(&w.srv), before + 1);
    let trail = w
        .srv
        .get(&format!("/api/v1/visits/{v}/audit"), Some(&w.sup1))
        .expect(200);
    let read = trail.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "visit.read")
        .expect("the read is listed")
        .clone();
    assert_eq!(read["reason"], json!("Checking the NRM referral"));
    assert_eq!(read["who"], json!("sup.north"), "{read}");
    // Other operations' supervisors see neither the record nor its trail.
    w.srv
        .get(&format!("/api/v1/visits/{v}/audit"), Some(&w.sup2))
        .expect_error(404, "not_found");

    // A phone's pull is audited when it carries ops.
    let before = audit_rows(&w.srv);
    w.srv.pull_all(&w.a2.token);
    assert!(audit_rows(&w.srv) > before, "pull not audited");
}

/// Regression: a supervisor's enrolled phone read visit details and ran CSV
/// exports, with a token that never expired.
#[test]
fn device_tokens_only_sync_and_expire_without_sync() {
    let srv = Server::start_with(|c| c.device_token_ttl = chrono::Duration::days(2));
    let admin = srv.admin();
    let op = srv.create_operation(&admin, "Operation Tokens");
    let team = srv.create_team(&admin, op, "Red");
    let mut phone = device_of(&srv, &admin, "ps.phone", "supervisor", op, Some(team));
    let (v, ops) = record_visit(&mut phone, op);
    srv.push_ok(&phone, &ops);
    let t = &phone.token;
    for path in [
        format!("/api/v1/visits/{v}?reason=phone"),
        format!("/api/v1/visits/{v}/audit"),
        "/api/v1/visits".into(),
        format!("/api/v1/operations/{op}/export?from=2026-09-21&format=csv&reason=phone"),
        format!("/api/v1/operations/{op}/summary?from=2026-09-21"),
        "/api/v1/users".into(),
        "/api/v1/admin/audit".into(),
        "/api/v1/exports".into(),
    ] {
        srv.get(&path, Some(t))
            .expect_error(403, "session_required");
    }
    srv.get("/api/v1/me", Some(t)).expect(200);

    // A day without sync: still fine, and the pull renews it.
    let set_seen = |days_ago: i64| {
        let at = (chrono::Utc::now() - chrono::Duration::days(days_ago))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        srv.sql(|c| {
            c.execute(
                "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
                server::db::sql::args![at, phone.id.to_string()],
            )
        });
    };
    set_seen(1);
    srv.get("/api/v1/sync/pull?after=0", Some(t)).expect(200);
    // Three days without sync: expired, whatever it asks.
    set_seen(3);
    for path in ["/api/v1/me", "/api/v1/sync/pull", "/api/v1/operations"] {
        srv.get(path, Some(t)).expect_error(401, "device_expired");
    }
    srv.push(t, &[]).expect_error(401, "device_expired");
}
