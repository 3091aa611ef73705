//! A new phone's first sync from snapshots (`GET /sync/snapshot`): the same
//! visits as a phone that pulled every op, convergence with it afterwards,
//! paging, scope, and the audit row.

use crate::harness::{now_ms, record_visit, Server, World};
use std::collections::BTreeMap;
use sync_core::{Replica, Target, Value, Visit, VisitField, VisitId};

/// Every snapshot page for `token`, `limit` visits at a time: the states and
/// the first page's cursor.
fn snapshots(srv: &Server, token: &str, limit: usize) -> (Vec<Visit>, i64, usize) {
    let (mut all, mut after, mut first, mut pages) = (Vec::new(), String::new(), None, 0);
    loop {
        let path = format!("/api/v1/sync/snapshot?limit={limit}&after_visit={after}");
        let (status, headers, bytes) = srv.get_bytes(&path, token);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(headers["content-type"], "application/octet-stream");
        let page = sync_core::snapshot::decode_limited(&bytes, limit).expect("a snapshot batch");
        first.get_or_insert(headers["x-aidant-cursor"].parse::<i64>().expect("cursor"));
        all.extend(page);
        pages += 1;
        match headers.get("x-aidant-next") {
            Some(next) => after = next.clone(),
            None => return (all, first.expect("a page"), pages),
        }
        assert!(pages < 50, "snapshot pages do not end");
    }
}

fn states(r: &Replica) -> BTreeMap<VisitId, Visit> {
    r.visits().map(|v| (v.id(), v.clone())).collect()
}

#[test]
fn a_phone_started_from_snapshots_holds_what_a_full_pull_gives_and_converges() {
    let mut w = World::new();
    let mut visits = Vec::new();
    for _ in 0..3 {
        let (visit, ops) = record_visit(&mut w.a, w.op1);
        w.srv.push_ok(&w.a, &ops);
        visits.push(visit);
    }
    // A2 holds the history (its team-mate's visits), pulled op by op.
    let t = now_ms();
    w.a2.replica.apply(t, w.srv.pull_all(&w.a2.token));
    // A2's new phone: a replica started from snapshots, two visits a page.
    let (got, cursor, pages) = snapshots(&w.srv, &w.a2.token, 2);
    assert_eq!(pages, 2);
    assert_eq!(got.len(), 3);
    let mut fresh = Replica::new(sync_core::ReplicaId(uuid::Uuid::new_v4()));
    fresh.adopt(t, got);
    assert_eq!(states(&fresh), states(&w.a2.replica));
    // Then its pulls from the cursor bring nothing new...
    let (rest, _, more) = w.srv.pull_page(&w.a2.token, cursor, None);
    assert!(rest.is_empty() && !more, "{rest:?}");
    // ...until A edits: the snapshot phone and the history phone both edit
    // the same visit offline, and both converge with the server's copy.
    let pc = Target::Visit(VisitField::Postcode);
    let by_a =
        w.a.replica
            .set(t + 10, visits[0], pc.clone(), Value::Text("OX1 1AA".into()));
    let by_a = by_a.unwrap().clone();
    w.srv.push_ok(&w.a, &[by_a]);
    let by_fresh = fresh.set(t + 11, visits[0], pc, Value::Text("OX2 2BB".into()));
    let by_fresh = by_fresh.unwrap().clone();
    fresh.apply(t + 12, w.srv.pull_page(&w.a2.token, cursor, None).0);
    w.a2.replica.apply(t + 12, w.srv.pull_all(&w.a2.token));
    w.a2.replica.apply(t + 12, [by_fresh.clone()]);
    assert_eq!(
        states(&fresh),
        states(&w.a2.replica),
        "the two phones differ"
    );
    let v = fresh.visit(&visits[0]).expect("the visit");
    assert_eq!(v.conflicts().len(), 1, "both postcodes kept");
    // The fresh phone's state survives a save and a load.
    let loaded = Replica::load(&fresh.save()).expect("load");
    assert_eq!(states(&loaded), states(&fresh));
}

#[test]
fn snapshots_follow_the_pull_rule_and_are_audited() {
    let mut w = World::new();
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    // Officer B (another operation) is sent nothing; the recording phone
    // gets its own visit back as a state (a re-enrolled phone needs it).
    assert!(snapshots(&w.srv, &w.b.token, 10).0.is_empty());
    let own = snapshots(&w.srv, &w.a.token, 10).0;
    assert_eq!(own.iter().map(Visit::id).collect::<Vec<_>>(), vec![visit]);
    for token in [&w.sup1, &w.admin] {
        w.srv
            .get("/api/v1/sync/snapshot", Some(token))
            .expect_error(403, "device_required");
    }
    w.srv
        .get("/api/v1/sync/snapshot?after_visit=nope", Some(&w.a2.token))
        .expect_error(400, "bad_query");
    let audited: i64 = w.srv.sql(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'sync.snapshot'",
            (),
            |r| r.get(0),
        )
    });
    assert_eq!(audited, 1, "one page with visits, one audit row");
}
