//! Push and pull through HTTP: idempotence, per-op results and quarantine,
//! paging, partial-sync scope, convergence with a conflict, and review.

use crate::harness::{now_ms, record_visit, World};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use sync_core::{
    Action, Hlc, Op, OpId, ReplicaId, SetTarget, Status, Target, VisitField, VisitId, VisitSet,
    VisitView,
};
use uuid::Uuid;

pub(crate) fn sorted(mut ops: Vec<Op>) -> Vec<Op> {
    ops.sort_by_key(|o| o.id);
    ops
}

pub(crate) fn results(r: &crate::harness::Resp) -> Vec<Value> {
    r.body["results"].as_array().expect("results").clone()
}

#[test]
fn pushing_the_same_batch_twice_stores_each_op_once() {
    let mut w = World::new();
    let (_, ops) = record_visit(&mut w.a, w.op1);
    let n = ops.len();

    // Part of the batch first, then all of it: old ones are duplicates.
    let first = w.srv.push(&w.a.token, &ops[..3]).expect(200);
    assert_eq!(first.body["accepted"], json!(3), "{}", first.text);
    let r = w.srv.push(&w.a.token, &ops).expect(200);
    let res = results(&r);
    assert_eq!(res.len(), n);
    for (i, (res, op)) in res.iter().zip(&ops).enumerate() {
        let want = if i < 3 { "duplicate" } else { "accepted" };
        assert_eq!(res["result"], json!(want), "op {i}: {res}");
        assert_eq!(res["op"], json!(op.id.to_string()));
    }
    assert_eq!(
        (
            &r.body["accepted"],
            &r.body["duplicates"],
            &r.body["rejected"]
        ),
        (&json!(n - 3), &json!(3), &json!(0))
    );

    // The whole batch again: nothing new.
    let again = w.srv.push(&w.a.token, &ops).expect(200);
    assert!(
        results(&again).iter().all(|r| r["result"] == "duplicate"),
        "{}",
        again.text
    );
    assert_eq!(again.body["duplicates"], json!(n));
    assert_eq!(again.body["accepted"], json!(0));
    // And once more in the compact wire format: the same ops, still duplicates.
    let wire = sync_core::wire::encode(ops.iter());
    let r = w
        .srv
        .send(
            "POST",
            "/api/v1/sync/push",
            Some(&w.a.token),
            Some(("application/octet-stream", &wire)),
        )
        .expect(200);
    assert_eq!(r.body["duplicates"], json!(n), "{}", r.text);

    // Each op comes down exactly once, unchanged, to a team-mate; never
    // back to the phone that pushed it.
    assert_eq!(sorted(w.srv.pull_all(&w.a2.token)), sorted(ops.clone()));
    assert!(w.srv.pull_all(&w.a.token).is_empty());
    assert_eq!(w.srv.count("op_ids"), n as i64);
}

#[test]
fn bad_ops_in_a_batch_are_rejected_one_by_one_and_quarantined() {
    let mut w = World::new();
    let (visit, mut good) = record_visit(&mut w.a, w.op1);
    let me = w.a.id;
    let hlc = Hlc::new(now_ms(), 0);
    let op = |seq: u64, replica: ReplicaId, visit: VisitId, action: Action| {
        serde_json::to_value(Op {
            id: OpId::new(replica, seq),
            hlc,
            visit,
            action,
        })
        .expect("JSON")
    };
    let postcode = |v: sync_core::Value| Action::Set {
        target: Target::Visit(VisitField::Postcode),
        value: v,
        pred: vec![],
    };
    let note = |t: &str| Action::Note { text: t.into() };
    // Sequence numbers far past the device's own, so they never collide.
    let bad: Vec<(Value, &str)> = vec![
        (
            op(
                1_001,
                me,
                visit,
                postcode(sync_core::Value::Text("not a postcode".into())),
            ),
            "invalid",
        ),
        (
            op(1_002, w.a2.id, visit, note("someone else's op")),
            "wrong_replica",
        ),
        (json!({ "hello": "this is not an op" }), "malformed"),
        (
            op(1_003, me, VisitId(Uuid::new_v4()), note("no such visit")),
            "unknown_visit",
        ),
        (
            op(
                1_004,
                me,
                VisitId(Uuid::new_v4()),
                Action::Create { operation: w.op2 },
            ),
            "forbidden_operation",
        ),
        (op(1_005, me, visit, note(&"x".repeat(10_001))), "invalid"),
        (
            op(1_006, me, visit, Action::Create { operation: w.op2 }),
            "operation_mismatch",
        ),
    ];
    // Good ops before, between and after the bad ones.
    let t = now_ms();
    good.push(
        w.a.replica
            .add(
                t,
                visit,
                SetTarget::Visit(VisitSet::PartnerAgencies),
                "glaa",
            )
            .expect("add")
            .clone(),
    );
    good.push(
        w.a.replica
            .note(t + 1, visit, "Almost the last.")
            .expect("note")
            .clone(),
    );
    good.push(
        w.a.replica
            .note(t + 2, visit, "Last one.")
            .expect("note")
            .clone(),
    );
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    let mut good_iter = good.iter();
    for (b, code) in &bad {
        let g = good_iter.next().expect("enough good ops");
        batch.push(serde_json::to_value(g).expect("JSON"));
        expected.push(("accepted", None));
        batch.push(b.clone());
        expected.push(("rejected", Some(*code)));
    }
    for g in good_iter {
        batch.push(serde_json::to_value(g).expect("JSON"));
        expected.push(("accepted", None));
    }

    let r = w
        .srv
        .post(
            "/api/v1/sync/push",
            Some(&w.a.token),
            &json!({ "ops": batch }),
        )
        .expect(200);
    let res = results(&r);
    assert_eq!(res.len(), batch.len());
    for (i, (res, (result, code))) in res.iter().zip(&expected).enumerate() {
        assert_eq!(res["result"], json!(result), "item {i}: {res}");
        if let Some(code) = code {
            assert_eq!(res["code"], json!(code), "item {i}: {res}");
            assert!(res["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    assert_eq!(r.body["accepted"], json!(good.len()));
    assert_eq!(r.body["rejected"], json!(bad.len()));
    // The invalid value names its field; the malformed item has no op id.
    assert_eq!(res[1]["field"], json!("postcode"), "{}", res[1]);
    assert_eq!(res[5]["op"], Value::Null);

    // An op id reused for a different op is refused, and the original stays.
    let mut reused = good[0].clone();
    reused.hlc = Hlc::new(now_ms() + 99, 0);
    let r = w.srv.push(&w.a.token, &[reused]).expect(200);
    assert_eq!(results(&r)[0]["code"], json!("id_reused"), "{}", r.text);

    // The good ops, and only they, are stored and come down.
    assert_eq!(sorted(w.srv.pull_all(&w.a2.token)), sorted(good.clone()));

    // Every rejected item is in the quarantine, with the device and the body.
    let q = w
        .srv
        .get("/api/v1/admin/quarantine", Some(&w.admin))
        .expect(200);
    let rows = q.body.as_array().expect("rows");
    let mut codes: Vec<&str> = rows.iter().map(|r| r["code"].as_str().unwrap()).collect();
    codes.sort_unstable();
    let mut want: Vec<&str> = bad.iter().map(|(_, c)| *c).chain(["id_reused"]).collect();
    want.sort_unstable();
    assert_eq!(codes, want);
    for row in rows {
        assert_eq!(row["device_id"], json!(me.to_string()), "{row}");
    }
    let row = |code: &str| rows.iter().find(|r| r["code"] == code).expect(code);
    assert!(row("malformed")["body"]
        .as_str()
        .unwrap()
        .contains("this is not an op"));
    assert_eq!(row("malformed")["replica"], Value::Null);
    assert_eq!(row("wrong_replica")["replica"], json!(w.a2.id.to_string()));
    assert_eq!(row("unknown_visit")["seq"], json!(1_003));
    // No visit was created for the refused create or the unknown visit.
    assert_eq!(w.srv.count("visits"), 1);
}

#[test]
fn a_pull_is_gzipped_for_a_phone_that_accepts_gzip() {
    let mut w = World::new();
    let (visit, mut ops) = record_visit(&mut w.a, w.op1);
    let t = now_ms();
    for i in 0..200u64 {
        let op = w.a.replica.note(t + i, visit, &format!("note {i}"));
        ops.push(op.expect("note").clone());
    }
    w.srv.push_ok(&w.a, &ops);
    for format in ["wire", "json"] {
        let path = format!("/api/v1/sync/pull?limit=500&format={format}");
        let (_, plain_headers, plain) = w.srv.get_bytes(&path, &w.a2.token);
        assert!(!plain_headers.contains_key("content-encoding"), "{format}");
        let (status, headers, small) =
            w.srv
                .get_bytes_with(&path, &w.a2.token, &[("Accept-Encoding", "gzip, deflate")]);
        assert_eq!(status, 200);
        assert_eq!(headers["content-encoding"], "gzip", "{format}");
        assert!(
            small.len() * 2 < plain.len(),
            "{format}: {} of {}",
            small.len(),
            plain.len()
        );
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&small[..]), &mut unzipped)
            .expect("gzip");
        assert_eq!(unzipped, plain, "{format}: gzip changed the page");
    }
}

#[test]
fn each_officer_pulls_only_their_operations_ops() {
    let mut w = World::new();
    let (v1, ops1) = record_visit(&mut w.a, w.op1);
    let (v2, ops2) = record_visit(&mut w.b, w.op2);
    w.srv.push_ok(&w.a, &ops1);
    w.srv.push_ok(&w.b, &ops2);

    let visits = |token: &str| -> BTreeSet<VisitId> {
        w.srv.pull_all(token).iter().map(|o| o.visit).collect()
    };
    // A phone never gets its own ops back; its team-mate gets them.
    assert_eq!(visits(&w.a.token), BTreeSet::new());
    assert_eq!(visits(&w.a2.token), BTreeSet::from([v1]));
    assert_eq!(visits(&w.b.token), BTreeSet::new());
    let _ = v2;
    // People's sessions do not sync at all.
    for token in [&w.sup1, &w.sup2, &w.admin] {
        w.srv
            .get("/api/v1/sync/pull", Some(token))
            .expect_error(403, "device_required");
    }

    // Officer B may not write into operation 1's visit either.
    let t = now_ms();
    let sneaky = Op {
        id: OpId::new(w.b.id, 500),
        hlc: Hlc::new(t, 0),
        visit: v1,
        action: Action::Note {
            text: "written from the wrong operation".into(),
        },
    };
    let r = w.srv.push(&w.b.token, &[sneaky]).expect(200);
    assert_eq!(results(&r)[0]["code"], json!("forbidden_visit"));
    assert_eq!(sorted(w.srv.pull_all(&w.a2.token)), sorted(ops1));
}

#[test]
fn concurrent_offline_edits_converge_and_show_the_conflict() {
    let mut w = World::new();
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let pulled = w.srv.pull_all(&w.a2.token);
    let t = now_ms();
    let report = w.a2.replica.apply(t, pulled);
    assert_eq!(report.accepted(), ops.len());

    // Offline, both write the postcode (neither sees the other) and more.
    let pc = Target::Visit(VisitField::Postcode);
    let a_ops = vec![
        w.a.replica
            .set(
                t + 10,
                visit,
                pc.clone(),
                sync_core::Value::Text("OX4 2BB".into()),
            )
            .unwrap()
            .clone(),
        w.a.replica
            .add(
                t + 11,
                visit,
                SetTarget::Visit(VisitSet::PartnerAgencies),
                "glaa",
            )
            .unwrap()
            .clone(),
    ];
    let a2_ops = vec![
        w.a2.replica
            .set(t + 20, visit, pc, sync_core::Value::Text("OX4 3CC".into()))
            .unwrap()
            .clone(),
        w.a2.replica
            .note(t + 21, visit, "Second officer's note.")
            .unwrap()
            .clone(),
    ];
    w.srv.push_ok(&w.a2, &a2_ops);
    w.srv.push_ok(&w.a, &a_ops);

    for dev in [&mut w.a, &mut w.a2] {
        let ops = w.srv.pull_all(&dev.token);
        let report = dev.replica.apply(now_ms(), ops);
        assert!(report.rejected().is_empty());
    }
    let va = w.a.replica.visit(&visit).expect("visit on A");
    let vb = w.a2.replica.visit(&visit).expect("visit on A2");
    assert_eq!(va, vb, "the two phones differ");
    assert_eq!(va.conflicts().len(), 1);
    assert_eq!(va.text(&VisitField::Postcode), Some("OX4 3CC"));

    // The server shows the same merged record, conflict included.
    let r = w
        .srv
        .get(
            &format!("/api/v1/visits/{visit}?reason=checking+the+postcode"),
            Some(&w.sup1),
        )
        .expect(200);
    let postcode = &r.body["fields"]["postcode"];
    assert_eq!(
        postcode["value"],
        json!({ "text": "OX4 3CC" }),
        "{postcode}"
    );
    let conflict = postcode["conflict"].as_array().expect("conflict listed");
    assert_eq!(conflict.len(), 1, "{postcode}");
    assert_eq!(conflict[0]["value"], json!({ "text": "OX4 2BB" }));
    assert_eq!(conflict[0]["by"], json!(w.a.id.to_string()));
    assert_eq!(r.body["conflicts"], json!(1));
    assert_eq!(
        r.body,
        serde_json::to_value(VisitView::from(va)).unwrap(),
        "server and phone disagree"
    );
    let list = w.srv.get("/api/v1/visits", Some(&w.sup1)).expect(200);
    assert_eq!(list.body[0]["id"], json!(visit.to_string()));
    assert_eq!(list.body[0]["conflicts"], json!(1));
}

#[test]
fn supervisors_review_submitted_visits_and_the_review_syncs_down() {
    let mut w = World::new();
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let review = format!("/api/v1/visits/{visit}/review");

    // A draft cannot be reviewed.
    w.srv
        .send("POST", &review, Some(&w.sup1), None)
        .expect_error(409, "not_submitted");
    // Officers cannot review, even their own visit.
    w.srv
        .send("POST", &review, Some(&w.a.token), None)
        .expect_error(403, "session_required");

    let submit =
        w.a.replica
            .set_status(now_ms(), visit, Status::Submitted)
            .unwrap()
            .clone();
    w.srv.push_ok(&w.a, std::slice::from_ref(&submit));
    // A supervisor of another operation does not even see it.
    w.srv
        .send("POST", &review, Some(&w.sup2), None)
        .expect_error(404, "not_found");

    let r = w.srv.send("POST", &review, Some(&w.sup1), None).expect(200);
    assert_eq!(r.body["status"], json!("reviewed"), "{}", r.text);
    let stored = w.srv.count("op_ids");
    // Reviewing again changes nothing.
    let again = w.srv.send("POST", &review, Some(&w.sup1), None).expect(200);
    assert_eq!(again.body["status"], json!("reviewed"));
    assert_eq!(w.srv.count("op_ids"), stored);

    // The review arrives on the phones as an op from the server's replica.
    let pulled = w.srv.pull_all(&w.a2.token);
    let reviews: Vec<&Op> = pulled
        .iter()
        .filter(|o| {
            matches!(
                &o.action,
                Action::Status {
                    status: Status::Reviewed,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(reviews.len(), 1, "{pulled:?}");
    assert_eq!(reviews[0].visit, visit);
    assert!(reviews[0].id.replica != w.a.id && reviews[0].id.replica != w.a2.id);
    let ops = w.srv.pull_all(&w.a.token);
    w.a.replica.apply(now_ms(), ops);
    assert_eq!(
        w.a.replica.visit(&visit).unwrap().status(),
        Status::Reviewed
    );
    let view = w
        .srv
        .get(
            &format!("/api/v1/visits/{visit}?reason=check"),
            Some(&w.sup1),
        )
        .expect(200);
    assert_eq!(view.body["status"], json!("reviewed"));
    let list = w
        .srv
        .get("/api/v1/visits?status=reviewed", Some(&w.sup1))
        .expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
}

/// The visit's merged state as kept (with its `through`), if one is kept,
/// the latest op cursor, and the states folded from the stored ops up to
/// `through` and up to the latest, read straight from the database.
#[allow(clippy::type_complexity)]
fn stored_state(
    srv: &crate::harness::Server,
    visit: VisitId,
) -> (
    Option<(sync_core::Visit, i64)>,
    i64,
    sync_core::Visit,
    sync_core::Visit,
) {
    let id = visit.to_string();
    let (kept, latest, bodies): (Option<(Vec<u8>, i64)>, i64, Vec<(Vec<u8>, i64)>) = srv.sql(|c| {
        let kept = c.query_opt(
            "SELECT state, through FROM visit_states WHERE visit_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let latest: i64 = c.query_row(
            "SELECT MAX(cursor) FROM ops WHERE visit_id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        let bodies = c.query_map(
            "SELECT wire, cursor FROM ops WHERE visit_id = ?1 ORDER BY cursor",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((kept, latest, bodies))
    });
    let kept = kept.map(|(state, through)| {
        let mut decoded = sync_core::snapshot::decode_limited(&state, 1).expect("a snapshot");
        (decoded.pop().expect("one visit"), through)
    });
    let through = kept.as_ref().map_or(0, |k| k.1);
    let (mut upto, mut folded) = (sync_core::Visit::new(visit), sync_core::Visit::new(visit));
    // Each row is a segment: a push's ops of the visit.
    for (body, cursor) in bodies {
        for op in &sync_core::wire::decode(&body).expect("ops") {
            folded.apply(op);
            if cursor <= through {
                upto.apply(op);
            }
        }
    }
    (kept, latest, upto, folded)
}

#[test]
fn a_visits_merged_state_is_kept_with_its_latest_op_and_equals_its_ops_folded_and_is_caught_up() {
    let mut w = World::new();
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    // In two pushes, the second repeating the first.
    w.srv.push_ok(&w.a, &ops[..2]);
    w.srv.push(&w.a.token, &ops).expect(200);
    let t = now_ms();
    w.a2.replica.apply(t, w.srv.pull_all(&w.a2.token));
    // Concurrent edits from two phones, and an op refused in the same batch.
    let pc = Target::Visit(VisitField::Postcode);
    let text = |s: &str| sync_core::Value::Text(s.into());
    let a_op = w.a.replica.set(t + 5, visit, pc.clone(), text("OX4 2BB"));
    let a_op = a_op.unwrap().clone();
    let a2_op = w.a2.replica.set(t + 6, visit, pc, text("OX4 3CC"));
    let a2_op = a2_op.unwrap().clone();
    let review = w.a2.replica.set_status(t + 7, visit, Status::Reviewed);
    let review = review.unwrap().clone();
    w.srv.push_ok(&w.a, &[a_op]);
    let r = w.srv.push(&w.a2.token, &[a2_op, review]).expect(200);
    assert_eq!(
        results(&r)[1]["code"],
        json!("forbidden_action"),
        "{}",
        r.text
    );

    // A short visit's state is not kept yet: it is folded when loaded.
    let (kept, _, _, folded) = stored_state(&w.srv, visit);
    assert!(kept.is_none(), "a state kept for a short visit");
    assert_eq!(folded.conflicts().len(), 1);
    assert_eq!(folded.status(), Status::Draft, "a refused op left no trace");
    // Once 64 of its ops are not in a kept state, the push keeps it: it
    // holds the latest op and equals the ops folded.
    let notes: Vec<sync_core::Op> = (0..70)
        .map(|i| {
            w.a.replica
                .note(t + 10 + i, visit, &format!("Note {i}."))
                .unwrap()
                .clone()
        })
        .collect();
    w.srv.push_ok(&w.a, &notes);
    let (kept, latest, _, folded) = stored_state(&w.srv, visit);
    let (stored, through) = kept.expect("a kept state");
    assert_eq!(through, latest, "the kept state holds the latest op");
    assert_eq!(stored, folded, "the kept state is not the ops folded");
    // A few more ops later it is behind, and still exact up to `through`.
    let more = w.a.replica.note(t + 90, visit, "Later.").unwrap().clone();
    w.srv.push_ok(&w.a, &[more]);
    let (kept, latest, upto, _) = stored_state(&w.srv, visit);
    let (stored, through) = kept.expect("a kept state");
    assert!(through < latest, "kept on every push");
    assert_eq!(stored, upto, "the kept state is not its ops folded");

    // A kept state that is behind its visit's ops (a push that stored ops
    // without it: bulk loading, an older database) is caught up with the
    // ops after it; one that cannot be read is ignored and the visit folded
    // from its ops. Either way a supervisor reads the ops folded.
    let path = format!("/api/v1/visits/{visit}?reason=check");
    let before = w.srv.get(&path, Some(&w.sup1)).expect(200).body;
    assert!(
        before["fields"].is_object() || before["fields"].is_array(),
        "{before}"
    );
    let id = visit.to_string();
    let bodies: Vec<(Vec<u8>, i64)> = w.srv.sql(|c| {
        c.query_map(
            "SELECT wire, cursor FROM ops WHERE visit_id = ?1 ORDER BY cursor",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    });
    let mut behind = sync_core::Visit::new(visit);
    for (body, _) in &bodies[..bodies.len() - 2] {
        for op in &sync_core::wire::decode(body).expect("ops") {
            behind.apply(op);
        }
    }
    let behind_through = bodies[bodies.len() - 3].1;
    assert!(behind_through < latest);
    for (state, through) in [
        (sync_core::snapshot::encode([&behind]), behind_through),
        (b"not a snapshot".to_vec(), latest),
    ] {
        w.srv.sql(|c| {
            c.execute(
                "UPDATE visit_states SET state = ?1, through = ?2 WHERE visit_id = ?3",
                server::db::sql::args![state, through, id],
            )
        });
        let after = w.srv.get(&path, Some(&w.sup1)).expect(200).body;
        assert_eq!(after, before, "a kept state at {through} was misread");
    }
    // Pushes go on from the right state (a push keeps the states it made
    // decoded once committed, so it need not read the kept one), and once
    // 64 ops are not in the kept state it is rewritten whole.
    let repair: Vec<sync_core::Op> = (0..64)
        .map(|i| {
            w.a.replica
                .note(t + 100 + i, visit, &format!("After the repair {i}."))
                .unwrap()
                .clone()
        })
        .collect();
    w.srv.push_ok(&w.a, &repair);
    let (kept, latest, _, folded) = stored_state(&w.srv, visit);
    assert_eq!(kept, Some((folded, latest)));
}
