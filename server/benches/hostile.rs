//! Hostile clients against the release server: `cargo bench -p server --bench hostile`.
//!
//! Starts the `aidant` binary (a release build under `cargo bench`) as a
//! child process with the common soft open-files limit of 1,024 (`ulimit -Sn`;
//! the server raises it to the hard limit),
//! enrols a few honest phones and, as an attacker, 50 phones whose tokens
//! were stolen. Then, while honest phones push and a monitor polls
//! `/healthz`, it opens
//! - 200 stalled uploads: pushes whose `Content-Length` is 4 MiB, sent to
//!   the last byte but one, then held open (4 per stolen token); and
//! - 1,000 slow uploads: logins trickling at 10 bytes a second;
//!
//! every attacker reconnecting a second after the server ends its request.
//! It prints the honest pushes' and `/healthz` latencies (p50, p99, max,
//! failures) before and during the attack, the attackers' outcomes, and the
//! server's RSS (from `/proc/PID/status`) at baseline, during the attack
//! (peak, mean and every 2 s) and after it. It asserts no timing.
//!
//! `AIDANT_BENCH_STALLED`, `AIDANT_BENCH_SLOW` and `AIDANT_BENCH_SECS` change
//! the attack's size and length (defaults 200, 1000, 30).

use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use sync_core::{LocationKind, Op, OperationId, Replica, ReplicaId, VisitId};
use uuid::Uuid;

const ADMIN_PASSWORD: &str = "hostile-bench-admin-password";
const STOLEN_TOKENS: usize = 50;
const HONEST_PHONES: usize = 4;
const BIG: usize = 4 * 1024 * 1024;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A status and JSON body over a fresh connection, optionally from a chosen
/// loopback address (Linux delivers all of 127.0.0.0/8 locally), so each
/// enrolment comes from an address of its own and no rate limit trips.
fn request(
    server: SocketAddr,
    from: Option<[u8; 4]>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    content_type: &str,
) -> std::io::Result<(u16, Json)> {
    let mut s = match from {
        Some(ip) => {
            use socket2::{Domain, Socket, Type};
            let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            sock.bind(&SocketAddr::from((ip, 0)).into())?;
            sock.connect_timeout(&server.into(), Duration::from_secs(10))?;
            TcpStream::from(sock)
        }
        None => TcpStream::connect_timeout(&server, Duration::from_secs(10))?,
    };
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or(b"");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, serde_json::from_str(body).unwrap_or(Json::Null)))
}

fn call(
    server: SocketAddr,
    from: Option<[u8; 4]>,
    path: &str,
    token: Option<&str>,
    body: Json,
) -> Json {
    let (status, json) = request(
        server,
        from,
        "POST",
        path,
        token,
        Some(body.to_string().as_bytes()),
        "application/json",
    )
    .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!((200..300).contains(&status), "POST {path}: {status} {json}");
    json
}

fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Latencies (ms) and failures of one kind of honest request.
#[derive(Default)]
struct Probe {
    ms: Vec<f64>,
    failed: usize,
}

impl Probe {
    fn line(&mut self, what: &str) -> String {
        self.ms.sort_by(f64::total_cmp);
        let p = |q: f64| {
            if self.ms.is_empty() {
                f64::NAN
            } else {
                self.ms[((self.ms.len() - 1) as f64 * q).round() as usize]
            }
        };
        format!(
            "{what:<32} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            self.ms.len(),
            p(0.5),
            p(0.99),
            self.ms.last().copied().unwrap_or(f64::NAN),
            self.failed
        )
    }
}

/// Honest phones pushing one small batch each 200 ms, and a monitor polling
/// `/healthz` every 50 ms, all on fresh connections, for `secs`.
fn honest_traffic(
    server: SocketAddr,
    phones: &mut [(String, Replica, OperationId)],
    secs: u64,
) -> (Probe, Probe) {
    let stop = Arc::new(AtomicBool::new(false));
    let health = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut p = Probe::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match request(
                    server,
                    None,
                    "GET",
                    "/healthz",
                    None,
                    None,
                    "application/json",
                ) {
                    Ok((200, _)) => p.ms.push(t.elapsed().as_secs_f64() * 1e3),
                    _ => p.failed += 1,
                }
                thread::sleep(Duration::from_millis(50));
            }
            p
        })
    };
    let pushes: Vec<_> = phones
        .iter_mut()
        .map(|(token, replica, operation)| {
            let (token, operation, stop) = (token.clone(), *operation, stop.clone());
            let mut replica = std::mem::replace(replica, Replica::new(ReplicaId(Uuid::nil())));
            thread::spawn(move || {
                let mut p = Probe::default();
                let visit = VisitId(Uuid::new_v4());
                let now = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as u64
                };
                let mut pending: Vec<Op> = replica
                    .create_visit(now(), visit, operation, LocationKind::CarWash)
                    .unwrap();
                while !stop.load(Ordering::Relaxed) {
                    for k in 0..5 {
                        pending.push(
                            replica
                                .note(now() + k, visit, "Two workers said they sleep on site.")
                                .unwrap()
                                .clone(),
                        );
                    }
                    let body = json!({ "ops": pending }).to_string();
                    let t = Instant::now();
                    match request(
                        server,
                        None,
                        "POST",
                        "/api/v1/sync/push",
                        Some(&token),
                        Some(body.as_bytes()),
                        "application/json",
                    ) {
                        Ok((200, _)) => {
                            p.ms.push(t.elapsed().as_secs_f64() * 1e3);
                            pending.clear();
                        }
                        _ => p.failed += 1,
                    }
                    thread::sleep(Duration::from_millis(200));
                }
                (p, replica)
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut push = Probe::default();
    for (h, slot) in pushes.into_iter().zip(phones.iter_mut()) {
        let (p, replica) = h.join().unwrap();
        push.ms.extend(p.ms);
        push.failed += p.failed;
        slot.1 = replica;
    }
    (push, health.join().unwrap())
}

type Outcomes = Arc<Mutex<BTreeMap<String, usize>>>;

fn note(outcomes: &Outcomes, what: impl Into<String>) {
    *outcomes.lock().unwrap().entry(what.into()).or_default() += 1;
}

fn status_of(s: &mut TcpStream) -> Option<u16> {
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// A push of 4 MiB sent to its last byte but one, then held open.
fn stalled(server: SocketAddr, token: String, stop: Arc<AtomicBool>, outcomes: Outcomes) {
    let head = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n"
    );
    let chunk = vec![b' '; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect_timeout(&server, Duration::from_secs(5)) else {
            note(&outcomes, "stalled: connect failed");
            thread::sleep(Duration::from_secs(1));
            continue;
        };
        let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        note(&outcomes, "stalled: connections");
        let mut sent = 0;
        let mut ok = s.write_all(head.as_bytes()).is_ok();
        while ok && sent < BIG - 1 && !stop.load(Ordering::Relaxed) {
            let n = chunk.len().min(BIG - 1 - sent);
            match s.write(&chunk[..n]) {
                Ok(k) => sent += k,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    // The server stopped reading: has it answered?
                    let mut peek = [0u8; 1];
                    if s.peek(&mut peek).is_ok_and(|n| n > 0) {
                        break;
                    }
                }
                Err(_) => ok = false,
            }
        }
        // Held open until the server answers or closes.
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match status_of(&mut s) {
                Some(code) => {
                    note(&outcomes, format!("stalled: answered {code}"));
                    break;
                }
                None => {
                    let mut peek = [0u8; 1];
                    match s.peek(&mut peek) {
                        Ok(0) => {
                            note(&outcomes, "stalled: closed without answer");
                            break;
                        }
                        Err(e)
                            if e.kind() != std::io::ErrorKind::WouldBlock
                                && e.kind() != std::io::ErrorKind::TimedOut =>
                        {
                            note(&outcomes, "stalled: reset");
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        thread::sleep(Duration::from_secs(1));
    }
}

/// A login body trickling at 10 bytes a second.
fn slow(server: SocketAddr, stop: Arc<AtomicBool>, outcomes: Outcomes) {
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n";
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect_timeout(&server, Duration::from_secs(5)) else {
            note(&outcomes, "slow: connect failed");
            thread::sleep(Duration::from_secs(1));
            continue;
        };
        note(&outcomes, "slow: connections");
        let _ = s.set_nonblocking(true);
        let mut ok = s.write_all(head.as_bytes()).is_ok();
        while ok && !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(100));
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => {
                    note(&outcomes, "slow: closed without answer");
                    break;
                }
                Ok(n) => {
                    let code = String::from_utf8_lossy(&buf[..n])
                        .split(' ')
                        .nth(1)
                        .unwrap_or("?")
                        .to_owned();
                    note(&outcomes, format!("slow: answered {code}"));
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    note(&outcomes, "slow: reset");
                    break;
                }
            }
            ok = s.write(b" ").is_ok();
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        thread::sleep(Duration::from_secs(1));
    }
}

fn start_server(dir: &std::path::Path) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 1024 && exec "$0" serve --bind "$1" --db "$2" --static-dir "$3""#)
        .arg(env!("CARGO_BIN_EXE_aidant"))
        .arg(addr.to_string())
        .arg(dir.join("bench.sqlite3"))
        .arg(dir.join("www"))
        .env("AIDANT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("AIDANT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aidant");
    let t = Instant::now();
    while request(
        addr,
        None,
        "GET",
        "/healthz",
        None,
        None,
        "application/json",
    )
    .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        thread::sleep(Duration::from_millis(100));
    }
    (child, addr)
}

fn main() {
    let stalled_n = env_or("AIDANT_BENCH_STALLED", 200);
    let slow_n = env_or("AIDANT_BENCH_SLOW", 1000);
    let secs = env_or("AIDANT_BENCH_SECS", 30) as u64;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, server) = start_server(dir.path());
    let pid = child.id();

    let admin = call(
        server,
        None,
        "/api/v1/login",
        None,
        json!({ "username": "admin", "password": ADMIN_PASSWORD }),
    );
    let admin = admin["token"].as_str().unwrap().to_owned();
    let op = call(
        server,
        None,
        "/api/v1/operations",
        Some(&admin),
        json!({ "name": "Hostile", "force_area": "Kent", "starts_on": "2025-06-01", "ends_on": "2025-06-30" }),
    );
    let operation: OperationId = op["id"].as_str().unwrap().parse().unwrap();
    let mut enrol = |i: usize| {
        let user = call(
            server,
            None,
            "/api/v1/users",
            Some(&admin),
            json!({ "username": format!("pc.bench{i}"), "display_name": format!("PC {i}"), "role": "officer" }),
        );
        let uid = user["id"].as_str().unwrap().to_owned();
        call(
            server,
            None,
            &format!("/api/v1/operations/{operation}/members"),
            Some(&admin),
            json!({ "user_id": uid }),
        );
        let code = call(
            server,
            None,
            &format!("/api/v1/users/{uid}/enrolment-codes"),
            Some(&admin),
            json!({}),
        );
        // Each phone enrols from an address of its own (enrolment is rate
        // limited per address).
        let e = call(
            server,
            Some([127, 0, 3, (i + 1) as u8]),
            "/api/v1/enrol",
            None,
            json!({ "code": code["code"] }),
        );
        let id: ReplicaId = e["device_id"].as_str().unwrap().parse().unwrap();
        (
            e["token"].as_str().unwrap().to_owned(),
            Replica::new(id),
            operation,
        )
    };
    let mut honest: Vec<_> = (0..HONEST_PHONES).map(&mut enrol).collect();
    let stolen: Vec<String> = (HONEST_PHONES..HONEST_PHONES + STOLEN_TOKENS)
        .map(|i| enrol(i).0)
        .collect();

    eprintln!("warming up…");
    honest_traffic(server, &mut honest, 3);
    let (baseline, _) = rss_kb(pid);
    eprintln!("quiet: {secs} s of honest traffic…");
    let (mut quiet_push, mut quiet_health) = honest_traffic(server, &mut honest, secs.min(15));

    eprintln!("attack: {stalled_n} stalled 4 MiB uploads, {slow_n} uploads at 10 B/s…");
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Outcomes = Default::default();
    let mut attackers = Vec::new();
    for i in 0..stalled_n {
        let (token, stop, outcomes) = (
            stolen[i % STOLEN_TOKENS].clone(),
            stop.clone(),
            outcomes.clone(),
        );
        attackers.push(
            thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || stalled(server, token, stop, outcomes))
                .unwrap(),
        );
    }
    for _ in 0..slow_n {
        let (stop, outcomes) = (stop.clone(), outcomes.clone());
        attackers.push(
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || slow(server, stop, outcomes))
                .unwrap(),
        );
    }
    // Let the attack build up, sampling the server's memory throughout.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (samples, sampling) = (samples.clone(), sampling.clone());
        thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                samples.lock().unwrap().push(rss_kb(pid).0);
                thread::sleep(Duration::from_millis(250));
            }
        })
    };
    thread::sleep(Duration::from_secs(10));
    let (mut attack_push, mut attack_health) = honest_traffic(server, &mut honest, secs);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let (_, hwm) = rss_kb(pid);
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.join();
    }
    eprintln!("attack over; waiting 10 s…");
    thread::sleep(Duration::from_secs(10));
    let (after, _) = rss_kb(pid);
    let (mut after_push, mut after_health) = honest_traffic(server, &mut honest, 5);
    let (after_traffic, _) = rss_kb(pid);

    let samples = samples.lock().unwrap();
    let peak = samples.iter().copied().max().unwrap_or(0);
    let mean = samples.iter().sum::<u64>() / samples.len().max(1) as u64;
    println!();
    println!("hostile clients against the release server (2 cores; client and server share them)");
    println!("attack: {stalled_n} stalled 4 MiB pushes over {STOLEN_TOKENS} stolen tokens, {slow_n} logins at 10 B/s; server started with a soft open-files limit of 1,024 (ulimit -Sn)");
    println!();
    println!(
        "{:<32} {:>6} {:>9} {:>9} {:>9} {:>7}",
        "honest requests", "n", "p50 ms", "p99 ms", "max ms", "failed"
    );
    println!("{}", quiet_push.line("push, no attack"));
    println!("{}", quiet_health.line("/healthz, no attack"));
    println!("{}", attack_push.line("push, under attack"));
    println!("{}", attack_health.line("/healthz, under attack"));
    println!("{}", after_push.line("push, after"));
    println!("{}", after_health.line("/healthz, after"));
    println!();
    println!("server RSS: baseline {:.1} MB; under attack peak {:.1} MB, mean {:.1} MB (VmHWM {:.1} MB); 10 s after {:.1} MB; after more honest traffic {:.1} MB",
        mb(baseline), mb(peak), mb(mean), mb(hwm), mb(after), mb(after_traffic));
    // Every 2 s (each 8th sample of 250 ms): where in the attack the peak
    // falls (the waves of answers at the 30 s deadlines, say).
    let timeline: Vec<String> = samples
        .iter()
        .step_by(8)
        .map(|kb| format!("{:.0}", mb(*kb)))
        .collect();
    println!(
        "server RSS under attack every 2 s (MB): {}",
        timeline.join(" ")
    );
    println!();
    println!("attackers' outcomes:");
    for (what, n) in outcomes.lock().unwrap().iter() {
        println!("  {what:<40} {n}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
