//! Who did what, when and why, read back through the API as one chain; then
//! copies of the stopped server's file with a row edited, deleted, appended
//! or replaced behind its back, each found by the library and the command.

use super::{broken, copy_of, forge_row, key_of, last_seq, verify_bin, verify_lib};
use crate::harness::{now_ms, record_visit, Server, World};
use serde_json::{json, Value};
use server::db::audit::{self, Verdict};
use sync_core::Status;

#[test]
fn audit_lists_who_did_what_when_and_why_and_detects_tampering() {
    let started = server::now_rfc3339();
    let mut w = World::new();
    let admin_id = w.srv.get("/api/v1/me", Some(&w.admin)).expect(200).body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sup_id = w.srv.get("/api/v1/me", Some(&w.sup1)).expect(200).body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A failed login, an enrolment, a revocation, a push, a read with a
    // reason, a review.
    w.srv
        .post(
            "/api/v1/login",
            None,
            &json!({ "username": "sup.north", "password": "guessing wrongly" }),
        )
        .expect_error(401, "bad_credentials");
    let lost = w.srv.officer(&w.admin, "pc.lost", w.op1);
    w.srv
        .send(
            "POST",
            &format!("/api/v1/devices/{}/revoke", lost.id),
            Some(&w.admin),
            None,
        )
        .expect(204);
    let (visit, mut ops) = record_visit(&mut w.a, w.op1);
    ops.push(
        w.a.replica
            .set_status(now_ms(), visit, Status::Submitted)
            .unwrap()
            .clone(),
    );
    w.srv.push_ok(&w.a, &ops);
    let reason = "Safeguarding referral follow-up, ref 4471";
    w.srv
        .get(
            &format!(
                "/api/v1/visits/{visit}?reason={}",
                reason.replace(' ', "%20").replace(',', "%2C")
            ),
            Some(&w.sup1),
        )
        .expect(200);
    w.srv
        .send(
            "POST",
            &format!("/api/v1/visits/{visit}/review"),
            Some(&w.sup1),
            None,
        )
        .expect(200);

    let rows = w
        .srv
        .get("/api/v1/admin/audit?limit=1000", Some(&w.admin))
        .expect(200)
        .body;
    let rows = rows.as_array().expect("rows").clone();
    let finished = server::now_rfc3339();
    // Newest first, one chain: each row's prev_hash is the next row's hash.
    for pair in rows.windows(2) {
        assert_eq!(
            pair[0]["seq"].as_i64(),
            pair[1]["seq"].as_i64().map(|s| s + 1)
        );
        assert_eq!(pair[0]["prev_hash"], pair[1]["hash"]);
    }
    for r in &rows {
        let at = r["at"].as_str().unwrap();
        assert!(
            *at >= *started.as_str() && *at <= *finished.as_str(),
            "{at} outside {started}..{finished}"
        );
    }
    let find =
        |action: &str| -> Vec<&Value> { rows.iter().filter(|r| r["action"] == action).collect() };
    let one = |action: &str| -> &Value {
        let found = find(action);
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        found[0]
    };

    let failure = one("login.failure");
    assert_eq!(failure["actor"], json!("ip:127.0.0.1"));
    assert_eq!(failure["subject"], json!("username:sup.north"));

    let enrols = find("device.enrol");
    assert_eq!(enrols.len(), 4, "three officers and the lost phone");
    let lost_enrol = enrols
        .iter()
        .find(|r| r["subject"] == json!(format!("device:{}", lost.id)))
        .expect("the lost phone's enrolment");
    assert_eq!(
        lost_enrol["actor"],
        json!(format!("user:{} device:{}", lost.user, lost.id))
    );

    let revoke = one("device.revoke");
    assert_eq!(revoke["actor"], json!(format!("user:{admin_id}")));
    assert_eq!(revoke["subject"], json!(format!("device:{}", lost.id)));

    let push = one("sync.push");
    assert_eq!(
        push["actor"],
        json!(format!("user:{} device:{}", w.a.user, w.a.id))
    );
    let detail: Value = serde_json::from_str(push["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["accepted"], json!(ops.len()));

    let read = one("visit.read");
    assert_eq!(read["actor"], json!(format!("user:{sup_id}")));
    assert_eq!(read["subject"], json!(format!("visit:{visit}")));
    assert_eq!(read["reason"], json!(reason));

    let review = one("visit.review");
    assert_eq!(review["actor"], json!(format!("user:{sup_id}")));
    assert_eq!(review["subject"], json!(format!("visit:{visit}")));
    assert!(!find("login.success").is_empty());

    // Reading the trail is itself audited.
    let again = w
        .srv
        .get("/api/v1/admin/audit?limit=1", Some(&w.admin))
        .expect(200);
    assert_eq!(again.body[0]["action"], json!("audit.read"));

    let v = w
        .srv
        .get("/api/v1/admin/audit/verify", Some(&w.admin))
        .expect(200);
    assert_eq!(v.body["result"], json!("ok"), "{}", v.text);
    let total = v.body["rows"].as_i64().unwrap();
    assert!(total > rows.len() as i64);

    // Stop the server; tamper with copies of its file.
    let srv: Server = w.srv;
    let dir = srv.stop();
    let live = dir.path().join("aidant.sqlite3");
    let pristine = dir.path().join("pristine.sqlite3");
    rusqlite::Connection::open(&live)
        .unwrap()
        .execute("VACUUM INTO ?1", [pristine.to_str().unwrap()])
        .expect("snapshot");
    assert_eq!(verify_lib(&pristine), Verdict::Ok { rows: total });
    let (ok, out, _) = verify_bin(&pristine);
    assert!(ok, "{out}");
    assert_eq!(out, json!({ "result": "ok", "rows": total }));
    let middle = total / 2;

    // (a) One row's detail edited.
    let (path, c) = copy_of(&pristine, dir.path(), "edited.sqlite3");
    c.execute(
        "UPDATE audit SET detail = '{\"rows\":0}' WHERE seq = ?1",
        [middle],
    )
    .unwrap();
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (middle, "edited"));
    let (ok, out, err) = verify_bin(&path);
    assert!(!ok);
    assert_eq!(
        (&out["problem"], &out["seq"]),
        (&json!("edited"), &json!(middle))
    );
    assert!(err.contains("audit chain broken"), "{err}");

    // (a') The reason of the visit read changed: also an edit.
    let (path, c) = copy_of(&pristine, dir.path(), "reason.sqlite3");
    let read_seq = read["seq"].as_i64().unwrap();
    c.execute(
        "UPDATE audit SET reason = 'routine' WHERE seq = ?1",
        [read_seq],
    )
    .unwrap();
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (read_seq, "edited"));

    // (b) A middle row deleted.
    let (path, c) = copy_of(&pristine, dir.path(), "deleted.sqlite3");
    c.execute("DELETE FROM audit WHERE seq = ?1", [middle])
        .unwrap();
    drop(c);
    let (ok, out, err) = verify_bin(&path);
    assert!(!ok, "{out}");
    assert_eq!(
        (&out["problem"], &out["seq"]),
        (&json!("deleted"), &json!(middle))
    );
    assert!(err.contains("audit chain broken"), "{err}");
    assert_eq!(broken(&verify_lib(&path)), (middle, "deleted"));

    // (c) The last row deleted, audit_head left as it was.
    let (path, c) = copy_of(&pristine, dir.path(), "truncated.sqlite3");
    c.execute("DELETE FROM audit WHERE seq = ?1", [total])
        .unwrap();
    assert_eq!(last_seq(&c), total - 1);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (total, "deleted"));

    // (d) A well-formed row appended behind the server's back: chained and
    // hashed like a real one, but audit_head not moved.
    let (path, c) = copy_of(&pristine, dir.path(), "inserted.sqlite3");
    // Forged by someone who even holds the key (without it, see below).
    let key = key_of(dir.path());
    let head: (i64, String) = c
        .query_row("SELECT seq, hash FROM audit_head", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    audit::append(
        &server::db::Sql::lite(&c, Some(&key)),
        &server::now_rfc3339(),
        &audit::Entry {
            actor: &format!("user:{sup_id}"),
            action: "visit.read",
            subject: &format!("visit:{visit}"),
            reason: "a read that never happened",
            detail: "{}",
        },
    )
    .unwrap();
    c.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2",
        rusqlite::params![head.0, head.1],
    )
    .unwrap();
    assert_eq!(last_seq(&c), total + 1);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (total + 1, "inserted"));
    let (ok, out, _) = verify_bin(&path);
    assert!(!ok);
    assert_eq!(
        (&out["problem"], &out["seq"]),
        (&json!("inserted"), &json!(total + 1))
    );

    // (d') A forged row put in place of a real one (its own hash right, its
    // link to the previous row wrong).
    let (path, c) = copy_of(&pristine, dir.path(), "replaced.sqlite3");
    let key = key_of(dir.path());
    c.execute("DELETE FROM audit WHERE seq >= ?1", [middle])
        .unwrap();
    // The head is rewritten so the forged row links to a hash no row has.
    c.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2",
        rusqlite::params![middle - 1, "f".repeat(64)],
    )
    .unwrap();
    forge_row(&c, &key);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (middle, "inserted"));
}
