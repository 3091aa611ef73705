//! Rewrites by someone holding the file but not the key: rows rehashed with
//! plain SHA-256 (all the chain had before it was keyed), or forged with
//! HMAC under a guessed key.

use super::{broken, copy_of, forge_row, marker, rechain_plain, trail, verify_bin, verify_lib};
use serde_json::json;
use server::db::audit::{self, Verdict};

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
        forge_row(&c, &key);
    }
    drop(c);
    assert_eq!(broken(&verify_lib(&path)), (6, "edited"));
}
