//! A trail written before the chain was keyed: it migrates, keying starts at
//! the next row, and the old rows stay protected (edited, rehashed, the
//! keying marker removed or moved: each found).

use super::{
    append_rows, broken, copy_of, marker, plain_hash, rechain_plain, snapshot, verify_bin,
    verify_lib, verify_only,
};
use serde_json::json;
use server::db::audit::{self, Verdict};
use std::path::{Path, PathBuf};

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
    let path = old_row_edited(&pristine, dir.path(), "old-edited.sqlite3", None);
    assert_eq!(broken(&verify_lib(&path)), (3, "edited"));

    // (b) An old row edited and the old rows rehashed (plain SHA-256 is all
    // they ever had): the first keyed row no longer follows them.
    let path = old_row_edited(&pristine, dir.path(), "old-rechained.sqlite3", Some(8));
    assert_eq!(broken(&verify_lib(&path)), (8, "edited"));

    // (b') … and every row after them too, head included.
    let path = old_row_edited(&pristine, dir.path(), "all-rechained.sqlite3", Some(11));
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

/// A copy of `pristine` named `name` with old row 3's reason changed, and
/// rows 3 to `rechained_to` then rehashed with plain SHA-256.
fn old_row_edited(pristine: &Path, dir: &Path, name: &str, rechained_to: Option<i64>) -> PathBuf {
    let (path, c) = copy_of(pristine, dir, name);
    c.execute("UPDATE audit SET reason = 'routine' WHERE seq = 3", [])
        .unwrap();
    if let Some(to) = rechained_to {
        rechain_plain(&c, 3, to);
    }
    path
}
