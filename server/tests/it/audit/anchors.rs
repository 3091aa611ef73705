//! Anchors from `aidant audit anchor`: the newest rows cut off (a chain whole
//! on its own) fail against one; an untouched trail passes with and
//! without one, from the command line and over HTTP.

use super::{
    aidant, anchor_bin, append_rows, broken, copy_of, s, snapshot, trail, verify_anchored,
    verify_bin, verify_bin_with, verify_lib,
};
use crate::harness::Server;
use serde_json::json;
use server::db::audit::{self, Verdict};

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
