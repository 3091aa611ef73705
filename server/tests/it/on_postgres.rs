//! PostgreSQL only (run by `scripts/pg.sh`; skipped in the SQLite run):
//! what README.md says about backing up a PostgreSQL deployment holds, and
//! lost connections are opened again (`reconnect`), a real 5xx from the
//! binary is logged at error with its cause (`server_error_log`), a full
//! disk is answered 507 and writes resume (`disk_full`), and connections
//! to the database go over checked TLS (`tls`).

mod disk_full;
mod reconnect;
mod server_error_log;
mod tls;

use crate::harness::{fresh_pg_database, record_visit, Server, World};
use server::db::{audit, Db, Location};
use std::process::Command;

fn pg_tool(name: &str) -> String {
    let bin = std::env::var("AIDANT_TEST_PG_BIN").expect("run under scripts/pg.sh");
    format!("{bin}/{name}")
}

fn op_ids(db: &Db) -> Vec<(String, i64)> {
    db.read_blocking(|c| {
        c.query_map(
            "SELECT replica, seq FROM op_ids ORDER BY replica, seq",
            (),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    })
    .expect("ops")
}

/// `pg_dump` while the server runs, `pg_restore` into a new database, the
/// audit chain verifies under the key, every acknowledged op is there, and
/// a server started on the restored database serves them.
#[test]
fn pg_dump_while_serving_then_pg_restore_keeps_every_acknowledged_op() {
    let mut w = World::new();
    let (Location::Postgres(url), key) = w.srv.location.clone() else {
        panic!("this test runs on PostgreSQL (scripts/pg.sh)");
    };
    let mut pushed = 0;
    for _ in 0..3 {
        let (_, ops) = record_visit(&mut w.a, w.op1);
        w.srv.push_ok(&w.a, &ops);
        pushed += ops.len();
    }
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("aidant.dump");
    let out = Command::new(pg_tool("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&url)
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored = fresh_pg_database().expect("a new database");
    let out = Command::new(pg_tool("pg_restore"))
        .args(["--no-owner", "--dbname", &restored])
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    assert!(
        out.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let original = Db::open_at(&Location::Postgres(url), &key).expect("original");
    let copy = Db::open_at_to_verify(&Location::Postgres(restored.clone()), &key).expect("copy");
    let verdict = copy.read_blocking(audit::verify).expect("verify");
    assert!(
        matches!(verdict, audit::Verdict::Ok { rows } if rows > 0),
        "{verdict:?}"
    );
    let ops = op_ids(&original);
    assert_eq!(ops.len(), pushed, "three visits' ops");
    assert_eq!(op_ids(&copy), ops);

    // A server on the restored database: the officer's team-mate pulls them.
    let second = Server::start_with(|c| {
        c.database_url = Some(restored);
        c.audit_key = Some(key);
    });
    assert_eq!(second.pull_all(&w.a2.token).len(), pushed);
}

/// Migration 11 as PostgreSQL runs it: ops are kept once by `op_ids`'
/// primary key, and `ops` no longer carries the UNIQUE (replica, seq) that
/// did it when a row was one op (it would cost every segment an index
/// entry).
#[test]
fn op_ids_keep_each_op_once_and_ops_has_no_unique_of_its_own() {
    let w = World::new();
    let (Location::Postgres(url), _) = w.srv.location.clone() else {
        panic!("this test runs on PostgreSQL (scripts/pg.sh)");
    };
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let count = |c: &mut postgres::Client, table: &str, kind: &str| -> i64 {
        c.query_one(
            "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = $1::text::regclass AND contype = $2::text::\"char\"",
            &[&table, &kind],
        )
        .expect("constraints")
        .get(0)
    };
    assert_eq!(count(&mut c, "ops", "u"), 0, "ops keeps a UNIQUE");
    assert_eq!(count(&mut c, "op_ids", "p"), 1, "op_ids has no primary key");
}
