//! The audit trail: who did what, when and why, through the API; then the
//! keyed hash chain against a file edited behind the server's back, checked
//! with the library, with `aidant audit verify` (with and without an anchor
//! from `aidant audit anchor`) and over HTTP: rewrites by someone holding the
//! file but not the key, truncation below an anchor, a trail written before
//! the chain was keyed, the key file itself, a wrong key.

use crate::harness::{now_ms, record_visit, Server, World};
use serde_json::{json, Value};
use server::db::audit::{self, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;
use sync_core::Status;

/// The verdict of the library's verifier on a file.
fn verify_lib(path: &Path) -> Verdict {
    let db = server::db::Db::open(path).expect("open");
    db.read_blocking(audit::verify).expect("verify")
}

/// `aidant audit verify --db PATH`: (success, stdout JSON, stderr).
fn verify_bin(path: &Path) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(["audit", "verify", "--db"])
        .arg(path)
        .env_remove("AIDANT_DB")
        .env_remove("AIDANT_AUDIT_KEY_FILE")
        .env_remove("AIDANT_ADMIN_PASSWORD")
        .output()
        .expect("run aidant");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn broken(v: &Verdict) -> (i64, &str) {
    match v {
        Verdict::Broken { seq, problem, .. } => (*seq, problem.as_str()),
        Verdict::Ok { rows } => panic!("chain of {rows} rows reported intact"),
    }
}

/// A copy of the (stopped) database, all in one file.
fn copy_of(pristine: &Path, dir: &Path, name: &str) -> (PathBuf, rusqlite::Connection) {
    let path = dir.join(name);
    std::fs::copy(pristine, &path).expect("copy");
    let c = rusqlite::Connection::open(&path).expect("open copy");
    (path, c)
}

/// The key file a server or `Db::open` created in `dir`.
fn key_of(dir: &Path) -> audit::AuditKey {
    audit::AuditKey::load(&dir.join("audit.key")).expect("audit.key next to the database")
}

fn last_seq(c: &rusqlite::Connection) -> i64 {
    c.query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .unwrap()
}

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
    audit::append(
        &server::db::Sql::lite(&c, Some(&key)),
        &server::now_rfc3339(),
        &audit::Entry {
            actor: "system",
            action: "forged",
            subject: "-",
            reason: "",
            detail: "{}",
        },
    )
    .unwrap();
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (middle, "inserted"));
}

// ---- The keyed chain: rewrites, anchors, migration, the key file ----------

/// `aidant ARGS` with no database or key taken from the environment:
/// (success, stdout, stderr).
fn aidant(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(args)
        .env_remove("AIDANT_DB")
        .env_remove("AIDANT_AUDIT_KEY_FILE")
        .env_remove("AIDANT_ADMIN_PASSWORD")
        .output()
        .expect("run aidant");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `aidant audit anchor --db PATH`: the one-line anchor, and its JSON form.
fn anchor_bin(path: &Path) -> (String, Value) {
    let (ok, out, err) = aidant(&["audit", "anchor", "--db", s(path)]);
    assert!(ok, "{out}{err}");
    let mut lines = out.lines();
    let line = lines.next().expect("anchor line").to_owned();
    let json = serde_json::from_str(lines.next().expect("JSON line")).expect("JSON anchor");
    (line, json)
}

/// `aidant audit verify --db PATH ARGS…`: (success, stdout JSON, stderr).
fn verify_bin_with(path: &Path, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["audit", "verify", "--db", s(path)];
    all.extend(args);
    let (ok, out, err) = aidant(&all);
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (ok, json, err)
}

fn verify_anchored(path: &Path, anchor: &audit::Anchor) -> Verdict {
    let db = server::db::Db::open(path).expect("open");
    db.read_blocking(|c| audit::verify_with(c, Some(anchor)))
        .expect("verify")
}

/// The library's verdict without opening for writing (which would refuse a
/// database whose marker is gone or whose key does not match).
fn verify_only(path: &Path, key: &Path) -> Verdict {
    let db = server::db::Db::open_to_verify(path, key).expect("open to verify");
    db.read_blocking(audit::verify).expect("verify")
}

/// Appends `n` rows through the library (keyed, like the server).
fn append_rows(db: &server::db::Db, n: usize, what: &str) {
    for i in 0..n {
        db.write_blocking(|tx| {
            audit::append(
                tx,
                &server::now_rfc3339(),
                &audit::Entry {
                    actor: "user:00000000-0000-4000-8000-000000000001",
                    action: "visit.read",
                    subject: &format!("visit:{what}-{i}"),
                    reason: "safeguarding follow-up",
                    detail: "{}",
                },
            )
        })
        .expect("append");
    }
}

/// A database in `dir` whose trail has `n` rows, and a single-file snapshot
/// of it (`pristine.sqlite3`) to copy and tamper with.
fn trail(dir: &Path, n: usize) -> PathBuf {
    let live = dir.join("aidant.sqlite3");
    let db = server::db::Db::open(&live).expect("open");
    append_rows(&db, n, "early");
    drop(db);
    snapshot(&live, &dir.join("pristine.sqlite3"))
}

fn snapshot(live: &Path, to: &Path) -> PathBuf {
    rusqlite::Connection::open(live)
        .unwrap()
        .execute("VACUUM INTO ?1", [s(to)])
        .expect("snapshot");
    to.to_owned()
}

/// SHA-256 over the length-prefixed fields: the unkeyed hash the server wrote
/// before the chain was keyed (and all an attacker without the key can do).
fn plain_hash(prev: &str, seq: i64, fields: &[String; 6]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let seq = seq.to_string();
    for part in [prev, &seq]
        .into_iter()
        .chain(fields.iter().map(String::as_str))
    {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Rewrites rows `from..=to` as the unkeyed code would: each hash recomputed
/// with plain SHA-256 and chained; `audit_head` moved when the last row is.
fn rechain_plain(c: &rusqlite::Connection, from: i64, to: i64) {
    let mut prev: String = if from == 1 {
        audit::GENESIS.to_owned()
    } else {
        c.query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap()
    };
    for seq in from..=to {
        let fields: [String; 6] = c
            .query_row(
                "SELECT at, actor, action, subject, reason, detail FROM audit WHERE seq = ?1",
                [seq],
                |r| {
                    Ok([
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ])
                },
            )
            .unwrap();
        let h = plain_hash(&prev, seq, &fields);
        c.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, h, seq],
        )
        .unwrap();
        prev = h;
    }
    if to == last_seq(c) {
        c.execute(
            "UPDATE audit_head SET seq = ?1, hash = ?2",
            rusqlite::params![to, prev],
        )
        .unwrap();
    }
}

fn marker(c: &rusqlite::Connection) -> Option<String> {
    use rusqlite::OptionalExtension;
    c.query_row(
        "SELECT value FROM meta WHERE key = 'audit_keyed_from'",
        [],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

#[test]
fn an_edited_row_with_the_chain_recomputed_by_plain_sha256_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = trail(dir.path(), 12);
    assert_eq!(verify_lib(&pristine), Verdict::Ok { rows: 12 });
    // A fresh database is keyed from its first row.
    let c = rusqlite::Connection::open(&pristine).unwrap();
    assert!(
        marker(&c).is_some_and(|m| m.starts_with(&format!("1:{}:", audit::GENESIS))),
        "{:?}",
        marker(&c)
    );
    drop(c);

    // One row's reason changed, that row and every later one rehashed and
    // the head moved: what passed verify before the chain was keyed.
    let (path, c) = copy_of(&pristine, dir.path(), "rechained.sqlite3");
    c.execute("UPDATE audit SET reason = 'routine' WHERE seq = 6", [])
        .unwrap();
    rechain_plain(&c, 6, 12);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (6, "edited"));
    let (ok, out, err) = verify_bin(&path);
    assert!(!ok, "{out}");
    assert_eq!(
        (&out["problem"], &out["seq"]),
        (&json!("edited"), &json!(6))
    );
    assert!(err.contains("audit chain broken"), "{err}");

    // The whole chain rewritten from its first row.
    let (path, c) = copy_of(&pristine, dir.path(), "rewritten.sqlite3");
    c.execute(
        "UPDATE audit SET subject = 'visit:elsewhere' WHERE seq = 3",
        [],
    )
    .unwrap();
    rechain_plain(&c, 1, 12);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (1, "edited"));

    // Rows forged with HMAC under a guessed key: no better.
    let (path, c) = copy_of(&pristine, dir.path(), "guessed.sqlite3");
    c.execute("DELETE FROM audit WHERE seq >= 6", []).unwrap();
    c.execute(
        "UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit WHERE seq = 5)",
        [],
    )
    .unwrap();
    let key = audit::AuditKey::from_bytes([7; 32]);
    for _ in 0..7 {
        audit::append(
            &server::db::Sql::lite(&c, Some(&key)),
            &server::now_rfc3339(),
            &audit::Entry {
                actor: "system",
                action: "forged",
                subject: "-",
                reason: "",
                detail: "{}",
            },
        )
        .unwrap();
    }
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (6, "edited"));
}

#[test]
fn deleting_the_newest_rows_and_moving_the_head_back_fails_verify_against_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = trail(dir.path(), 20);
    let (line, json) = anchor_bin(&pristine);
    assert!(line.starts_with("aidant-audit-anchor:20:"), "{line}");
    let anchor: audit::Anchor = line.parse().expect("the printed anchor reads back");
    assert_eq!(json, serde_json::to_value(&anchor).unwrap());
    assert_eq!((anchor.seq, anchor.hash.len()), (20, 64));

    // The last three rows deleted and audit_head moved back onto row 17.
    let (path, c) = copy_of(&pristine, dir.path(), "cut.sqlite3");
    c.execute("DELETE FROM audit WHERE seq > 17", []).unwrap();
    c.execute(
        "UPDATE audit_head SET seq = 17, hash = (SELECT hash FROM audit WHERE seq = 17)",
        [],
    )
    .unwrap();
    drop(c);
    // On its own the shorter chain is whole: that is what the anchor is for.
    assert_eq!(verify_lib(&path), Verdict::Ok { rows: 17 });
    assert_eq!(broken(&verify_anchored(&path, &anchor)), (18, "truncated"));
    for given in [line.clone(), json.to_string()] {
        let (ok, out, err) = verify_bin_with(&path, &["--anchor", &given]);
        assert!(!ok, "{out}");
        assert_eq!(
            (&out["problem"], &out["seq"]),
            (&json!("truncated"), &json!(18))
        );
        assert!(err.contains("audit chain broken"), "{err}");
    }

    // The server writes on after the cut: row 20 exists again, but it is not
    // the anchored row.
    let db = server::db::Db::open(&path).unwrap();
    append_rows(&db, 5, "later");
    drop(db);
    assert_eq!(verify_lib(&path), Verdict::Ok { rows: 22 });
    assert_eq!(broken(&verify_anchored(&path, &anchor)), (20, "anchor"));
    let (ok, out, _) = verify_bin_with(&path, &[&format!("--anchor={line}")]);
    assert!(!ok);
    assert_eq!(out["problem"], json!("anchor"));
}

/// Percent-encodes a query value.
fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn an_untouched_trail_verifies_with_and_without_its_anchor() {
    let srv = Server::start();
    let admin = srv.admin();
    srv.create_operation(&admin, "Operation Anchor");
    let verify = |query: &str| srv.get(&format!("/api/v1/admin/audit/verify{query}"), Some(&admin));
    let v = verify("").expect(200);
    assert_eq!(v.body["result"], json!("ok"), "{}", v.text);

    // Anchored while the server runs; the trail grows afterwards.
    let (line, json) = anchor_bin(&srv.db_path);
    let anchored: i64 = json["seq"].as_i64().unwrap();
    srv.create_operation(&admin, "Operation After");
    srv.create_user(&admin, "pc.after", "officer", None);
    for given in [&line, &json.to_string()] {
        let v = verify(&format!("?anchor={}", query_value(given))).expect(200);
        assert_eq!(v.body["result"], json!("ok"), "{}", v.text);
        assert!(v.body["rows"].as_i64().unwrap() > anchored);
        let (ok, out, err) = verify_bin_with(&srv.db_path, &["--anchor", given]);
        assert!(ok, "{out} {err}");
        assert_eq!(out["result"], json!("ok"));
    }
    // An anchor that does not match the row, and one that cannot be read.
    let other = audit::Anchor {
        hash: "0".repeat(64),
        ..line.parse().unwrap()
    };
    let v = verify(&format!("?anchor={}", query_value(&other.to_string()))).expect(200);
    assert_eq!(
        (&v.body["result"], &v.body["problem"], &v.body["seq"]),
        (&json!("broken"), &json!("anchor"), &json!(anchored))
    );
    verify("?anchor=yesterday").expect_error(400, "bad_query");
    let (ok, _, err) = aidant(&["audit", "verify", "--db", s(&srv.db_path), "--anchor", "x"]);
    assert!(!ok && err.contains("not an audit anchor"), "{err}");

    let dir = srv.stop();
    let pristine = snapshot(
        &dir.path().join("aidant.sqlite3"),
        &dir.path().join("p.sqlite3"),
    );
    let (ok, out, _) = verify_bin(&pristine);
    assert!(ok, "{out}");
    let (ok, out, _) = verify_bin_with(&pristine, &["--anchor", &line]);
    assert!(ok, "{out}");
}

#[test]
fn a_trail_written_before_keying_migrates_and_its_old_rows_stay_protected() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("aidant.sqlite3");
    let key_file = dir.path().join("audit.key");
    // A database as the unkeyed code left it: the same schema, eight rows
    // chained with plain SHA-256, no keying marker, no key file.
    drop(server::db::Db::open(&live).unwrap());
    let c = rusqlite::Connection::open(&live).unwrap();
    c.execute("DELETE FROM meta WHERE key = 'audit_keyed_from'", [])
        .unwrap();
    let mut prev = audit::GENESIS.to_owned();
    for seq in 1..=8 {
        let fields = [
            format!("2026-09-2{}T10:00:00.000Z", seq % 7),
            "user:legacy".to_owned(),
            "visit.read".to_owned(),
            format!("visit:old-{seq}"),
            "old reason".to_owned(),
            "{}".to_owned(),
        ];
        let h = plain_hash(&prev, seq, &fields);
        c.execute(
            "INSERT INTO audit (seq, at, actor, action, subject, reason, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                seq, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], prev, h
            ],
        )
        .unwrap();
        prev = h;
    }
    c.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 8, ?1)",
        [&prev],
    )
    .unwrap();
    drop(c);
    std::fs::remove_file(&key_file).unwrap();
    let old_head = prev;

    // First start with a key: the key file is made, keying starts at row 9,
    // and the old rows keep their hashes.
    let db = server::db::Db::open(&live).expect("an unkeyed database migrates");
    assert!(key_file.is_file());
    append_rows(&db, 3, "keyed");
    drop(db);
    let pristine = snapshot(&live, &dir.path().join("pristine.sqlite3"));
    let c = rusqlite::Connection::open(&pristine).unwrap();
    assert!(
        marker(&c).is_some_and(|m| m.starts_with(&format!("9:{old_head}:"))),
        "{:?}",
        marker(&c)
    );
    let (row8, row9_prev): (String, String) = c
        .query_row(
            "SELECT (SELECT hash FROM audit WHERE seq = 8), (SELECT prev_hash FROM audit WHERE seq = 9)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (row8.as_str(), row9_prev.as_str()),
        (old_head.as_str(), old_head.as_str())
    );
    drop(c);
    assert_eq!(verify_lib(&pristine), Verdict::Ok { rows: 11 });
    let (ok, out, _) = verify_bin(&pristine);
    assert!(ok, "{out}");

    // (a) An old row edited.
    let (path, c) = copy_of(&pristine, dir.path(), "old-edited.sqlite3");
    c.execute("UPDATE audit SET reason = 'routine' WHERE seq = 3", [])
        .unwrap();
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (3, "edited"));

    // (b) An old row edited and the old rows rehashed (plain SHA-256 is all
    // they ever had): the first keyed row no longer follows them.
    let (path, c) = copy_of(&pristine, dir.path(), "old-rechained.sqlite3");
    c.execute("UPDATE audit SET reason = 'routine' WHERE seq = 3", [])
        .unwrap();
    rechain_plain(&c, 3, 8);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (8, "edited"));

    // (b') … and every row after them too, head included.
    let (path, c) = copy_of(&pristine, dir.path(), "all-rechained.sqlite3");
    c.execute("UPDATE audit SET reason = 'routine' WHERE seq = 3", [])
        .unwrap();
    rechain_plain(&c, 3, 11);
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (8, "edited"));

    // (c) The keying marker removed (to pass the whole chain off as unkeyed):
    // verify fails and the server refuses the database.
    let (path, c) = copy_of(&pristine, dir.path(), "unmarked.sqlite3");
    c.execute("DELETE FROM meta WHERE key = 'audit_keyed_from'", [])
        .unwrap();
    drop(c);
    assert_eq!(broken(&verify_only(&path, &key_file)), (1, "unkeyed"));
    let (ok, out, _) = verify_bin(&path);
    assert!(!ok);
    assert_eq!(out["problem"], json!("unkeyed"));
    let refused = server::db::Db::open(&path).err().expect("refused");
    assert!(refused.to_string().contains("marker"), "{refused}");

    // (d) The marker moved on, so more rows would be checked as unkeyed.
    let (path, c) = copy_of(&pristine, dir.path(), "remarked.sqlite3");
    c.execute(
        "UPDATE meta SET value = '12' || substr(value, 2) WHERE key = 'audit_keyed_from'",
        [],
    )
    .unwrap();
    drop(c);
    assert_eq!(broken(&verify_only(&path, &key_file)).1, "key");
    assert!(server::db::Db::open(&path).is_err());
}

#[test]
fn the_key_file_is_created_0600_once_and_never_overwritten() {
    let srv = Server::start();
    let dir = srv.stop();
    let key_file = dir.path().join("audit.key");
    let written = std::fs::read_to_string(&key_file).expect("audit.key next to the database");
    assert_eq!(written.trim().len(), 64);
    assert!(written.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // Opened again (as the next start would): the same key, untouched.
    drop(server::db::Db::open(&dir.path().join("aidant.sqlite3")).unwrap());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), written);

    // A configured path: the key is made there and nowhere else.
    let elsewhere = tempfile::tempdir().unwrap();
    let configured = elsewhere.path().join("keys").join("aidant-audit.key");
    let srv = Server::start_with({
        let k = configured.clone();
        move |c| c.audit_key = Some(k)
    });
    let admin = srv.admin();
    let v = srv
        .get("/api/v1/admin/audit/verify", Some(&admin))
        .expect(200);
    assert_eq!(v.body["result"], json!("ok"), "{}", v.text);
    let db_path = srv.db_path.clone();
    let dir = srv.stop();
    assert!(configured.is_file());
    assert!(!dir.path().join("audit.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&configured).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // Opened without it (the default place is empty): refused, and no second
    // key is made.
    let refused = server::db::Db::open(&db_path).err().expect("refused");
    assert!(refused.to_string().contains("not found"), "{refused}");
    assert!(!dir.path().join("audit.key").exists());
    // The command line finds it only when told where it is.
    let (ok, _, err) = aidant(&["audit", "verify", "--db", s(&db_path)]);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, out, err) = verify_bin_with(&db_path, &["--audit-key", s(&configured)]);
    assert!(ok, "{out} {err}");
}

#[test]
fn a_wrong_key_fails_verify_and_the_server_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = trail(dir.path(), 5);
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, hex::encode([9u8; 32])).unwrap();

    assert_eq!(broken(&verify_only(&pristine, &wrong)), (1, "key"));
    let (ok, out, err) = verify_bin_with(&pristine, &["--audit-key", s(&wrong)]);
    assert!(!ok, "{out}");
    assert_eq!(out["problem"], json!("key"));
    assert!(err.contains("audit chain broken"), "{err}");
    let (ok, _, _) = aidant(&[
        "audit",
        "anchor",
        "--db",
        s(&pristine),
        "--audit-key",
        s(&wrong),
    ]);
    assert!(!ok, "no anchor from a chain that does not verify");

    // Neither the library nor the server writes with it.
    let refused = server::db::Db::open_with(&pristine, &wrong)
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("not the key"), "{refused}");
    let config = server::config::Config {
        db_path: pristine.clone(),
        audit_key: Some(wrong),
        ..server::config::Config::default()
    };
    let refused = server::bootstrap(&config).err().expect("refused");
    assert!(refused.to_string().contains("audit key"), "{refused}");

    // A key file that is not a key.
    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "not a key").unwrap();
    let (ok, _, err) = aidant(&[
        "audit",
        "verify",
        "--db",
        s(&pristine),
        "--audit-key",
        s(&junk),
    ]);
    assert!(!ok && err.contains("64 hex digits"), "{err}");
}

#[test]
fn audit_commands_print_their_help() {
    for args in [
        &["audit"][..],
        &["audit", "--help"],
        &["audit", "-h"],
        &["audit", "help"],
        &["audit", "verify", "--help"],
        &["audit", "anchor", "--help"],
    ] {
        let (ok, out, err) = aidant(args);
        assert!(ok, "{args:?}: {err}");
        assert!(
            out.contains("usage: aidant audit") && out.contains("--anchor"),
            "{args:?}: {out}"
        );
    }
    let (ok, _, err) = aidant(&["audit", "frobnicate"]);
    assert!(!ok && err.contains("unknown audit command"), "{err}");
    let (ok, out, _) = aidant(&["--help"]);
    assert!(ok && out.contains("audit verify|anchor"), "{out}");
}
