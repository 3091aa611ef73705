//! Crash safety of push: the real `aidant` binary is killed with SIGKILL
//! between pushes, right after a large batch was sent, and at random moments
//! of continuous pushing, then restarted on the same SQLite file. Every op the
//! server acknowledged must survive (a re-push answers `duplicate`), nothing
//! may be stored twice, and the file must pass `PRAGMA integrity_check`.
//!
//! Self-contained: starts its own servers and speaks HTTP with ureq.
//! The kill moments come from a seed printed at the start; set
//! `AIDANT_CRASH_SEED` to replay one.

use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use sync_core::{
    LocationKind, Op, OpId, OperationId, Replica, ReplicaId, SetTarget, Target, Value, VisitField,
    VisitId, VisitSet,
};
use uuid::Uuid;

pub(crate) const ADMIN_PASSWORD: &str = "crash-test-admin-password";
const ROUNDS: usize = 6;
/// The server's default `--max-batch`.
const MAX_BATCH: usize = 1_000;

/// The shared seeded source (sync-core's SplitMix64), so a failing run can
/// be replayed.
pub(crate) struct Rng(sync_core::rand::SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(sync_core::rand::SplitMix64::new(seed))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One run of the real binary; SIGKILLed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(db: &Path, log: &Path) -> Server {
        Self::start_with(&[std::ffi::OsStr::new("--db"), db.as_os_str()], log)
    }

    /// `aidant serve --bind 127.0.0.1:0` with `args` (which name the database).
    pub(crate) fn start_with(args: &[&std::ffi::OsStr], log: &Path) -> Server {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_aidant"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("AIDANT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("AIDANT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // A file, not a pipe: an undrained pipe would block the server.
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("starting aidant");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let base = loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "aidant exited before listening; its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                break addr.to_owned();
            }
        };
        Server { child, base }
    }

    /// SIGTERM, then waits (at most 40 s) for the exit, and returns its status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit within 40 s of SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(120))
        .build()
}

/// Status and JSON body, or the transport error (connection refused, reset…).
pub(crate) fn call(req: ureq::Request, body: Option<&str>) -> Result<(u16, Json), String> {
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let text = resp.into_string().map_err(|e| e.to_string())?;
    let json = if text.is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{status}: {e}: {text}"))?
    };
    Ok((status, json))
}

pub(crate) fn must(
    agent: &ureq::Agent,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Json>,
) -> Json {
    let mut req = agent.request(method, &url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let body = body.map(|b| b.to_string());
    let (status, json) = call(req, body.as_deref()).unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(
        (200..300).contains(&status),
        "{method} {url}: {status} {json}"
    );
    json
}

/// An operation, an officer in it, and that officer's enrolled device; and
/// the token of a team-mate's phone, which pulls what the officer pushed
/// (a phone never gets its own ops back).
struct Device {
    id: ReplicaId,
    token: String,
    operation: OperationId,
    mate_token: String,
}

fn enrol(agent: &ureq::Agent, base: &str) -> Device {
    let login = must(
        agent,
        "POST",
        format!("{base}/api/v1/login"),
        None,
        Some(json!({ "username": "admin", "password": ADMIN_PASSWORD })),
    );
    let admin = login["token"].as_str().unwrap().to_owned();
    let a = Some(admin.as_str());
    let op = must(
        agent,
        "POST",
        format!("{base}/api/v1/operations"),
        a,
        Some(json!({
            "name": "Crash test",
            "force_area": "Thames Valley",
            "starts_on": "2025-06-01",
            "ends_on": "2025-06-07",
        })),
    );
    let operation: OperationId = op["id"].as_str().unwrap().parse().unwrap();
    let team = must(
        agent,
        "POST",
        format!("{base}/api/v1/operations/{operation}/teams"),
        a,
        Some(json!({ "name": "Crash crew" })),
    );
    let officer = |username: &str| {
        let user = must(
            agent,
            "POST",
            format!("{base}/api/v1/users"),
            a,
            Some(json!({ "username": username, "display_name": username, "role": "officer" })),
        );
        let user_id = user["id"].as_str().unwrap();
        must(
            agent,
            "POST",
            format!("{base}/api/v1/operations/{operation}/members"),
            a,
            Some(json!({ "user_id": user_id, "team_id": team["id"] })),
        );
        let code = must(
            agent,
            "POST",
            format!("{base}/api/v1/users/{user_id}/enrolment-codes"),
            a,
            None,
        );
        must(
            agent,
            "POST",
            format!("{base}/api/v1/enrol"),
            None,
            Some(json!({ "code": code["code"], "label": "crash phone" })),
        )
    };
    let enrolled = officer("pc.crash");
    let mate = officer("pc.mate");
    Device {
        id: enrolled["device_id"].as_str().unwrap().parse().unwrap(),
        token: enrolled["token"].as_str().unwrap().to_owned(),
        operation,
        mate_token: mate["token"].as_str().unwrap().to_owned(),
    }
}

/// The device's edits: new visits and edits to recent ones, a few dozen ops per visit.
struct Workload {
    replica: Replica,
    operation: OperationId,
    visits: Vec<VisitId>,
    now_ms: u64,
    all: Vec<Op>,
}

impl Workload {
    fn ops(&mut self, n: usize, rng: &mut Rng) -> Vec<Op> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.now_ms += rng.range(1, 2_000);
            let now = self.now_ms;
            // A new visit now and then, without overshooting `n` (except for the first).
            if self.visits.is_empty() || (rng.range(0, 39) == 0 && out.len() + 3 <= n) {
                let v = VisitId(Uuid::new_v4());
                self.visits.push(v);
                out.extend(
                    self.replica
                        .create_visit(now, v, self.operation, LocationKind::CarWash)
                        .unwrap(),
                );
                continue;
            }
            let recent = self.visits.len().saturating_sub(3);
            let v = self.visits[rng.range(recent as u64, self.visits.len() as u64 - 1) as usize];
            let op = match rng.range(0, 3) {
                0 => self.replica.set(
                    now,
                    v,
                    Target::Visit(VisitField::PremisesName),
                    Value::Text(format!("Bay {} hand car wash", rng.range(1, 999))),
                ),
                1 => self.replica.set(
                    now,
                    v,
                    Target::Visit(VisitField::Occupants),
                    Value::Int(rng.range(0, 40) as i64),
                ),
                2 => self.replica.add(
                    now,
                    v,
                    SetTarget::Visit(VisitSet::Indicators),
                    ["cw_cash_only_no_receipts", "cw_workers_living_on_site"]
                        [rng.range(0, 1) as usize],
                ),
                _ => self.replica.note(
                    now,
                    v,
                    &format!(
                        "Officer note {}: workers spoken to, no English, manager evasive.",
                        rng.next()
                    ),
                ),
            };
            out.push(op.unwrap().clone());
        }
        self.all.extend(out.iter().cloned());
        out
    }
}

/// What a push came to.
enum Pushed {
    /// 200: the ops' results, in order (`accepted`, `duplicate` or `rejected`).
    Answered(Vec<String>),
    /// No answer: the server was killed (or the connection broke).
    Lost(String),
}

/// The JSON body of a push.
fn push_body(ops: &[Op]) -> String {
    json!({ "ops": ops }).to_string()
}

/// Pushes `ops`, already serialised as `body` (so that a kill aimed at the
/// moment of sending is not spent serialising).
fn push(agent: &ureq::Agent, base: &str, token: &str, ops: &[Op], body: &str) -> Pushed {
    let req = agent
        .post(&format!("{base}/api/v1/sync/push"))
        .set("Authorization", &format!("Bearer {token}"));
    match call(req, Some(body)) {
        Err(e) => Pushed::Lost(e),
        Ok((200, body)) => {
            let results = body["results"].as_array().expect("results");
            assert_eq!(results.len(), ops.len(), "one result per op: {body}");
            for (r, op) in results.iter().zip(ops) {
                assert_eq!(r["op"], json!(op.id.to_string()), "results in order");
                assert!(r["result"] != "rejected", "op {} rejected: {r}", op.id);
            }
            Pushed::Answered(
                results
                    .iter()
                    .map(|r| r["result"].as_str().unwrap_or_default().to_owned())
                    .collect(),
            )
        }
        Ok((status, body)) => panic!("push answered {status}: {body}"),
    }
}

/// How a round's server is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// After the client has finished a number of pushes and is idle.
    BetweenPushes,
    /// A short while after the client starts sending a batch of `MAX_BATCH` ops.
    MidLargePush,
    /// At a random moment while the client pushes batches back to back.
    Anytime,
}

/// From the client thread to the test.
enum Event {
    /// About to send batch `i`.
    Sending(usize),
    /// Batch `i` got its answer after `ms`.
    Answered(usize, Vec<String>, f64),
    /// Batch `i` got no answer.
    Lost(usize, String),
}

#[derive(Default)]
struct RoundLog {
    batches: usize,
    answered: usize,
    acked_ops: usize,
    lost: Option<(usize, String)>,
}

#[test]
fn acknowledged_pushes_survive_sigkill_and_nothing_is_stored_twice() {
    let seed = std::env::var("AIDANT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed: AIDANT_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("a.db");
    let log = dir.path().join("server.log");
    let agent = agent();

    let mut server = Server::start(&db, &log);
    let device = enrol(&agent, &server.base);
    let mut work = Workload {
        replica: Replica::new(device.id),
        operation: device.operation,
        visits: Vec::new(),
        now_ms: 1_750_000_000_000,
        all: Vec::new(),
    };
    // Every op the server acknowledged (accepted or duplicate in a 200).
    let mut acked: BTreeSet<OpId> = BTreeSet::new();
    // Milliseconds per op of answered pushes, to aim kills into a push.
    let mut ms_per_op: f64 = 0.5;
    let mut kills = Vec::new();
    // Ops of pushes that got no answer, until they are pushed again; then
    // whether the server had stored them anyway (killed after the commit).
    let mut unanswered: BTreeSet<OpId> = BTreeSet::new();
    let (mut stored_anyway, mut not_stored) = (0usize, 0usize);

    for round in 0..ROUNDS {
        let mode = [Kill::BetweenPushes, Kill::MidLargePush, Kill::Anytime][round % 3];
        // First what earlier rounds left unacknowledged, in sequence order (so
        // a visit's create precedes its edits), plus some acknowledged ops again.
        let mut ops: Vec<Op> = work
            .all
            .iter()
            .filter(|o| !acked.contains(&o.id) || rng.range(0, 9) == 0)
            .cloned()
            .collect();
        let resent_acked: BTreeSet<OpId> = ops
            .iter()
            .filter(|o| acked.contains(&o.id))
            .map(|o| o.id)
            .collect();
        let mut batches: Vec<Vec<Op>> = ops.chunks(MAX_BATCH).map(<[Op]>::to_vec).collect();
        ops.clear();
        let sizes: Vec<usize> = match mode {
            Kill::BetweenPushes => (0..8).map(|_| rng.range(1, 300) as usize).collect(),
            Kill::MidLargePush => vec![1, 50, rng.range(2, 200) as usize, MAX_BATCH, 20],
            Kill::Anytime => (0..24)
                .map(|_| [1, 50, 500, MAX_BATCH][rng.range(0, 3) as usize])
                .collect(),
        };
        for n in sizes {
            batches.push(work.ops(n, &mut rng));
        }
        let big = batches
            .iter()
            .rposition(|b| b.len() == MAX_BATCH)
            .unwrap_or(batches.len() - 1);
        // BetweenPushes: the client stops after this many batches.
        let stop_after = match mode {
            Kill::BetweenPushes => rng.range(1, batches.len() as u64 - 1) as usize,
            _ => batches.len(),
        };

        let (tx, rx) = mpsc::channel();
        let client = {
            let (agent, base, token) = (agent.clone(), server.base.clone(), device.token.clone());
            let batches = batches.clone();
            thread::spawn(move || {
                let bodies: Vec<String> = batches.iter().map(|b| push_body(b)).collect();
                for (i, b) in batches.iter().enumerate().take(stop_after) {
                    let _ = tx.send(Event::Sending(i));
                    let t = Instant::now();
                    match push(&agent, &base, &token, b, &bodies[i]) {
                        Pushed::Answered(r) => {
                            let ms = t.elapsed().as_secs_f64() * 1e3;
                            let _ = tx.send(Event::Answered(i, r, ms));
                        }
                        Pushed::Lost(e) => {
                            let _ = tx.send(Event::Lost(i, e));
                            return;
                        }
                    }
                }
            })
        };
        let total_ops: usize = batches.iter().map(Vec::len).sum();
        let mut summary = RoundLog {
            batches: batches.len(),
            ..RoundLog::default()
        };
        let mut events = Vec::new();
        let kill_note = match mode {
            Kill::BetweenPushes => {
                // Until the client has finished and dropped its sender.
                events.extend(rx.iter());
                format!("idle after {stop_after} pushes")
            }
            Kill::MidLargePush => {
                loop {
                    let e = rx.recv().expect("client ended before the large push");
                    let reached = matches!(e, Event::Sending(i) if i == big);
                    events.push(e);
                    if reached {
                        break;
                    }
                }
                // Aim anywhere from before the server has read the body to
                // after it has committed.
                let expected = ms_per_op * MAX_BATCH as f64;
                let delay = rng.range(0, (expected * 1.3).ceil() as u64 + 1);
                thread::sleep(Duration::from_millis(delay));
                format!("{delay} ms into a {MAX_BATCH}-op push (one takes ~{expected:.0} ms)")
            }
            Kill::Anytime => {
                // From the first push on (the client serialises its batches first).
                events.push(rx.recv().expect("client ended before pushing"));
                let expected = ms_per_op * total_ops as f64;
                let delay = rng.range(0, (expected * 0.9).ceil() as u64 + 1);
                thread::sleep(Duration::from_millis(delay));
                format!("{delay} ms into pushing {total_ops} ops (~{expected:.0} ms)")
            }
        };
        server.kill();
        client.join().unwrap();
        events.extend(rx.try_iter());

        for e in events {
            match e {
                Event::Sending(_) => {}
                Event::Answered(i, results, ms) => {
                    summary.answered += 1;
                    let b = &batches[i];
                    if b.len() >= 50 {
                        ms_per_op = ms_per_op * 0.5 + (ms / b.len() as f64) * 0.5;
                    }
                    for (op, r) in b.iter().zip(results) {
                        assert!(r == "accepted" || r == "duplicate", "{r}");
                        if resent_acked.contains(&op.id) {
                            assert_eq!(
                                r,
                                "duplicate",
                                "op {} was acknowledged before a crash, yet the server took it as new: it had been lost",
                                op.id
                            );
                        }
                        if unanswered.remove(&op.id) {
                            if r == "duplicate" {
                                stored_anyway += 1;
                            } else {
                                not_stored += 1;
                            }
                        }
                        acked.insert(op.id);
                        summary.acked_ops += 1;
                    }
                }
                Event::Lost(i, err) => {
                    let fresh = batches[i].iter().filter(|o| !acked.contains(&o.id));
                    unanswered.extend(fresh.map(|o| o.id));
                    summary.lost = Some((i, err));
                }
            }
        }
        kills.push(format!(
            "round {round} {mode:?}: killed {kill_note}; {} of {} batches answered ({} ops acked); lost: {:?}",
            summary.answered, summary.batches, summary.acked_ops, summary.lost
        ));

        server = Server::start(&db, &log);
        must(&agent, "GET", format!("{}/readyz", server.base), None, None);
    }

    // Recovery: everything still unacknowledged, plus every acknowledged op
    // again (each must come back as a duplicate).
    let all = work.all.clone();
    for batch in all.chunks(MAX_BATCH) {
        match push(
            &agent,
            &server.base,
            &device.token,
            batch,
            &push_body(batch),
        ) {
            Pushed::Answered(results) => {
                for (op, r) in batch.iter().zip(results) {
                    if acked.contains(&op.id) {
                        assert_eq!(r, "duplicate", "acknowledged op {} was lost", op.id);
                    }
                    if unanswered.remove(&op.id) {
                        if r == "duplicate" {
                            stored_anyway += 1;
                        } else {
                            not_stored += 1;
                        }
                    }
                    acked.insert(op.id);
                }
            }
            Pushed::Lost(e) => panic!("recovery push failed: {e}"),
        }
    }
    assert_eq!(acked.len(), all.len());

    // Pull everything back.
    let mut cursor = 0i64;
    let mut pulled: BTreeMap<OpId, Vec<Op>> = BTreeMap::new();
    let mut pages = 0;
    loop {
        let page = must(
            &agent,
            "GET",
            format!("{}/api/v1/sync/pull?after={cursor}&limit=1000", server.base),
            Some(&device.mate_token),
            None,
        );
        pages += 1;
        let ops: Vec<Op> = serde_json::from_value(page["ops"].clone()).unwrap();
        let next = page["cursor"].as_i64().unwrap();
        assert!(ops.is_empty() || next > cursor, "cursor moves forward");
        cursor = next;
        for op in ops {
            pulled.entry(op.id).or_default().push(op);
        }
        if page["more"] == json!(false) {
            break;
        }
        assert!(pages < 1_000, "pull does not end");
    }
    let twice: Vec<_> = pulled.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(twice.is_empty(), "ops pulled more than once: {twice:?}");
    for id in &acked {
        assert!(pulled.contains_key(id), "acknowledged op {id} missing");
    }
    let sent: BTreeMap<OpId, &Op> = all.iter().map(|o| (o.id, o)).collect();
    for (id, v) in &pulled {
        assert_eq!(Some(&v[0]), sent.get(id).copied(), "op {id} changed");
    }
    assert_eq!(pulled.len(), all.len());

    // A last kill, then the file itself.
    server.kill();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The ops the stored segments hold, and the ids claimed.
    let held: Vec<(String, u64)> = crate::harness::ops_in_file::<i64>(&conn, "o.cursor", "")
        .into_iter()
        .map(|(_, op)| (op.id.replica.to_string(), op.id.seq))
        .collect();
    let distinct = held.iter().collect::<std::collections::BTreeSet<_>>().len();
    let (claimed, quarantined): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM op_ids), (SELECT COUNT(*) FROM quarantine)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((held.len(), distinct), (all.len(), all.len()));
    assert_eq!(claimed, all.len() as i64);
    assert_eq!(quarantined, 0, "no op was rejected");
    drop(conn);
    // The audit chain (written in the same transactions as the pushes) holds.
    let verify = Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    for k in &kills {
        eprintln!("{k}");
    }
    eprintln!(
        "{} ops pushed over {ROUNDS} kills; all {} present once after recovery; \
         of the ops in unanswered pushes, {stored_anyway} had been stored (killed after \
         the commit) and {not_stored} had not (killed before it, or before sending)",
        all.len(),
        pulled.len()
    );
}

/// SIGTERM while a large push is in flight: the push is answered (all ops
/// accepted), the process exits cleanly, and after a restart every op is there.
#[test]
fn sigterm_finishes_the_push_in_flight_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let log = dir.path().join("aidant.log");
    let server = Server::start(&db, &log);
    let setup = agent();
    let device = enrol(&setup, &server.base);
    let mut rng = Rng::new(0x5EED);
    let mut work = Workload {
        replica: Replica::new(device.id),
        operation: device.operation,
        visits: Vec::new(),
        now_ms: 1_750_000_000_000,
        all: Vec::new(),
    };
    let ops = work.ops(1_000, &mut rng);
    let body = push_body(&ops);
    let (base, token) = (server.base.clone(), device.token.clone());
    let pusher = {
        let ops = ops.clone();
        std::thread::spawn(move || push(&agent(), &base, &token, &ops, &body))
    };
    // Let the request reach the server, then ask it to stop.
    std::thread::sleep(Duration::from_millis(40));
    let pid = server.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    match pusher.join().unwrap() {
        Pushed::Answered(results) => {
            assert_eq!(results.len(), ops.len());
            assert!(results.iter().all(|r| r == "accepted"), "{results:?}");
        }
        Pushed::Lost(e) => panic!("the in-flight push was dropped on SIGTERM: {e}"),
    }
    let mut server = server;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit within 40 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    drop(server);
    let again = Server::start(&db, &log);
    let stored: Vec<Op> = {
        let a = agent();
        let (_, page) = call(
            a.get(&format!(
                "{}/api/v1/sync/pull?after=0&limit=1000",
                again.base
            ))
            .set("Authorization", &format!("Bearer {}", device.mate_token)),
            None,
        )
        .unwrap();
        serde_json::from_value(page["ops"].clone()).unwrap()
    };
    assert_eq!(stored.len(), ops.len());
}
