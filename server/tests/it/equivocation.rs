//! Equivocation heals: a phone that reused its own op ids (restored from an
//! old backup) gets a fresh replica id, re-issues what the server refused or
//! never received, and every replica converges with nothing typed lost.

use crate::harness::{now_ms, record_visit, Device, Resp, Server};
use serde_json::{json, Value};
use sync_core::{Op, Target, Value as V, VisitField};

fn results(r: &Resp) -> Vec<Value> {
    r.body["results"].as_array().expect("results").clone()
}

fn sync_down(srv: &Server, dev: &mut Device) {
    let ops = srv.pull_all(&dev.token);
    dev.replica.apply(now_ms(), ops);
}

/// Regression: a phone restored from an old backup reused op ids; the server
/// kept its first versions and answered `id_reused`, and the phone had no way
/// out. Now it gets a fresh replica id, re-issues what was refused or unsent,
/// and it, a team-mate's phone and the server converge with both edits.
#[test]
fn a_phone_restored_from_a_backup_rekeys_and_everyone_converges() {
    let w = crate::harness::World::new();
    let (mut a, mut mate) = (w.a, w.a2);
    let (v, ops) = record_visit(&mut a, w.op1);
    w.srv.push_ok(&a, &ops);
    let backup = a.replica.clone();
    // After the backup: an edit that reaches the server and the team-mate.
    let pc = Target::Visit(VisitField::Postcode);
    let lost = a
        .replica
        .set(now_ms(), v, pc.clone(), V::Text("OX4 9ZZ".into()))
        .unwrap()
        .clone();
    w.srv.push_ok(&a, std::slice::from_ref(&lost));
    sync_down(&w.srv, &mut mate);

    // The old copy comes back; the officer types two things and syncs.
    a.replica = backup;
    let acked = a.replica.own_ops_after(0).count() as u64;
    a.replica
        .note(now_ms(), v, "Typed after the restore.")
        .unwrap();
    a.replica.note(now_ms(), v, "And another.").unwrap();
    let batch: Vec<Op> = a.replica.own_ops_after(acked).cloned().collect();
    let r = w.srv.push(&a.token, &batch).expect(200);
    let res = results(&r);
    assert_eq!(res[0]["code"], json!("id_reused"), "{}", r.text);
    assert_eq!(res[1]["result"], json!("accepted"), "{}", r.text);
    let refused: Vec<u64> = res
        .iter()
        .filter(|x| x["code"] == "id_reused")
        .map(|x| {
            x["op"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();

    // Recovery: a fresh replica id; the refused note made again under it.
    let rk = w
        .srv
        .send("POST", "/api/v1/sync/rekey", Some(&a.token), None)
        .expect(200);
    let new_id: sync_core::ReplicaId = rk.body["replica_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(new_id, a.id);
    let pushed_up_to = batch.last().unwrap().id.seq;
    let (healed, renamed) = a.replica.rekey(new_id, &refused, pushed_up_to);
    assert_eq!(renamed.len(), 1);
    a.replica = healed;
    // Ops under the old id are now refused; under the new one accepted.
    let stale = w.srv.push(&a.token, &batch).expect(200);
    assert_eq!(results(&stale)[0]["code"], json!("wrong_replica"));
    let mine: Vec<Op> = a.replica.own_ops_after(0).cloned().collect();
    w.srv.push_ok(&a, &mine);
    // From the start: the server's versions of the old ids come down too.
    sync_down(&w.srv, &mut a);
    sync_down(&w.srv, &mut mate);

    let va = a.replica.visit(&v).unwrap();
    assert_eq!(Some(va), mate.replica.visit(&v), "the two phones differ");
    assert_eq!(va.text(&VisitField::Postcode), Some("OX4 9ZZ"));
    let notes: Vec<String> = va.notes().map(|n| n.text.clone()).collect();
    assert!(
        notes.iter().any(|n| n == "Typed after the restore."),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n == "And another."), "{notes:?}");
    let server = w
        .srv
        .get(
            &format!("/api/v1/visits/{v}?reason=check+the+restore"),
            Some(&w.sup1),
        )
        .expect(200);
    assert_eq!(
        server.body,
        serde_json::to_value(sync_core::VisitView::from(va)).unwrap(),
        "server and phone disagree"
    );
}

/// A phone put back from an old copy, with no new edit: it says how far it
/// holds its own ops (`mine`), and its pulls bring back what it had pushed
/// since, so it converges without reusing an op id. Without `mine`, a
/// phone is never sent its own ops.
#[test]
fn a_phone_restored_without_new_edits_gets_its_own_later_ops_back() {
    let mut w = crate::harness::World::new();
    let (_, first) = crate::harness::record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &first);
    let copy = w.a.replica.clone();
    let (_, later) = crate::harness::record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &later);
    // The old copy is put back.
    w.a.replica = copy;
    let mine = w.a.replica.next_seq() - 1;
    assert_eq!(mine as usize, first.len());
    let ids = |path: &str| -> Vec<sync_core::OpId> {
        let r = w.srv.get(path, Some(&w.a.token)).expect(200);
        r.body["ops"]
            .as_array()
            .expect("ops")
            .iter()
            .map(|o| {
                serde_json::from_value::<sync_core::Op>(o.clone())
                    .expect("op")
                    .id
            })
            .collect()
    };
    assert!(
        ids("/api/v1/sync/pull?after=0").is_empty(),
        "never its own ops without mine"
    );
    let back = ids(&format!("/api/v1/sync/pull?after=0&mine={mine}"));
    assert_eq!(back, later.iter().map(|o| o.id).collect::<Vec<_>>());
    w.srv
        .get("/api/v1/sync/pull?after=0&mine=-1", Some(&w.a.token))
        .expect_error(400, "bad_query");
}
