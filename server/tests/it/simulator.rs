//! The simulator: native sync-core devices, honest and hostile, syncing with
//! the real `aidant serve` binary over HTTP, while the network partitions
//! devices, loses answers (so pushes are repeated), duplicates and reorders
//! pull pages, the server is SIGKILLed and restarted on the same file, and a
//! phone is restored from an old backup. Hostile input: forged removes that
//! name another element's add, extreme clocks, the most preds an op may
//! carry, junk bodies, slow bodies, reviews from a phone, writes to another
//! team's visit.
//!
//! At the end every honest device and the server hold identical visits, no
//! acknowledged op is lost or stored twice, and the hostile device changed
//! nothing it may not change. The seed is printed; `AIDANT_SIM_SEED=N`
//! replays a run exactly (the server's timing aside), `AIDANT_SIM_ROUNDS=N`
//! runs longer (default 300 rounds, a few seconds to a minute).

use crate::crash::{agent, call, must, Rng, Server, ADMIN_PASSWORD};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use sync_core::{
    Action, Hlc, LocationKind, Op, OpId, OperationId, Replica, ReplicaId, SetTarget, Status,
    Target, Value, VisitField, VisitId, VisitSet, VisitView,
};
use uuid::Uuid;

const INDICATORS: &[&str] = &[
    "cw_cash_only_no_receipts",
    "cw_workers_live_on_site",
    "ht_many_phones",
    "ht_cash_payments",
];

/// A phone: its replica, its token and how far the server has acknowledged it.
struct Phone {
    name: &'static str,
    token: String,
    replica: Replica,
    /// Own ops up to this sequence number were answered accepted or duplicate.
    acked: u64,
    cursor: i64,
    online: bool,
    hostile: bool,
    /// Every op id the server acknowledged for this phone.
    acknowledged: BTreeSet<OpId>,
    /// A copy of the store, for a restore from backup.
    backup: Option<(Replica, u64, i64)>,
}

fn seed() -> u64 {
    std::env::var("AIDANT_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Sim {
    rng: Rng,
    server: Option<Server>,
    db: std::path::PathBuf,
    log: std::path::PathBuf,
    admin: String,
    sup: String,
    operation: OperationId,
    phones: Vec<Phone>,
    restarts: usize,
    rekeys: usize,
    lost_answers: usize,
}

impl Sim {
    fn base(&self) -> String {
        self.server.as_ref().expect("server running").base.clone()
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.range(1, 100) <= percent
    }

    fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill();
        }
        self.server = Some(Server::start(&self.db, &self.log));
        self.restarts += 1;
    }

    /// A user in a team of the operation with an enrolled phone.
    fn enrol(&mut self, name: &'static str, team: &Json, hostile: bool) -> Phone {
        let (a, base) = (agent(), self.base());
        let t = Some(self.admin.as_str());
        let user = must(
            &a,
            "POST",
            format!("{base}/api/v1/users"),
            t,
            Some(json!({ "username": name, "display_name": name, "role": "officer" })),
        );
        must(
            &a,
            "POST",
            format!("{base}/api/v1/operations/{}/members", self.operation),
            t,
            Some(json!({ "user_id": user["id"], "team_id": team["id"] })),
        );
        let code = must(
            &a,
            "POST",
            format!(
                "{base}/api/v1/users/{}/enrolment-codes",
                user["id"].as_str().unwrap()
            ),
            t,
            None,
        );
        let e = must(
            &a,
            "POST",
            format!("{base}/api/v1/enrol"),
            None,
            Some(json!({ "code": code["code"] })),
        );
        let id: ReplicaId = e["device_id"].as_str().unwrap().parse().unwrap();
        Phone {
            name,
            token: e["token"].as_str().unwrap().to_owned(),
            replica: Replica::new(id),
            acked: 0,
            cursor: 0,
            online: true,
            hostile,
            acknowledged: BTreeSet::new(),
            backup: None,
        }
    }

    /// An honest edit on phone `i`: a new visit, or an edit of one it holds.
    fn edit(&mut self, i: usize) {
        let t = now_ms();
        let op = self.operation;
        let visits: Vec<VisitId> = self.phones[i].replica.visits().map(|v| v.id()).collect();
        let pick = self.rng.next() as usize;
        let choice = self.rng.range(0, 6);
        let p = &mut self.phones[i];
        if visits.is_empty() || choice == 0 {
            let kinds = [
                LocationKind::CarWash,
                LocationKind::Hotel,
                LocationKind::NailBar,
            ];
            let kind = kinds[pick % kinds.len()].clone();
            p.replica
                .create_visit(t, VisitId(Uuid::new_v4()), op, kind)
                .expect("create");
            return;
        }
        let v = visits[pick % visits.len()];
        let elem = INDICATORS[pick % INDICATORS.len()];
        let set = SetTarget::Visit(VisitSet::Indicators);
        let _ = match choice {
            1 => p
                .replica
                .set(
                    t,
                    v,
                    Target::Visit(VisitField::PremisesName),
                    Value::Text(format!("{} premises {}", p.name, pick % 97)),
                )
                .map(|_| ()),
            2 => p.replica.add(t, v, set, elem).map(|_| ()),
            3 => p.replica.remove(t, v, set, elem).map(|_| ()),
            4 => p
                .replica
                .note(t, v, &format!("{} note {}", p.name, pick % 1000))
                .map(|_| ()),
            _ => p
                .replica
                .set(
                    t,
                    v,
                    Target::Visit(VisitField::Occupants),
                    Value::Int((pick % 12) as i64),
                )
                .map(|_| ()),
        };
    }

    /// Pushes phone `i`'s unacknowledged ops; heals by rekeying when the
    /// server says its op ids were reused or its replica is stale.
    fn push(&mut self, i: usize) {
        let base = self.base();
        let lose_answer = self.chance(15);
        let send_twice = self.chance(10);
        let batch_max = self.rng.range(1, 60) as usize;
        let p = &mut self.phones[i];
        let ops: Vec<Op> = p
            .replica
            .own_ops_after(p.acked)
            .take(batch_max)
            .cloned()
            .collect();
        if ops.is_empty() {
            return;
        }
        let body = sync_core::wire::encode(ops.iter());
        // Status and body, or None when the server could not be reached.
        let send = || -> Option<(u16, String)> {
            match agent()
                .post(&format!("{base}/api/v1/sync/push"))
                .set("Authorization", &format!("Bearer {}", p.token))
                .set("Content-Type", "application/octet-stream")
                .send_bytes(&body)
            {
                Ok(r) | Err(ureq::Error::Status(_, r)) => {
                    Some((r.status(), r.into_string().unwrap_or_default()))
                }
                Err(_) => None,
            }
        };
        if send_twice {
            let _ = send();
        }
        let Some(answer) = send() else {
            return; // the server is down: try again later
        };
        if lose_answer {
            // The request may have been stored; the answer never came.
            self.lost_answers += 1;
            return;
        }
        let (status, text) = answer;
        assert_eq!(status, 200, "{} push: {text}", p.name);
        let res: Json = serde_json::from_str(&text).unwrap();
        let mut reused = Vec::new();
        let mut stale = false;
        for (op, r) in ops.iter().zip(res["results"].as_array().unwrap()) {
            match (r["result"].as_str(), r["code"].as_str()) {
                (Some("accepted" | "duplicate"), _) => {
                    p.acknowledged.insert(op.id);
                }
                (_, Some("id_reused")) => reused.push(op.id.seq),
                (_, Some("wrong_replica")) => stale = true,
                (_, code) if p.hostile => {
                    let _ = code;
                }
                (_, code) => panic!("{}'s honest op {} refused: {code:?} {r}", p.name, op.id),
            }
        }
        let up_to = ops.last().map_or(p.acked, |o| o.id.seq);
        if reused.is_empty() && !stale {
            p.acked = up_to;
            return;
        }
        // Heal: a fresh replica id, the refused and unsent edits made again.
        let (status, rk) = call(
            agent()
                .post(&format!("{base}/api/v1/sync/rekey"))
                .set("Authorization", &format!("Bearer {}", p.token)),
            None,
        )
        .unwrap_or((0, Json::Null));
        if status != 200 {
            return;
        }
        let new_id: ReplicaId = rk["replica_id"].as_str().unwrap().parse().unwrap();
        let pushed = if stale { p.acked } else { up_to };
        p.replica = p.replica.rekey(new_id, &reused, pushed).0;
        p.acked = 0;
        p.cursor = 0;
        self.rekeys += 1;
    }

    /// Pulls every page after the phone's cursor; applies them in a shuffled
    /// order, some twice.
    fn pull(&mut self, i: usize) {
        let base = self.base();
        let limit = self.rng.range(1, 300);
        let mut pages = Vec::new();
        let mut cursor = self.phones[i].cursor;
        // As the field app does: how far it holds its own ops, so that a
        // phone restored from an old backup gets back what it had pushed.
        let mine = self.phones[i].replica.next_seq() - 1;
        loop {
            let url = format!(
                "{base}/api/v1/sync/pull?after={cursor}&limit={limit}&format=wire&mine={mine}"
            );
            let r = agent()
                .get(&url)
                .set("Authorization", &format!("Bearer {}", self.phones[i].token))
                .call();
            let Ok(r) = r else { return };
            let next: i64 = r.header("X-Aidant-Cursor").unwrap().parse().unwrap();
            let more = r.header("X-Aidant-More") == Some("true");
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).unwrap();
            pages.push(sync_core::wire::decode(&bytes).expect("a wire page"));
            cursor = next;
            if !more {
                break;
            }
        }
        for k in (1..pages.len()).rev() {
            let j = self.rng.range(0, k as u64) as usize;
            pages.swap(k, j);
        }
        if !pages.is_empty() && self.chance(20) {
            let again = pages[0].clone();
            pages.push(again);
        }
        let p = &mut self.phones[i];
        for page in pages {
            p.replica.apply(now_ms(), page);
        }
        p.cursor = cursor;
    }

    /// One hostile act by phone `i`.
    fn attack(&mut self, i: usize, other_team_visit: Option<VisitId>) {
        let base = self.base();
        let which = self.rng.range(0, 6);
        let pick = self.rng.next();
        let p = &mut self.phones[i];
        let me = p.replica.id();
        let seq = p.replica.version_vector().get(&me) + 1;
        let visits: Vec<VisitId> = p.replica.visits().map(|v| v.id()).collect();
        let raw = |bytes: Vec<u8>| {
            let _ = agent()
                .post(&format!("{base}/api/v1/sync/push"))
                .set("Authorization", &format!("Bearer {}", p.token))
                .set("Content-Type", "application/octet-stream")
                .send_bytes(&bytes);
        };
        let forged = |action: Action, visit: VisitId, hlc: Hlc| Op {
            id: OpId::new(me, seq),
            hlc,
            visit,
            action,
        };
        let op = match which {
            0 => {
                // Junk bytes.
                raw((0..pick % 4096).map(|k| (k ^ pick) as u8).collect());
                return;
            }
            1 => {
                // A slow body, abandoned after a few bytes.
                let addr = base.trim_start_matches("http://").to_owned();
                if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                    let _ = write!(
                        s,
                        "POST /api/v1/sync/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\nslow",
                        p.token
                    );
                }
                return;
            }
            _ if visits.is_empty() => return,
            2 => {
                // A remove of one element naming another element's adds.
                let v = visits[pick as usize % visits.len()];
                let tags: Vec<OpId> = p
                    .replica
                    .missing_for(&Default::default())
                    .filter(|o| o.visit == v)
                    .filter_map(|o| match &o.action {
                        Action::Add { elem, .. } if elem != "cw_workers_live_on_site" => Some(o.id),
                        _ => None,
                    })
                    .collect();
                if tags.is_empty() {
                    return;
                }
                forged(
                    Action::Remove {
                        set: SetTarget::Visit(VisitSet::Indicators),
                        elem: "cw_workers_live_on_site".into(),
                        observed: tags,
                    },
                    v,
                    Hlc::new(now_ms(), 0),
                )
            }
            3 => forged(
                Action::Note {
                    text: "from the far future".into(),
                },
                visits[pick as usize % visits.len()],
                Hlc::new(u64::MAX, u32::MAX),
            ),
            4 => forged(
                Action::Set {
                    target: Target::Visit(VisitField::PremisesName),
                    value: Value::Text("many preds".into()),
                    pred: (0..sync_core::op::MAX_PREDS as u64)
                        .map(|k| OpId::new(ReplicaId(Uuid::from_u64_pair(pick, k)), k + 1))
                        .collect(),
                },
                visits[pick as usize % visits.len()],
                Hlc::new(now_ms(), 0),
            ),
            5 => forged(
                Action::Status {
                    status: Status::Reviewed,
                    round: 0,
                    reason: None,
                },
                visits[pick as usize % visits.len()],
                Hlc::new(now_ms(), 0),
            ),
            _ => match other_team_visit {
                Some(v) => forged(
                    Action::Note {
                        text: "written into another team's visit".into(),
                    },
                    v,
                    Hlc::new(now_ms(), 0),
                ),
                None => return,
            },
        };
        // Logged on the hostile phone too (so its own numbering goes on).
        p.replica.apply(now_ms(), [op]);
    }
}

#[test]
fn honest_devices_and_the_server_converge_whatever_the_network_and_hostile_devices_do() {
    let seed = seed();
    let rounds: usize = std::env::var("AIDANT_SIM_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    eprintln!("simulator: seed {seed}, {rounds} rounds (AIDANT_SIM_SEED={seed} replays it)");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.sqlite3");
    let log = dir.path().join("server.log");
    let server = Server::start(&db, &log);
    let a = agent();
    let base = server.base.clone();
    let login = |u: &str, p: &str| {
        must(
            &a,
            "POST",
            format!("{base}/api/v1/login"),
            None,
            Some(json!({ "username": u, "password": p })),
        )["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let admin = login("admin", ADMIN_PASSWORD);
    let op = must(
        &a,
        "POST",
        format!("{base}/api/v1/operations"),
        Some(&admin),
        Some(
            json!({ "name": "Simulated week", "force_area": "Kent", "starts_on": "2026-11-23", "ends_on": "2026-11-29" }),
        ),
    );
    let operation: OperationId = op["id"].as_str().unwrap().parse().unwrap();
    let team = |name: &str| {
        must(
            &a,
            "POST",
            format!("{base}/api/v1/operations/{operation}/teams"),
            Some(&admin),
            Some(json!({ "name": name })),
        )
    };
    let (red, blue) = (team("Red"), team("Blue"));
    let sup = must(
        &a,
        "POST",
        format!("{base}/api/v1/users"),
        Some(&admin),
        Some(
            json!({ "username": "ps.sim", "display_name": "PS Sim", "role": "supervisor", "password": "simulated supervisor" }),
        ),
    );
    must(
        &a,
        "POST",
        format!("{base}/api/v1/operations/{operation}/members"),
        Some(&admin),
        Some(json!({ "user_id": sup["id"] })),
    );
    let sup = login("ps.sim", "simulated supervisor");
    let mut sim = Sim {
        rng: Rng::new(seed),
        server: Some(server),
        db: db.clone(),
        log: log.clone(),
        admin,
        sup,
        operation,
        phones: Vec::new(),
        restarts: 0,
        rekeys: 0,
        lost_answers: 0,
    };
    for name in ["pc.red1", "pc.red2", "pc.red3", "pc.restored"] {
        let p = sim.enrol(name, &red, false);
        sim.phones.push(p);
    }
    let blue_phone = sim.enrol("pc.blue", &blue, false);
    sim.phones.push(blue_phone);
    let hostile = sim.enrol("pc.hostile", &red, true);
    sim.phones.push(hostile);
    let (restored, blue_i, hostile_i) = (3, 4, 5);

    for round in 0..rounds {
        if round > 0 && sim.chance(3) {
            sim.restart();
        }
        // A backup taken, an edit synced after it, then the backup restored
        // and edited again: the restored phone must heal (and may again later).
        if round == rounds / 4 || round == rounds / 2 {
            let p = &mut sim.phones[restored];
            if round == rounds / 4 {
                p.backup = Some((p.replica.clone(), p.acked, p.cursor));
            } else if let Some((r, acked, cursor)) = p.backup.take() {
                (p.replica, p.acked, p.cursor) = (r, acked, cursor);
            }
            p.online = true;
            sim.edit(restored);
            sim.push(restored);
            sim.push(restored);
        }
        let blue_visit = sim.phones[blue_i].replica.visits().map(|v| v.id()).next();
        for i in 0..sim.phones.len() {
            if sim.chance(10) {
                sim.phones[i].online = !sim.phones[i].online;
            }
            let act = sim.rng.range(0, 9);
            match act {
                0..=3 if !sim.phones[i].hostile => sim.edit(i),
                0..=3 => sim.attack(i, blue_visit),
                4..=5 if sim.phones[i].online => sim.push(i),
                6..=7 if sim.phones[i].online => sim.pull(i),
                8 if i == restored => {
                    let p = &mut sim.phones[i];
                    match p.backup.take() {
                        Some((r, acked, cursor)) if sim.rng.range(0, 1) == 0 => {
                            p.replica = r;
                            p.acked = acked;
                            p.cursor = cursor;
                        }
                        Some(b) => p.backup = Some(b),
                        None => p.backup = Some((p.replica.clone(), p.acked, p.cursor)),
                    }
                }
                _ => {}
            }
        }
    }

    // The network heals; the server restarts once more.
    sim.restart();
    for p in &mut sim.phones {
        p.online = true;
    }
    for _ in 0..6 {
        for i in 0..sim.phones.len() {
            if i == hostile_i {
                continue;
            }
            for _ in 0..200 {
                sim.push(i);
                let p = &sim.phones[i];
                if p.replica.own_ops_after(p.acked).next().is_none() {
                    break;
                }
            }
            sim.pull(i);
        }
    }

    // Every honest phone and the server hold the same visits.
    let base = sim.base();
    let honest: Vec<usize> = (0..sim.phones.len()).filter(|i| *i != hostile_i).collect();
    let mut checked = 0;
    for &i in &honest {
        let p = &sim.phones[i];
        assert!(
            p.replica.own_ops_after(p.acked).next().is_none(),
            "{} still has unacknowledged ops",
            p.name
        );
        for v in p.replica.visits() {
            let (status, server) = call(
                agent()
                    .get(&format!("{base}/api/v1/visits/{}?reason=simulator", v.id()))
                    .set("Authorization", &format!("Bearer {}", sim.sup)),
                None,
            )
            .unwrap();
            assert_eq!(status, 200, "{server}");
            assert_eq!(
                server,
                serde_json::to_value(VisitView::from(v)).unwrap(),
                "seed {seed}: {} and the server disagree on visit {}",
                p.name,
                v.id()
            );
            checked += 1;
        }
    }
    let red_visits = |i: usize| -> BTreeSet<VisitId> {
        sim.phones[i].replica.visits().map(|v| v.id()).collect()
    };
    for &i in &honest[1..restored + 1] {
        assert_eq!(
            red_visits(i),
            red_visits(0),
            "seed {seed}: Red phones hold different visits"
        );
    }

    // Nothing acknowledged is lost or stored twice; the hostile phone wrote
    // nothing outside its team and no review.
    let c = rusqlite::Connection::open(&db).unwrap();
    // Every op held by a stored segment, and every id claimed.
    let stored: Vec<(String, i64)> = crate::harness::ops_in_file::<i64>(&c, "o.cursor", "")
        .into_iter()
        .map(|(_, op)| (op.id.replica.to_string(), op.id.seq as i64))
        .collect();
    let unique: BTreeSet<&(String, i64)> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an op stored twice");
    let claimed: i64 = c
        .query_row("SELECT COUNT(*) FROM op_ids", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        claimed,
        stored.len() as i64,
        "op_ids and the segments differ"
    );
    for &i in &honest {
        for id in &sim.phones[i].acknowledged {
            let key = (id.replica.to_string(), id.seq as i64);
            assert!(
                unique.contains(&key),
                "seed {seed}: acknowledged op {id} lost"
            );
        }
    }
    let blue_set: BTreeSet<String> = red_visits(blue_i).iter().map(|v| v.to_string()).collect();
    let hostile_ops: Vec<(String, String)> = crate::harness::ops_in_file::<String>(
        &c,
        "o.visit_id",
        "JOIN devices d ON d.id = o.device_id JOIN users u ON u.id = d.user_id
          WHERE u.username = 'pc.hostile'",
    )
    .into_iter()
    .map(|(visit, op)| (visit, serde_json::to_string(&op).unwrap()))
    .collect();
    for (visit, body) in &hostile_ops {
        assert!(
            !blue_set.contains(visit),
            "the hostile phone wrote into Blue's visit: {body}"
        );
        assert!(
            !body.contains("\"reviewed\""),
            "a phone reviewed a visit: {body}"
        );
    }
    assert!(
        sim.rekeys >= 1,
        "seed {seed}: the restored phone never healed"
    );
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    eprintln!(
        "simulator: seed {seed}: {checked} visit copies identical to the server's, {} ops stored, {} restarts, {} rekeys, {} answers lost, {} hostile ops stored",
        stored.len(),
        sim.restarts,
        sim.rekeys,
        sim.lost_answers,
        hostile_ops.len()
    );
}
