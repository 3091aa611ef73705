//! A simple local load on the real server: `cargo bench -p server --bench load`.
//!
//! Starts the server in-process on port 0 (a release build under `cargo
//! bench`) over a SQLite file in a temporary folder, enrols several devices,
//! and measures push latency and throughput for batches of 1, 50 and 500 ops
//! from one client thread per device (sent as sync-core wire batches, as
//! the field app sends them; batch 500 also as JSON), pull throughput paging 1,000 ops at a
//! time, the cost of a one-op push into ever larger visits, and a
//! shift-end burst (`AIDANT_BENCH_BURST_DEVICES` phones, default 200, each
//! pushing 200 ops at once; `AIDANT_BENCH_BURSTS` times, default 3). Visit
//! ids are made as the field app makes them (`new_visit_id`). It prints
//! figures and asserts no timing (only that every op was accepted).
//!
//! Client and server share the machine, so the figures are a floor for the
//! server alone. `AIDANT_BENCH_DEVICES` sets the number of devices (default 8).
//!
//! The raw insert rate of the same backend is measured in the same run
//! (`Db::raw_insert_rate`: op-shaped rows, 500 to a transaction, through the
//! same writer) and each ingest figure is printed as a share of it. On
//! PostgreSQL (`scripts/pg.sh cargo bench -p server --bench load`: a
//! throwaway cluster) it also pushes through two instances on the database.

use serde_json::{json, Value as Json};
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use sync_core::{
    LocationKind, Op, OperationId, Replica, ReplicaId, SetTarget, Target, Value, VisitField,
    VisitId, VisitSet,
};
use uuid::Uuid;

const ADMIN_PASSWORD: &str = "load-bench-admin-password";
/// Ops per visit before a device starts a new one (a busy visit's size).
const OPS_PER_VISIT: usize = 40;

/// A visit id as the field app makes one (`newId` in client-wasm's
/// common.js): a UUID of version 7, whose leading time makes later visits
/// sort later. `AIDANT_BENCH_RANDOM_IDS=1`: random ones (version 4), as
/// phones made them before, to see what the order saves.
fn new_visit_id() -> VisitId {
    if std::env::var_os("AIDANT_BENCH_RANDOM_IDS").is_some() {
        return VisitId(Uuid::new_v4());
    }
    VisitId(Uuid::now_v7())
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(300))
        .build()
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Json {
    call_with(
        agent,
        method,
        url,
        token,
        body.map(|b| ("application/json", b.as_bytes())),
    )
}

/// [`call`] with a body of any content type.
fn call_with(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Json {
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some((ct, b)) => req.set("Content-Type", ct).send_bytes(b),
        None => req.call(),
    };
    match res {
        Ok(r) => {
            let text = r.into_string().expect("body");
            if text.is_empty() {
                Json::Null
            } else {
                serde_json::from_str(&text).expect("JSON body")
            }
        }
        Err(ureq::Error::Status(s, r)) => {
            panic!(
                "{method} {url}: {s} {}",
                r.into_string().unwrap_or_default()
            )
        }
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

/// One enrolled device and the edits it makes.
struct Device {
    token: String,
    replica: Replica,
    operation: OperationId,
    visit: Option<(VisitId, usize)>,
    n: u64,
}

impl Device {
    /// About `n` new ops over visits of about `OPS_PER_VISIT` ops each (a new
    /// visit's three ops go together, so a batch can run two over).
    fn ops(&mut self, n: usize, now_ms: u64) -> Vec<Op> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.n += 1;
            let now = now_ms + self.n;
            let visit = match self.visit {
                Some((v, k)) if k < OPS_PER_VISIT => v,
                _ => {
                    let v = new_visit_id();
                    let ops = self
                        .replica
                        .create_visit(now, v, self.operation, LocationKind::CarWash)
                        .unwrap();
                    self.visit = Some((v, ops.len()));
                    out.extend(ops);
                    continue;
                }
            };
            out.push(self.edit(visit, now));
            if let Some((_, k)) = &mut self.visit {
                *k += 1;
            }
        }
        out
    }

    fn edit(&mut self, v: VisitId, now: u64) -> Op {
        match self.n % 4 {
            0 => self.replica.set(
                now,
                v,
                Target::Visit(VisitField::PremisesName),
                Value::Text(format!("Unit {} hand car wash", self.n % 97)),
            ),
            1 => self.replica.set(
                now,
                v,
                Target::Visit(VisitField::Occupants),
                Value::Int((self.n % 30) as i64),
            ),
            2 => self.replica.add(
                now,
                v,
                SetTarget::Visit(VisitSet::Indicators),
                "cw_cash_only_no_receipts",
            ),
            _ => self.replica.note(
                now,
                v,
                "Four workers on site; two said they sleep in the back room.",
            ),
        }
        .unwrap()
        .clone()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct PushRow {
    batch: usize,
    /// Pushed as JSON rather than as wire batches.
    json: bool,
    requests: usize,
    ops: usize,
    secs: f64,
    lat: Vec<f64>,
    /// CPU time the whole process (server and clients) used meanwhile,
    /// over `secs`: how many of the machine's cores were busy.
    cores: f64,
}

/// CPU time (user and system) this process has used so far, in seconds,
/// from /proc (Linux); 0 elsewhere.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

/// How a push's body is sent.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    /// A sync-core wire batch, as the field app sends it.
    Wire,
    /// `{"ops": [...]}`, as API clients may.
    Json,
}

/// Every device pushes `per_device` batches of `batch` ops, one thread each,
/// all starting together. Bodies are built before the clock starts.
fn push_load(
    bases: &[String],
    devices: &mut [Device],
    batch: usize,
    per_device: usize,
    format: Format,
) -> PushRow {
    let now_ms = 1_750_000_000_000;
    // A batch can run over by two (a new visit's three ops); count what is sent.
    // (token, [(body, ops in it)]) per device
    type Bodies = Vec<(Vec<u8>, usize)>;
    let work: Vec<(String, Bodies)> = devices
        .iter_mut()
        .map(|d| {
            let bodies = (0..per_device)
                .map(|_| {
                    let ops = d.ops(batch, now_ms);
                    let body = match format {
                        Format::Wire => sync_core::wire::encode(&ops),
                        Format::Json => json!({ "ops": ops }).to_string().into_bytes(),
                    };
                    (body, ops.len())
                })
                .collect();
            (d.token.clone(), bodies)
        })
        .collect();
    let barrier = Arc::new(Barrier::new(work.len() + 1));
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = work
        .into_iter()
        .enumerate()
        .map(|(i, (token, bodies))| {
            let (barrier, tx, url) = (
                barrier.clone(),
                tx.clone(),
                format!("{}/api/v1/sync/push", bases[i % bases.len()]),
            );
            thread::spawn(move || {
                let agent = agent();
                barrier.wait();
                for (body, n) in bodies {
                    let t = Instant::now();
                    let ct = match format {
                        Format::Wire => "application/octet-stream",
                        Format::Json => "application/json",
                    };
                    let r = call_with(&agent, "POST", &url, Some(&token), Some((ct, &body)));
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    assert_eq!(r["accepted"].as_u64(), Some(n as u64), "{r}");
                    tx.send((ms, n)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    barrier.wait();
    let start = Instant::now();
    let cpu = cpu_secs();
    let results: Vec<(f64, usize)> = rx.iter().collect();
    let secs = start.elapsed().as_secs_f64();
    let cores = (cpu_secs() - cpu) / secs;
    for t in threads {
        t.join().unwrap();
    }
    let mut lat: Vec<f64> = results.iter().map(|(ms, _)| *ms).collect();
    lat.sort_by(f64::total_cmp);
    PushRow {
        batch,
        json: format == Format::Json,
        requests: results.len(),
        ops: results.iter().map(|(_, n)| n).sum(),
        secs,
        lat,
        cores,
    }
}

struct PullRow {
    clients: usize,
    ops: usize,
    pages: usize,
    secs: f64,
    lat: Vec<f64>,
}

/// `clients` devices each pull everything from cursor 0, 1,000 ops a page.
fn pull_load(base: &str, tokens: &[String]) -> PullRow {
    let barrier = Arc::new(Barrier::new(tokens.len() + 1));
    let threads: Vec<_> = tokens
        .iter()
        .map(|token| {
            let (barrier, token, base) = (barrier.clone(), token.clone(), base.to_owned());
            thread::spawn(move || {
                let agent = agent();
                barrier.wait();
                let (mut cursor, mut ops, mut lat) = (0i64, 0usize, Vec::new());
                loop {
                    let t = Instant::now();
                    let page = call(
                        &agent,
                        "GET",
                        &format!("{base}/api/v1/sync/pull?after={cursor}&limit=1000"),
                        Some(&token),
                        None,
                    );
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    ops += page["ops"].as_array().unwrap().len();
                    cursor = page["cursor"].as_i64().unwrap();
                    if page["more"] == json!(false) {
                        break;
                    }
                }
                (ops, lat)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut row = PullRow {
        clients: tokens.len(),
        ops: 0,
        pages: 0,
        secs: 0.0,
        lat: Vec::new(),
    };
    for t in threads {
        let (ops, lat) = t.join().unwrap();
        row.ops += ops;
        row.pages += lat.len();
        row.lat.extend(lat);
    }
    row.secs = start.elapsed().as_secs_f64();
    row.lat.sort_by(f64::total_cmp);
    row
}

/// A server in-process on port 0: its base URL, handle and thread.
fn start(
    config: server::config::Config,
) -> (String, actix_web::dev::ServerHandle, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    let server_thread = thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let running = server::run(listener, config).expect("server starts");
            tx.send(running.server.handle()).unwrap();
            running.server.await.unwrap();
        })
    });
    (base, rx.recv().unwrap(), server_thread)
}

/// Under `scripts/pg.sh`: a new database in the throwaway cluster.
fn pg_database() -> Option<String> {
    let base = std::env::var("AIDANT_TEST_DATABASE_URL").ok()?;
    let name = format!("load_{}", Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).expect("cluster");
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    Some(format!("{}/{name}", base.rsplit_once('/').unwrap().0))
}

fn main() {
    let n_devices: usize = std::env::var("AIDANT_BENCH_DEVICES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let mut config = server::config::Config {
        db_path: dir.path().join("load.db"),
        static_dir: dir.path().join("www"),
        admin_password: Some(ADMIN_PASSWORD.into()),
        database_url: pg_database(),
        ..Default::default()
    };
    // Enrolling many devices from one address would trip the login limit.
    config.limits.auth_per_minute = 10_000;
    let backend = if config.database_url.is_some() {
        "PostgreSQL (throwaway cluster, fsync off)"
    } else {
        "SQLite WAL, each commit fsynced before it is answered"
    };
    let raw = server::db::Db::open_at(&config.location(), &config.audit_key_path())
        .expect("database")
        .raw_insert_rate(50_000, 500)
        .expect("raw inserts");
    let second_config = config.database_url.is_some().then(|| config.clone());
    let (base, handle, server_thread) = start(config);
    let bases = [base.clone()];

    // An operation, one officer per device, each enrolled.
    let a = agent();
    let login = call(
        &a,
        "POST",
        &format!("{base}/api/v1/login"),
        None,
        Some(&json!({ "username": "admin", "password": ADMIN_PASSWORD }).to_string()),
    );
    let admin = login["token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Json| {
        call(
            &a,
            "POST",
            &format!("{base}{path}"),
            Some(&admin),
            Some(&body.to_string()),
        )
    };
    let op = post(
        "/api/v1/operations",
        json!({ "name": "Load", "force_area": "Kent", "starts_on": "2025-06-01", "ends_on": "2025-06-30" }),
    );
    let operation: OperationId = op["id"].as_str().unwrap().parse().unwrap();
    // One team: every phone holds every visit, so a pull pages through all
    // the others' ops (a phone never gets its own back).
    let team = post(
        &format!("/api/v1/operations/{operation}/teams"),
        json!({ "name": "Load crew" }),
    );
    let enrol = |i: usize| {
        let user = post(
            "/api/v1/users",
            json!({ "username": format!("pc.load{i}"), "display_name": format!("PC {i}"), "role": "officer" }),
        );
        let uid = user["id"].as_str().unwrap();
        post(
            &format!("/api/v1/operations/{operation}/members"),
            json!({ "user_id": uid, "team_id": team["id"] }),
        );
        let code = post(&format!("/api/v1/users/{uid}/enrolment-codes"), json!({}));
        let e = call(
            &a,
            "POST",
            &format!("{base}/api/v1/enrol"),
            None,
            Some(&json!({ "code": code["code"] }).to_string()),
        );
        let id: ReplicaId = e["device_id"].as_str().unwrap().parse().unwrap();
        Device {
            token: e["token"].as_str().unwrap().to_owned(),
            replica: Replica::new(id),
            operation,
            visit: None,
            n: 0,
        }
    };
    let mut devices: Vec<Device> = (0..n_devices).map(enrol).collect();

    eprintln!("warming up…");
    push_load(&bases, &mut devices, 10, 5, Format::Wire);
    let mut pushes = Vec::new();
    for (batch, per_device, format) in [
        (1, 150, Format::Wire),
        (50, 40, Format::Wire),
        (500, 8, Format::Wire),
        (500, 8, Format::Json),
    ] {
        eprintln!("pushing batches of {batch}…");
        pushes.push(push_load(&bases, &mut devices, batch, per_device, format));
    }
    // Two instances on one PostgreSQL database, devices split between them.
    let mut second = None;
    if let Some(c) = second_config {
        eprintln!("pushing batches of 500 through two instances…");
        let (b2, h2, t2) = start(c);
        let mut row = push_load(&[base.clone(), b2], &mut devices, 500, 8, Format::Wire);
        row.batch = 0;
        pushes.push(row);
        second = Some((h2, t2));
    }
    eprintln!("pulling…");
    let tokens: Vec<String> = devices.iter().map(|d| d.token.clone()).collect();
    let pulls = [pull_load(&base, &tokens[..1]), pull_load(&base, &tokens)];

    // One-op pushes into one visit as it grows: the server rebuilds a touched
    // visit from all of its stored ops after each push.
    eprintln!("growing one visit…");
    let d = &mut devices[0];
    let a = agent();
    let url = format!("{base}/api/v1/sync/push");
    let v = new_visit_id();
    let ops = d
        .replica
        .create_visit(1_760_000_000_000, v, operation, LocationKind::Hotel)
        .unwrap();
    call(
        &a,
        "POST",
        &url,
        Some(&d.token),
        Some(&json!({ "ops": ops }).to_string()),
    );
    let mut size = ops.len();
    let mut hot = Vec::new();
    for target in [10, 1_000, 5_000] {
        while size < target {
            let ops: Vec<Op> = (0..(target - size).min(500))
                .map(|_| {
                    d.n += 1;
                    d.edit(v, 1_760_000_000_000 + d.n)
                })
                .collect();
            size += ops.len();
            call(
                &a,
                "POST",
                &url,
                Some(&d.token),
                Some(&json!({ "ops": ops }).to_string()),
            );
        }
        let mut lat = Vec::new();
        for _ in 0..30 {
            d.n += 1;
            let op = d.edit(v, 1_760_000_000_000 + d.n);
            let body = json!({ "ops": [op] }).to_string();
            let t = Instant::now();
            call(&a, "POST", &url, Some(&d.token), Some(&body));
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            size += 1;
        }
        lat.sort_by(f64::total_cmp);
        hot.push((target, lat));
    }

    // The shift-end burst: every phone of a busy operation syncing its
    // shift's ops at once (200 phones × 200 ops by default).
    let burst_devices: usize = std::env::var("AIDANT_BENCH_BURST_DEVICES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    // One burst's p99 is its second-slowest push: run several (each with
    // phones of its own) to show how much it moves between runs.
    let bursts: usize = std::env::var("AIDANT_BENCH_BURSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for k in 0..bursts {
        eprintln!(
            "enrolling {burst_devices} phones for shift-end burst {}…",
            k + 1
        );
        let first = n_devices + k * burst_devices;
        let mut burst: Vec<Device> = (first..first + burst_devices).map(&enrol).collect();
        eprintln!("shift-end burst {}…", k + 1);
        let mut row = push_load(
            std::slice::from_ref(&base),
            &mut burst,
            200,
            1,
            Format::Wire,
        );
        row.batch = usize::MAX;
        pushes.push(row);
    }
    actix_web::rt::System::new().block_on(handle.stop(true));
    server_thread.join().unwrap();
    if let Some((h2, t2)) = second {
        actix_web::rt::System::new().block_on(h2.stop(true));
        t2.join().unwrap();
    }

    println!();
    println!(
        "aidant load: {n_devices} devices, one client thread each, in-process server ({} build), {backend}",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!("raw insert rate of this backend in this run: {raw:.0} rows/s (50,000 op-shaped rows, 500 a transaction)");
    println!();
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "push",
        "requests",
        "ops",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "req/s",
        "ops/s",
        "of raw",
        "cores"
    );
    for r in &pushes {
        let ops_s = r.ops as f64 / r.secs;
        println!(
            "{:<16} {:>8} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>9.0} {:>9.0} {:>9.3} {:>7.2}",
            if r.batch == 0 {
                "500, 2 instances".to_owned()
            } else if r.batch == usize::MAX {
                format!("burst {}x200", r.requests)
            } else if r.json {
                format!("batch {}, JSON", r.batch)
            } else {
                format!("batch {}", r.batch)
            },
            r.requests,
            r.ops,
            percentile(&r.lat, 0.50),
            percentile(&r.lat, 0.95),
            percentile(&r.lat, 0.99),
            r.requests as f64 / r.secs,
            ops_s,
            ops_s / raw,
            r.cores
        );
    }
    println!();
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "pull (1000/page)", "pages", "ops", "p50 ms", "p95 ms", "p99 ms", "pages/s", "ops/s"
    );
    for r in &pulls {
        println!(
            "{:<16} {:>8} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>9.0} {:>9.0}",
            format!("{} client(s)", r.clients),
            r.pages,
            r.ops,
            percentile(&r.lat, 0.50),
            percentile(&r.lat, 0.95),
            percentile(&r.lat, 0.99),
            r.pages as f64 / r.secs,
            r.ops as f64 / r.secs
        );
    }
    println!();
    println!(
        "{:<28} {:>8} {:>8}",
        "one-op push into a visit of", "p50 ms", "p95 ms"
    );
    for (size, lat) in &hot {
        println!(
            "{:<28} {:>8.2} {:>8.2}",
            format!("~{size} ops"),
            percentile(lat, 0.50),
            percentile(lat, 0.95)
        );
    }
    let best = pushes
        .iter()
        .filter(|r| r.batch != usize::MAX && !r.json)
        .map(|r| r.ops as f64 / r.secs)
        .fold(0.0, f64::max);
    println!();
    println!(
        "best push throughput {best:.0} ops/s = {:.3} of this backend's raw insert rate ({raw:.0} rows/s) in the same run",
        best / raw
    );
}
