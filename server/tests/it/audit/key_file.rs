//! The audit key file: made 0600 once, never overwritten, found where it is
//! configured; a wrong key or a file that is not a key is refused.

use super::{aidant, broken, s, trail, verify_bin_with, verify_only};
use crate::harness::Server;
use serde_json::json;

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
