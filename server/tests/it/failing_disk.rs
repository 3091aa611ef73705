//! A disk that fails a sync of the SQLite WAL (`db/durable.rs`). Linux
//! reports a failed write-back once and marks the pages clean, so a later
//! sync can succeed although the frames never reached the disk: the server
//! must not acknowledge anything after the first failure, and must not
//! take writes again until it is restarted, which recovers the WAL and
//! checkpoints it. `Limits::test_fail_syncs` makes every sync fail with
//! EIO while it is set, as such a disk would. SQLite only: PostgreSQL
//! syncs its own WAL (and restarts itself when that fails, which the
//! server sees as a lost connection: `on_postgres/reconnect.rs`).

use crate::harness::{record_visit, Resp, Server, World};
use crate::operability::gauge;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A write refused because the database cannot take it now: 503
/// `storage_unavailable` with a Retry-After (the phone keeps its queue).
fn refused_unavailable(r: &Resp) {
    r.expect_retry_later(503, "storage_unavailable");
}

#[test]
fn a_failed_sync_stops_writes_until_a_restart_and_loses_nothing_acknowledged() {
    let fail = Arc::new(AtomicBool::new(false));
    let hook = fail.clone();
    let mut w = World::on(Server::start_with(move |c| {
        c.limits.test_fail_syncs = Some(hook)
    }));
    let (_, first) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &first);
    w.srv.get("/healthz", None).expect(200);

    // The disk fails the next sync: the push is not acknowledged.
    fail.store(true, Ordering::Release);
    let (_, second) = record_visit(&mut w.a, w.op1);
    refused_unavailable(&w.srv.push(&w.a.token, &second));
    let stored = w.srv.count("op_ids");
    let audited = w.srv.count("audit");

    // The disk answers again, but a sync now could succeed without the
    // frames it dropped: nothing is taken, from anyone, and nothing runs.
    fail.store(false, Ordering::Release);
    refused_unavailable(&w.srv.push(&w.a.token, &second));
    let (_, third) = record_visit(&mut w.a2, w.op1);
    refused_unavailable(&w.srv.push(&w.a2.token, &third));
    let login = w.srv.post(
        "/api/v1/login",
        None,
        &serde_json::json!({ "username": "sup.north", "password": "wrong password" }),
    );
    refused_unavailable(&login);
    // A pull's audit row cannot be written: refused too, never served unaudited.
    refused_unavailable(&w.srv.get("/api/v1/sync/pull?after=0", Some(&w.a2.token)));
    assert_eq!(
        w.srv.count("op_ids"),
        stored,
        "no push ran after the failure"
    );
    assert_eq!(
        w.srv.count("audit"),
        audited,
        "no write ran after the failure"
    );
    // Reads that write nothing go on; the probes ask for a restart.
    w.srv.get("/api/v1/visits", Some(&w.sup1)).expect(200);
    w.srv.get("/readyz", None).expect_error(503, "not_ready");
    assert_eq!(gauge(&w.srv, "aidant_restart_needed"), Some(1.0));
    w.srv
        .get("/healthz", None)
        .expect_error(503, "restart_needed");

    // Restarted: ready, and the refused pushes go through (the second's
    // ops may already be there from the commit whose sync failed: then
    // they are duplicates, which the phone takes as stored).
    w.srv = w.srv.restart();
    w.srv.get("/healthz", None).expect(200);
    w.srv.get("/readyz", None).expect(200);
    assert_eq!(gauge(&w.srv, "aidant_restart_needed"), Some(0.0));
    for (dev, ops) in [(&w.a, &second), (&w.a2, &third)] {
        let r = w.srv.push(&dev.token, ops).expect(200);
        let taken = r.body["accepted"].as_u64().unwrap() + r.body["duplicates"].as_u64().unwrap();
        assert_eq!(taken, ops.len() as u64, "{}", r.text);
    }
    assert_eq!(
        w.srv.count("op_ids"),
        (first.len() + second.len() + third.len()) as i64
    );
    let pulled: BTreeSet<_> = w
        .srv
        .pull_all(&w.a2.token)
        .into_iter()
        .map(|op| op.id)
        .collect();
    let pushed: BTreeSet<_> = first.iter().chain(&second).map(|op| op.id).collect();
    assert_eq!(pulled, pushed, "the other officer pulls every op of A's");
    let v = w
        .srv
        .get("/api/v1/admin/audit/verify", Some(&w.admin))
        .expect(200);
    assert_eq!(v.body["result"], "ok", "{}", v.text);
}
