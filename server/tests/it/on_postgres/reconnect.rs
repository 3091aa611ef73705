//! PostgreSQL only: a server whose database connections are ended under it
//! (PostgreSQL restarted, or an administrator ran `pg_terminate_backend`)
//! opens them again. A request that met the loss answers a JSON 503
//! `storage_unavailable`, never a 500; nothing of it is committed; the next
//! request succeeds; every op acknowledged before is still there.

use crate::harness::{record_visit, Resp, Server, World};
use server::db::{audit, Db, Location};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use sync_core::{Op, OpId};

/// The server's database URL and audit key file.
fn pg_of(srv: &Server) -> (String, std::path::PathBuf) {
    match srv.location.clone() {
        (Location::Postgres(url), key) => (url, key),
        _ => panic!("this test runs on PostgreSQL (scripts/pg.sh)"),
    }
}

/// Ends every other backend of the database `client` is connected to; how
/// many it ended.
fn end_backends(client: &mut postgres::Client) -> usize {
    client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .expect("pg_terminate_backend")
        .iter()
        .filter(|r| r.get::<_, bool>(0))
        .count()
}

/// Waits until the backends [`end_backends`] signalled have exited
/// (`pg_terminate_backend` only signals; on a busy machine a backend can
/// take a while), so the server's next request meets closed connections.
fn wait_until_gone(client: &mut postgres::Client) {
    for _ in 0..400 {
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("pg_stat_activity")
            .get(0);
        if left == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// Panics unless `r` is the JSON 503 a lost database gives.
#[track_caller]
fn unavailable(r: &Resp) {
    r.expect_retry_later(503, "storage_unavailable");
}

/// `call` until it answers 200, at most `tries` times, every other answer
/// being [`unavailable`]; the answer and how many failed first.
#[track_caller]
fn until_ok(tries: usize, mut call: impl FnMut() -> Resp) -> (Resp, usize) {
    for failed in 0..tries {
        let r = call();
        if r.status == 200 {
            return (r, failed);
        }
        unavailable(&r);
        if failed + 1 == tries {
            panic!("no 200 in {tries} tries; the last: {}", r.text);
        }
    }
    unreachable!("tries is not 0")
}

fn pull_path(after: i64) -> String {
    format!("/api/v1/sync/pull?after={after}")
}

fn ids(ops: &[Op]) -> BTreeSet<OpId> {
    ops.iter().map(|o| o.id).collect()
}

/// The audit chain still verifies under the server's key.
fn audit_chain_holds(url: &str, key: &std::path::Path) {
    let db = Db::open_at_to_verify(&Location::Postgres(url.to_owned()), key).expect("open");
    let verdict = db.read_blocking(audit::verify).expect("verify");
    assert!(
        matches!(verdict, audit::Verdict::Ok { rows } if rows > 0),
        "{verdict:?}"
    );
}

#[test]
fn every_backend_ended_then_pushes_and_pulls_work_again() {
    let mut w = World::new();
    let (url, key) = pg_of(&w.srv);
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        let (_, ops) = record_visit(&mut w.a, w.op1);
        w.srv.push_ok(&w.a, &ops);
        acknowledged.extend(ops);
    }
    assert_eq!(ids(&w.srv.pull_all(&w.a2.token)), ids(&acknowledged));

    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let ended = end_backends(&mut admin);
    wait_until_gone(&mut admin);
    // The writer and the four readers, at least.
    assert!(ended >= 5, "ended {ended} backends");

    let (_, ops) = record_visit(&mut w.a, w.op1);
    let (r, push_failures) = until_ok(6, || w.srv.push(&w.a.token, &ops));
    assert_eq!(r.body["accepted"], ops.len(), "{}", r.text);
    acknowledged.extend(ops);
    let mut pull_failures = 0;
    let mut pulled = Vec::new();
    let mut after = 0;
    loop {
        let (r, failed) = until_ok(6, || w.srv.get(&pull_path(after), Some(&w.a2.token)));
        pull_failures += failed;
        pulled.extend(
            r.body["ops"]
                .as_array()
                .expect("ops")
                .iter()
                .map(|v| serde_json::from_value::<Op>(v.clone()).expect("an op")),
        );
        after = r.body["cursor"].as_i64().expect("cursor");
        if r.body["more"] == false {
            break;
        }
    }
    println!("after ending every backend: {push_failures} push and {pull_failures} pull attempts failed first");
    // The first request to meet a lost connection has the others checked
    // before use: not one failure per connection. (Two, should a backend
    // still be on its way out when checked.)
    assert!(
        push_failures + pull_failures <= 2,
        "{push_failures} + {pull_failures} failures"
    );
    assert_eq!(pulled.len(), acknowledged.len(), "each op once");
    assert_eq!(ids(&pulled), ids(&acknowledged));
    // Every connection works again: more requests than connections.
    for _ in 0..10 {
        w.srv.get("/readyz", None).expect(200);
        w.srv.get(&pull_path(0), Some(&w.a2.token)).expect(200);
    }
    audit_chain_holds(&url, &key);
}

#[test]
fn a_database_refusing_connections_answers_503_then_recovers() {
    let mut w = World::new();
    let (url, key) = pg_of(&w.srv);
    let (_, before) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &before);

    // ALTER DATABASE … ALLOW_CONNECTIONS is refused on the database itself.
    let base = std::env::var("AIDANT_TEST_DATABASE_URL").expect("scripts/pg.sh");
    let mut cluster = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
    let name = url.rsplit_once('/').expect("URL ends in /DATABASE").1;
    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .expect("refuse connections");
    assert!(
        postgres::Client::connect(&url, postgres::NoTls).is_err(),
        "connections are refused"
    );
    let ended = cluster
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .expect("pg_terminate_backend")
        .iter()
        .filter(|r| r.get::<_, bool>(0))
        .count();
    assert!(ended >= 5, "ended {ended} backends");

    let (_, ops) = record_visit(&mut w.a, w.op1);
    for _ in 0..3 {
        let r = w.srv.get("/readyz", None);
        r.expect_error(503, "not_ready");
        unavailable(&w.srv.push(&w.a.token, &ops));
        unavailable(&w.srv.get(&pull_path(0), Some(&w.a2.token)));
    }
    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .expect("take connections");
    // Nothing of the refused pushes was stored.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let stored: i64 = admin
        .query_one("SELECT COUNT(*) FROM op_ids", &[])
        .expect("count")
        .get(0);
    assert_eq!(stored, before.len() as i64);
    w.srv.get("/readyz", None).expect(200);
    let (r, _) = until_ok(1, || w.srv.push(&w.a.token, &ops));
    assert_eq!(r.body["accepted"], ops.len(), "{}", r.text);
    let pulled = w.srv.pull_all(&w.a2.token);
    assert_eq!(pulled.len(), before.len() + ops.len());
    audit_chain_holds(&url, &key);
}

/// Backends ended every few milliseconds while a phone pushes and its
/// team-mate pulls: each answer is a 200 or a JSON 503 (never a 500), a
/// push that failed is sent again afterwards, and in the end the team-mate
/// holds every op exactly once and the audit chain verifies (no transaction
/// was half committed).
#[test]
fn backends_ended_during_requests_commit_nothing_partial() {
    let mut w = World::new();
    let (url, key) = pg_of(&w.srv);
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (stop, url) = (stop.clone(), url.clone());
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            let mut ended = 0;
            while !stop.load(Ordering::Acquire) {
                ended += end_backends(&mut admin);
                std::thread::sleep(Duration::from_millis(150));
            }
            ended
        })
    };
    let (mut pushed, mut unsent) = (Vec::new(), Vec::new());
    let (mut pushes_failed, mut pulls_failed) = (0, 0);
    for _ in 0..40 {
        let (_, ops) = record_visit(&mut w.a, w.op1);
        let r = w.srv.push(&w.a.token, &ops);
        if r.status == 200 {
            assert_eq!(r.body["accepted"], ops.len(), "{}", r.text);
        } else {
            unavailable(&r);
            pushes_failed += 1;
            unsent.push(ops.clone());
        }
        pushed.extend(ops);
        let r = w.srv.get(&pull_path(0), Some(&w.a2.token));
        if r.status != 200 {
            unavailable(&r);
            pulls_failed += 1;
        }
    }
    stop.store(true, Ordering::Release);
    let ended = killer.join().expect("killer");
    println!(
        "{ended} backends ended during 40 pushes and pulls: {pushes_failed} pushes and \
         {pulls_failed} pulls answered 503"
    );
    // A push that failed may have committed before its answer was lost:
    // sent again, it is accepted or found already there, never twice.
    for ops in unsent {
        let (r, _) = until_ok(6, || w.srv.push(&w.a.token, &ops));
        let (accepted, duplicates) = (&r.body["accepted"], &r.body["duplicates"]);
        assert_eq!(
            accepted.as_u64().unwrap_or(0) + duplicates.as_u64().unwrap_or(0),
            ops.len() as u64,
            "{}",
            r.text
        );
    }
    let pulled = w.srv.pull_all(&w.a2.token);
    assert_eq!(pulled.len(), pushed.len(), "each op once");
    assert_eq!(ids(&pulled), ids(&pushed));
    audit_chain_holds(&url, &key);
}
