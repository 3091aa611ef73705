//! PostgreSQL only: a full disk. PostgreSQL answers a write that cannot
//! extend a file with SQLSTATE 53100 (`disk_full`). A trigger on every
//! table that raises exactly that error on each row written stands in for
//! the volume filling up (as `PRAGMA max_page_count` does for SQLite in
//! `hostile.rs`); dropping the triggers gives the space back. A full WAL
//! volume is another matter: PostgreSQL then stops, which the server sees
//! as a lost connection (503 `storage_unavailable`, `reconnect.rs`).

use crate::harness::{record_visit, Server, World};
use crate::hostile::{pull_audits, refused_for_space};

/// Makes every table of the server's database refuse new rows as a full
/// disk would (`full`), or takes that back.
fn disk(srv: &Server, full: bool) {
    let sql = if full {
        "CREATE FUNCTION aidant_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             RAISE EXCEPTION 'could not extend file \"base/1/1\": No space left on device'
                 USING ERRCODE = 'disk_full';
         END $$;
         DO $$
         DECLARE t record;
         BEGIN
             FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
                 EXECUTE format('CREATE TRIGGER aidant_test_disk_full BEFORE INSERT OR UPDATE ON %I
                                 FOR EACH ROW EXECUTE FUNCTION aidant_test_disk_full()', t.tablename);
             END LOOP;
         END $$;"
    } else {
        "DROP FUNCTION aidant_test_disk_full() CASCADE"
    };
    srv.sql(|c| c.execute_batch(sql));
}

/// Pushes are refused whole with 507 and a Retry-After while the disk is
/// full, readiness says so, reads and pulls are still served, and once
/// space is back the same push goes through and the audit chain verifies.
#[test]
fn a_full_disk_answers_storage_full_while_reads_go_on_and_writes_resume() {
    let mut w = World::new();
    let (_, first) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &first);
    let ops_before = w.srv.count("op_ids");
    let audits_before = w.srv.count("audit");

    disk(&w.srv, true);
    let mut refused = Vec::new();
    for _ in 0..3 {
        refused.extend(record_visit(&mut w.a, w.op1).1);
    }
    let r = w.srv.push(&w.a.token, &refused);
    refused_for_space(&r);
    assert_eq!(w.srv.count("op_ids"), ops_before, "nothing half-written");
    w.srv.get("/readyz", None).expect_error(503, "not_ready");
    w.srv.get("/healthz", None).expect(200);
    // Reads go on: a first pull by the other officer's phone (its audit row
    // cannot be written, and it is served all the same), the visit list.
    let pulled = w.srv.pull_all(&w.a2.token);
    assert_eq!(pulled.len(), first.len());
    assert_eq!(pull_audits(&w.srv), 0);
    w.srv.get("/api/v1/visits", Some(&w.sup1)).expect(200);
    w.srv.get("/readyz", None).expect_error(503, "not_ready");
    assert_eq!(w.srv.count("audit"), audits_before, "no audit row written");

    // Space comes back: ready again, and the refused push goes through whole.
    disk(&w.srv, false);
    w.srv.get("/readyz", None).expect(200);
    w.srv.push_ok(&w.a, &refused);
    w.srv.pull_all(&w.a2.token);
    assert_eq!(pull_audits(&w.srv), 1, "pulls are audited again");
    assert_eq!(w.srv.count("op_ids"), ops_before + refused.len() as i64);
    let v = w
        .srv
        .get("/api/v1/admin/audit/verify", Some(&w.admin))
        .expect(200);
    assert_eq!(v.body["result"], "ok", "{}", v.text);
}
