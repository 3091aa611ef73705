//! Pull pages over segments (a push's ops of a visit stored together
//! under one cursor): every op once, in order, pages within their limit
//! unless one segment alone is longer, the same pages as JSON and as wire.

use crate::crash::Rng;
use crate::harness::{now_ms, record_visit, World};
use crate::sync::{results, sorted};
use serde_json::json;
use std::collections::BTreeSet;
use sync_core::{Op, OpId};

#[test]
fn pulls_page_through_250_ops_in_order() {
    let mut w = World::new();
    let (visit, mut ops) = record_visit(&mut w.a, w.op1);
    let t = now_ms();
    while ops.len() < 250 {
        let i = ops.len() as u64;
        ops.push(
            w.a.replica
                .note(t + i, visit, &format!("note {i}"))
                .expect("note")
                .clone(),
        );
    }
    // In five pushes of 50: each push's ops of the visit are one segment.
    for chunk in ops.chunks(50) {
        w.srv.push_ok(&w.a, chunk);
    }
    let page_through = |limit: i64| {
        let (mut after, mut pages, mut seen) = (0, Vec::new(), Vec::new());
        loop {
            let (page, cursor, more) = w.srv.pull_page(&w.a2.token, after, Some(limit));
            assert!(cursor > after, "cursor {cursor} after {after}");
            pages.push((page.len(), more));
            seen.extend(page);
            after = cursor;
            if !more {
                break;
            }
            assert!(pages.len() < 20, "pull does not end");
        }
        // Past the end: nothing, the cursor stays.
        let (rest, cursor, more) = w.srv.pull_page(&w.a2.token, after, Some(limit));
        assert!(rest.is_empty() && !more && cursor == after);
        (pages, seen)
    };
    let (pages, seen) = page_through(100);
    assert_eq!(pages, vec![(100, true), (100, true), (50, false)]);
    let ids: BTreeSet<OpId> = seen.iter().map(|o| o.id).collect();
    assert_eq!(ids.len(), 250, "an op came twice");
    // In push order, since one device pushed them in order.
    assert_eq!(seen, ops);
    // A segment is never split: a page stops before one that would take
    // it past its limit, and holds one longer than the limit on its own.
    assert_eq!(
        page_through(70).0,
        vec![(50, true), (50, true), (50, true), (50, true), (50, false)]
    );
    assert_eq!(page_through(30).0.len(), 5);
    // One push of more ops than a segment holds is stored in several.
    let more: Vec<_> = (0..300u64)
        .map(|i| {
            w.a.replica
                .note(t + 1_000 + i, visit, &format!("later note {i}"))
                .expect("note")
                .clone()
        })
        .collect();
    w.srv.push_ok(&w.a, &more);
    let (pages, seen) = page_through(1_000);
    assert_eq!(pages, vec![(550, false)]);
    assert_eq!(seen[250..], more[..]);
    let segments = w.srv.sql(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM ops WHERE visit_id = ?1",
            [visit.to_string()],
            |r| r.get::<_, i64>(0),
        )
    });
    assert_eq!(segments, 5 + 3, "128 ops to a segment");
}

/// Segments under a phone that retries and interleaves: pushes of random
/// sizes (up to three segments' worth) over four visits, each repeating
/// random ops pushed before at random places; then pulls at random page
/// sizes. Every new op is accepted and every repeat is a duplicate; each
/// op comes down exactly once, its visit's ops in push order; a page is
/// longer than its limit only when it is one segment.
#[test]
fn every_op_is_stored_and_pulled_once_whatever_the_pushes_and_page_sizes() {
    let mut w = World::new();
    let mut rng = Rng::new(0x5eed);
    let mut rand = move |n: usize| rng.range(0, n as u64 - 1) as usize;
    let mut all = Vec::new();
    let mut visits = Vec::new();
    for _ in 0..4 {
        let (visit, ops) = record_visit(&mut w.a, w.op1);
        w.srv.push_ok(&w.a, &ops);
        visits.push(visit);
        all.extend(ops);
    }
    let t = now_ms();
    let mut made = 0u64;
    for _ in 0..8 {
        let fresh: Vec<Op> = (0..1 + rand(3 * 128))
            .map(|_| {
                made += 1;
                let visit = visits[rand(visits.len())];
                w.a.replica
                    .note(t + made, visit, &format!("note {made}"))
                    .expect("note")
                    .clone()
            })
            .collect();
        let mut batch: Vec<(Op, bool)> = fresh.iter().map(|o| (o.clone(), true)).collect();
        for _ in 0..rand(40) {
            let old = all[rand(all.len())].clone();
            let at = rand(batch.len() + 1);
            batch.insert(at, (old, false));
        }
        let ops: Vec<Op> = batch.iter().map(|(o, _)| o.clone()).collect();
        let r = w.srv.push(&w.a.token, &ops).expect(200);
        for ((op, new), got) in batch.iter().zip(results(&r)) {
            let want = if *new { "accepted" } else { "duplicate" };
            assert_eq!(got["result"], json!(want), "{} {}", op.id, r.text);
        }
        all.extend(fresh);
    }
    // And a run of one-op pushes (one-op segments): a page of them is read
    // a growing chunk of segments at a time.
    let mut end = 0;
    loop {
        let (_, cursor, more) = w.srv.pull_page(&w.a2.token, end, Some(500));
        end = cursor;
        if !more {
            break;
        }
    }
    for _ in 0..80 {
        made += 1;
        let visit = visits[rand(visits.len())];
        let op =
            w.a.replica
                .note(t + made, visit, "one")
                .expect("note")
                .clone();
        w.srv.push_ok(&w.a, std::slice::from_ref(&op));
        all.push(op);
    }
    assert_eq!(w.srv.count("op_ids"), all.len() as i64);
    let (page, _, more) = w.srv.pull_page(&w.a2.token, end, Some(200));
    assert_eq!((page, more), (all[all.len() - 80..].to_vec(), false));

    for _ in 0..3 {
        let (mut after, mut seen) = (0, Vec::new());
        loop {
            let limit = 1 + rand(300) as i64;
            let (page, cursor, more) = w.srv.pull_page(&w.a2.token, after, Some(limit));
            assert!(
                page.len() as i64 <= limit.max(128),
                "a page of {} ops for a limit of {limit}",
                page.len()
            );
            seen.extend(page);
            after = cursor;
            if !more {
                break;
            }
        }
        let ids: BTreeSet<OpId> = seen.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), seen.len(), "an op came twice");
        assert_eq!(sorted(seen.clone()), sorted(all.clone()));
        for v in &visits {
            let of = |ops: &[Op]| -> Vec<OpId> {
                ops.iter().filter(|o| o.visit == *v).map(|o| o.id).collect()
            };
            assert_eq!(of(&seen), of(&all), "visit {v} out of push order");
        }
    }
}

#[test]
fn a_wire_pull_pages_the_same_ops_as_json() {
    let mut w = World::new();
    let (_, ops) = record_visit(&mut w.a, w.op1);
    // One op to a push, so one to a segment: pages of two.
    for op in &ops {
        w.srv.push_ok(&w.a, std::slice::from_ref(op));
    }
    let (mut after, mut seen) = (0i64, Vec::new());
    loop {
        let (status, headers, bytes) = w.srv.get_bytes(
            &format!("/api/v1/sync/pull?after={after}&limit=2&format=wire"),
            &w.a2.token,
        );
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/octet-stream");
        let page = sync_core::wire::decode(&bytes).expect("a wire batch");
        assert!(page.len() <= 2);
        seen.extend(page);
        after = headers["x-aidant-cursor"].parse().expect("cursor");
        if headers["x-aidant-more"] == "false" {
            break;
        }
        assert!(seen.len() <= ops.len(), "pull does not end");
    }
    assert_eq!(seen, w.srv.pull_all(&w.a2.token));
    assert_eq!(sorted(seen), sorted(ops));
    w.srv
        .get("/api/v1/sync/pull?format=xml", Some(&w.a2.token))
        .expect_error(400, "bad_query");
}
