//! Broken or hostile clients over raw sockets: bodies that stall or trickle,
//! bodies over the limits, more uploads than the memory budget holds, one
//! caller opening many uploads, malformed request heads. Every answer is a
//! JSON `{code, message}` (or the connection is closed), and none of it
//! stops anyone else.

use crate::harness::{record_visit, Server, World};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw HTTP/1.1 answer.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub head: String,
    pub body: Value,
    pub text: String,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}\n{}", self.head, self.text);
        assert_eq!(self.body["code"], code, "{}\n{}", self.head, self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.text
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "not JSON: {}",
            self.head
        );
    }
}

/// Connects to the test server.
pub fn connect(srv: &Server) -> TcpStream {
    let addr = srv.base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

/// Reads one answer (head, then a Content-Length body, or up to the close).
/// `None` when the server closed without a status line.
pub fn read_answer(s: &mut impl Read) -> Option<Raw> {
    // Byte by byte up to the head's end, then exactly the body: whatever
    // follows (a pipelined answer) stays in the stream for the next call.
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) | Err(_) => return None,
            Ok(_) => buf.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut body = Vec::new();
    let length = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(n) => {
            let _ = s.by_ref().take(n as u64).read_to_end(&mut body);
        }
        None => {
            let _ = s.read_to_end(&mut body);
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    Some(Raw {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        head,
        text,
    })
}

/// Sends `bytes` on a new connection and reads the answer.
pub fn exchange(srv: &Server, bytes: &[u8]) -> (Option<Raw>, Duration) {
    let mut s = connect(srv);
    let t = Instant::now();
    s.write_all(bytes).expect("send");
    (read_answer(&mut s), t.elapsed())
}

fn post_head(path: &str, token: Option<&str>, length: usize) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[test]
fn a_body_shorter_than_its_content_length_gets_a_json_408_at_the_deadline() {
    let srv = Server::start_with(|c| c.limits.request_timeout = Duration::from_secs(2));
    let mut req = post_head("/api/v1/login", None, 200).into_bytes();
    req.extend_from_slice(br#"{"username":"admin","#);
    let (r, took) = exchange(&srv, &req);
    let r = r.expect("an answer, not a silent close");
    r.expect_error(408, "request_timeout");
    assert!(
        took >= Duration::from_millis(1_900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        r.header("connection"),
        Some("close"),
        "the rest of the body is never read: {}",
        r.head
    );
}

#[test]
fn a_body_trickling_below_the_minimum_rate_is_cut_off_after_the_grace() {
    let srv = Server::start_with(|c| {
        c.limits.request_timeout = Duration::from_secs(60);
        c.limits.min_body_rate = 1024;
    });
    let mut s = connect(&srv);
    s.write_all(post_head("/api/v1/login", None, 4_000).as_bytes())
        .unwrap();
    let t = Instant::now();
    // 10 bytes a second, as in the issue's attack.
    let mut answer = None;
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while t.elapsed() < Duration::from_secs(20) {
        if s.write_all(b"          ").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(900));
        let mut peek = [0u8; 1];
        if matches!(s.peek(&mut peek), Ok(n) if n > 0) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            answer = read_answer(&mut s);
            break;
        }
    }
    let took = t.elapsed();
    let r = answer.expect("a JSON 408 before 20 s");
    r.expect_error(408, "request_timeout");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(9),
        "cut off after the 5 s grace, not the 60 s deadline: {took:?}"
    );
}

#[test]
fn a_content_length_over_the_limit_is_refused_before_the_body() {
    let w = World::on(Server::start_with(|c| c.limits.body_bytes = 1024 * 1024));
    let t = Instant::now();
    let head = post_head("/api/v1/sync/push", Some(&w.a.token), 4 * 1024 * 1024 - 1);
    let (r, _) = exchange(&w.srv, head.as_bytes());
    r.expect("an answer").expect_error(413, "body_too_large");
    // Logins take far less than a push.
    let (r, _) = exchange(
        &w.srv,
        post_head("/api/v1/login", None, 70 * 1024).as_bytes(),
    );
    r.expect("an answer").expect_error(413, "body_too_large");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn uploads_beyond_the_memory_budget_wait_reading_nothing_small_ones_still_fit() {
    let w = World::on(Server::start_with(|c| {
        c.limits.body_budget = 1024 * 1024;
        c.limits.body_bytes = 4 * 1024 * 1024;
    }));
    // Three phones' large uploads take 840 KiB of the 896 KiB kept for
    // bodies over 64 KiB, and stall.
    let third = 280 * 1024;
    let mut stalled: Vec<TcpStream> = [&w.a.token, &w.a2.token, &w.b.token]
        .iter()
        .map(|t| {
            let mut s = connect(&w.srv);
            s.write_all(post_head("/api/v1/sync/push", Some(t), third + 10).as_bytes())
                .unwrap();
            s.write_all(&vec![b' '; third]).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // A large body streamed without a length cannot wait for room it never
    // declared: refused at once.
    let mut fourth = w.srv.officer(&w.admin, "pc.fourth", w.op1);
    let t = Instant::now();
    let r = w.srv.send_chunked(
        "/api/v1/sync/push",
        Some(&fourth.token),
        "application/json",
        vec![b' '; 200 * 1024],
    );
    r.expect_error(503, "server_busy");
    assert!(r.header("retry-after").is_some());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // A large body with a length waits, reading nothing, for room.
    let (_, ops) = record_visit(&mut fourth, w.op1);
    let ops_len = ops.len();
    let mut big = serde_json::to_vec(&serde_json::json!({ "ops": ops })).unwrap();
    big.resize(200 * 1024, b' ');
    let mut waiting = connect(&w.srv);
    waiting
        .write_all(post_head("/api/v1/sync/push", Some(&fourth.token), big.len()).as_bytes())
        .unwrap();
    let _ = waiting.write_all(&big);
    waiting
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    assert!(read_answer(&mut waiting).is_none(), "it waits");
    // An everyday small push still fits: the budget's last eighth is kept for
    // bodies of at most 64 KiB.
    let mut fifth = w.srv.officer(&w.admin, "pc.fifth", w.op1);
    let (_, ops) = record_visit(&mut fifth, w.op1);
    w.srv.push_ok(&fifth, &ops);
    // One stalled upload goes away: its share comes back and the waiting
    // push goes through.
    drop(stalled.pop());
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let r = read_answer(&mut waiting).expect("an answer once there is room");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["accepted"], ops_len, "{}", r.text);
}

#[test]
fn one_caller_holds_at_most_four_uploads_the_next_waits_and_others_still_push() {
    let mut w = World::new();
    let mut held = Vec::new();
    for _ in 0..server::body::PER_CALLER {
        let mut s = connect(&w.srv);
        s.write_all(post_head("/api/v1/sync/push", Some(&w.a.token), 1_000).as_bytes())
            .unwrap();
        s.write_all(b"{\"ops\":[").unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    // The fifth from the same phone waits for one of them.
    let (_, ops) = record_visit(&mut w.a, w.op1);
    let ops_len = ops.len();
    let body = serde_json::to_vec(&serde_json::json!({ "ops": ops })).unwrap();
    let mut fifth = connect(&w.srv);
    fifth
        .write_all(post_head("/api/v1/sync/push", Some(&w.a.token), body.len()).as_bytes())
        .unwrap();
    fifth.write_all(&body).unwrap();
    fifth
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    assert!(read_answer(&mut fifth).is_none(), "the fifth waits");
    // Another officer's phone is not affected.
    let (_, ops) = record_visit(&mut w.a2, w.op1);
    w.srv.push_ok(&w.a2, &ops);
    // One of the four goes away; the fifth goes through.
    drop(held.pop());
    fifth
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let r = read_answer(&mut fifth).expect("an answer");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["accepted"], ops_len, "{}", r.text);
}

/// A login sent from `source` (any 127.0.0.0/8 address: Linux delivers them
/// all locally), so tests can play many clients at different addresses.
fn login_from(srv: &Server, source: [u8; 4], username: &str, password: &str) -> Raw {
    use socket2::{Domain, Socket, Type};
    let server: std::net::SocketAddr = srv
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.bind(&std::net::SocketAddr::from((source, 0)).into())
        .expect("bind to a loopback address");
    sock.connect(&server.into()).expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let mut req = post_head("/api/v1/login", None, body.len()).into_bytes();
    req.extend_from_slice(body.as_bytes());
    s.write_all(&req).expect("send");
    read_answer(&mut s).expect("an answer")
}

#[test]
fn wrong_passwords_from_fifty_addresses_never_lock_the_owner_out() {
    use crate::harness::ADMIN_PASSWORD;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // Ten tries per address in a window longer than the attack takes, however
    // slow the machine (1,000 password checks take about a minute here).
    let srv = Arc::new(Server::start_with(|c| {
        c.limits.auth_per_minute = 10;
        c.limits.auth_window = Duration::from_secs(600);
    }));
    let done = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (1..=50u8)
        .map(|a| {
            let (srv, done) = (srv.clone(), done.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                // 20 tries from each of 50 addresses: 1,000 in all.
                for _ in 0..20 {
                    let source = [127, 0, 1, a];
                    statuses.push(login_from(&srv, source, "admin", "not the password").status);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                statuses
            })
        })
        .collect();
    while done.load(Ordering::Relaxed) < 300 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Mid-attack, the owner signs in from an address of their own.
    let t = Instant::now();
    let r = login_from(&srv, [127, 0, 2, 1], "admin", ADMIN_PASSWORD);
    let took = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["token"].is_string(), "{}", r.text);
    assert!(took < Duration::from_secs(60), "{took:?}");
    let statuses: Vec<u16> = attackers
        .into_iter()
        .flat_map(|a| a.join().expect("attacker"))
        .collect();
    assert_eq!(statuses.len(), 1_000);
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(wrong + limited, 1_000, "only 401s and 429s: {statuses:?}");
    // Each address had its 10 tries in the window and no more.
    assert!(wrong <= 50 * 10, "{wrong} wrong passwords checked");
    assert!(limited >= 500, "{limited} refused");
    // And after the attack, the owner still signs in, from yet another address.
    let r = login_from(&srv, [127, 0, 2, 2], "admin", ADMIN_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.text);
    eprintln!(
        "owner signed in mid-attack in {took:?}; attackers: {wrong} checked, {limited} refused"
    );
}

/// A write refused for want of space: 507 `storage_full`, with a
/// Retry-After in seconds.
pub fn refused_for_space(r: &crate::harness::Resp) {
    r.expect_retry_later(507, "storage_full");
}

pub fn pull_audits(srv: &Server) -> i64 {
    srv.sql(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'sync.pull'",
            (),
            |r| r.get(0),
        )
    })
}

#[test]
fn a_full_disk_answers_storage_full_while_reads_and_pulls_go_on_and_writes_resume() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    // `PRAGMA max_page_count` on the writer stands in for a full disk: SQLite
    // answers SQLITE_FULL exactly as when the volume has no space left.
    let pages = Arc::new(AtomicU64::new(0));
    let hook = pages.clone();
    let mut w = World::on(Server::start_with(move |c| {
        c.limits.test_max_page_count = Some(hook)
    }));
    let (_, first) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &first);
    let ops_before = w.srv.count("op_ids");

    // The disk fills: no page may be added any more.
    pages.store(1, Ordering::Release);
    let mut refused = Vec::new();
    for _ in 0..10 {
        refused.extend(record_visit(&mut w.a, w.op1).1);
    }
    let r = w.srv.push(&w.a.token, &refused);
    refused_for_space(&r);
    assert_eq!(w.srv.count("op_ids"), ops_before, "nothing half-written");
    w.srv.get("/readyz", None).expect_error(503, "not_ready");
    w.srv.get("/healthz", None).expect(200);
    // Small writes may still fit in the pages' free space: fill the audit
    // trail's last page with failed logins (each audited) until one cannot be.
    let mut full = false;
    for _ in 0..1_000 {
        let r = w.srv.post(
            "/api/v1/login",
            None,
            &serde_json::json!({ "username": "admin", "password": "wrong password" }),
        );
        if r.status == 507 {
            r.expect_error(507, "storage_full");
            full = true;
            break;
        }
        r.expect_error(401, "bad_credentials");
    }
    assert!(full, "the audit trail never filled up");
    // Reads go on: the other officer's phone pulls (a first pull, which would
    // write its last-seen time and an audit row), the supervisor lists visits.
    let pulled = w.srv.pull_all(&w.a2.token);
    assert_eq!(pulled.len(), first.len());
    assert_eq!(
        pull_audits(&w.srv),
        0,
        "the pull's audit row could not be written, and the pull was served all the same"
    );
    w.srv.get("/api/v1/visits", Some(&w.sup1)).expect(200);
    // Still full: still not ready.
    w.srv.get("/readyz", None).expect_error(503, "not_ready");
    assert_eq!(
        crate::operability::gauge(&w.srv, "aidant_storage_full"),
        Some(1.0)
    );

    // Space comes back: ready again, and the refused push goes through whole.
    pages.store(1 << 30, Ordering::Release);
    w.srv.get("/readyz", None).expect(200);
    assert_eq!(
        crate::operability::gauge(&w.srv, "aidant_storage_full"),
        Some(0.0)
    );
    w.srv.push_ok(&w.a, &refused);
    w.srv.pull_all(&w.a2.token);
    assert_eq!(pull_audits(&w.srv), 1, "pulls are audited again");
    assert_eq!(w.srv.count("op_ids"), ops_before + refused.len() as i64);
    let v = w
        .srv
        .get("/api/v1/admin/audit/verify", Some(&w.admin))
        .expect(200);
    assert_eq!(v.body["result"], "ok", "{}", v.text);
}

/// `GET` over a raw socket, so a dropped connection shows as `None`.
fn raw_get(srv: &Server, path: &str, token: &str) -> Option<Raw> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    exchange(srv, req.as_bytes()).0
}

#[test]
fn export_dates_an_xlsx_cannot_hold_are_refused_before_the_first_byte() {
    let w = World::new();
    let op = w.op1;
    for (from, to) in [
        ("1899-12-31", "1899-12-31"),
        ("0001-01-01", "0001-01-02"),
        ("1899-12-31", "1900-01-02"),
    ] {
        let r = raw_get(
            &w.srv,
            &format!("/api/v1/operations/{op}/export?from={from}&to={to}&format=xlsx&reason=check"),
            &w.admin,
        )
        .expect("a status line, not a dropped connection");
        r.expect_error(422, "unsupported_range");
    }
    // Other formats take any date; XLSX takes 1900 onwards.
    for q in [
        "from=1899-12-31&format=csv&reason=check",
        "from=1900-01-01&format=xlsx&reason=check",
    ] {
        let r = raw_get(
            &w.srv,
            &format!("/api/v1/operations/{op}/export?{q}"),
            &w.admin,
        )
        .expect("an answer");
        assert_eq!(r.status, 200, "{q}: {}", r.head);
    }
}

/// What actix-http answers by itself, below the App (so below our JSON error
/// handling), made JSON by `server::listen`: a malformed head, a head over
/// 128 KiB and a head that never ends each get their JSON error, with a
/// correct length, and the connection closed, never a hang. `exchange` sends
/// bytes on a new connection (plain TCP here, TLS in `tls.rs`).
pub fn check_own_answers(send: impl Fn(&[u8]) -> Box<dyn Read>) {
    let exchange = |bytes: &[u8]| {
        let t = Instant::now();
        let mut s = send(bytes);
        (read_answer(&mut s), t.elapsed())
    };
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    for (what, bytes, status, code) in [
        ("bad request line", "NOT HTTP AT ALL\r\n\r\n".to_owned(), 400, "bad_request"),
        ("bad header", "GET /healthz HTTP/1.1\r\nHost test\r\n\r\n".to_owned(), 400, "bad_request"),
        ("two lengths", "POST /api/v1/login HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_owned(), 400, "bad_request"),
        ("HTTP/1.0, bad header", "GET /healthz HTTP/1.0\r\nHost test\r\n\r\n".to_owned(), 400, "bad_request"),
        ("head over 128 KiB", huge, 431, "headers_too_large"),
    ] {
        let (r, took) = exchange(bytes.as_bytes());
        let r = r.unwrap_or_else(|| panic!("{what}: no status line"));
        check_own_answer(what, &r, status, code);
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
    }
    // A good request, then garbage on the same connection: the first answer
    // untouched, then the JSON 400.
    let mut s = send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nNOT HTTP\r\n\r\n");
    let r = read_answer(&mut s).expect("the first answer");
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &Value::from("ok")),
        "{}",
        r.text
    );
    let r = read_answer(&mut s).expect("the second answer");
    check_own_answer("garbage after a good request", &r, 400, "bad_request");
    // A head that never ends: 408 at the head deadline, then closed.
    let (r, took) = exchange(b"GET /healthz HTTP/1.1\r\nHost: te");
    check_own_answer(
        "unfinished head",
        &r.expect("a status line"),
        408,
        "request_timeout",
    );
    assert!(
        took >= Duration::from_millis(1_500) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[track_caller]
fn check_own_answer(what: &str, r: &Raw, status: u16, code: &str) {
    r.expect_error(status, code);
    let length = r.header("content-length").and_then(|l| l.parse().ok());
    assert_eq!(length, Some(r.text.len()), "{what}: {}{}", r.head, r.text);
    assert_eq!(r.header("connection"), Some("close"), "{what}: {}", r.head);
}

#[test]
fn malformed_heads_get_a_json_error_and_a_closed_connection_never_a_hang() {
    let srv = Server::start_with(|c| c.limits.request_timeout = Duration::from_secs(2));
    check_own_answers(|bytes| {
        let mut s = connect(&srv);
        s.write_all(bytes).expect("send");
        Box::new(s)
    });
}
