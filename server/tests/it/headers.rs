//! Addresses and caching: the enrolment URL and QR code come only from the
//! configured public URL, never from the request's `Host`, `X-Forwarded-Host`
//! or `Forwarded`; every API response says `Cache-Control: no-store`; every
//! 405 says `Allow`.

use crate::harness::{Resp, Server, World};
use serde_json::{json, Value};

/// A request with extra headers (the harness's client sends only its own).
fn send_with(
    srv: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value, String) {
    let mut req = ureq::request(method, &format!("{}{path}", srv.base));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let r = match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = r.status();
    let text = r.into_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

const SPOOFED: [(&str, &str); 4] = [
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("Forwarded", "host=evil.example;proto=https"),
    ("X-Forwarded-Proto", "https"),
];

/// Issues a code for a new officer with each spoofed header alone and all
/// together; returns the bodies.
fn issue_codes(srv: &Server, admin: &str, name: &str) -> Vec<Value> {
    let user = srv.create_user(admin, name, "officer", None);
    let path = format!("/api/v1/users/{user}/enrolment-codes");
    let mut out = Vec::new();
    for headers in SPOOFED
        .iter()
        .map(std::slice::from_ref)
        .chain([&SPOOFED[..]])
    {
        let (status, body, text) = send_with(srv, "POST", &path, Some(admin), headers);
        assert_eq!(status, 201, "{headers:?}: {text}");
        assert!(
            !text.contains("evil.example"),
            "{headers:?}: {}",
            &text[..text.len().min(200)]
        );
        out.push(body);
    }
    out
}

#[test]
fn the_request_host_never_chooses_the_enrolment_url_or_qr_code() {
    // No public URL: the code as text, no URL, no QR, and a plain reason.
    let srv = Server::start();
    let admin = srv.admin();
    for body in issue_codes(&srv, &admin, "pc.noqr") {
        assert!(
            body["code"].as_str().is_some_and(|c| c.len() == 14),
            "{body}"
        );
        assert_eq!(body["enrol_url"], Value::Null, "{body}");
        assert_eq!(body["qr_svg"], Value::Null, "{body}");
        let message = body["qr_message"].as_str().expect("qr_message");
        assert!(
            message.contains("--public-url") && message.contains("AIDANT_PUBLIC_URL"),
            "{message}"
        );
    }
    drop(srv);

    // A public URL: always that one, whatever the request says.
    let public = "https://aidant.force.example";
    let srv = Server::start_with(|c| c.public_url = Some(public.into()));
    let admin = srv.admin();
    for body in issue_codes(&srv, &admin, "pc.qr") {
        let code = body["code"].as_str().expect("code");
        assert_eq!(
            body["enrol_url"],
            json!(format!("{public}/#enrol={code}")),
            "{body}"
        );
        assert!(
            body["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")),
            "{body}"
        );
        assert_eq!(body["qr_message"], Value::Null);
    }
}

/// Panics unless `r` forbids caching.
#[track_caller]
fn no_store(what: &str, r: &Resp) {
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "{what}: status {} {}",
        r.status,
        r.text
    );
    assert_eq!(r.header("pragma"), Some("no-cache"), "{what}");
}

#[test]
fn every_api_response_says_no_store() {
    let w = World::new();
    let srv = &w.srv;
    let officer = srv.create_user(&w.admin, "pc.cache", "officer", None);
    let code = srv.issue_code(&w.admin, officer);
    let j = |v: Value| serde_json::to_vec(&v).unwrap();
    let login = j(json!({ "username": "admin", "password": crate::harness::ADMIN_PASSWORD }));
    let enrol = j(json!({ "code": code, "label": "cache phone" }));
    let bad_login = j(json!({ "username": "admin", "password": "not the password" }));
    let json_ct = "application/json";
    let cases: Vec<(&str, Resp, u16)> = vec![
        (
            "login",
            srv.send("POST", "/api/v1/login", None, Some((json_ct, &login))),
            200,
        ),
        (
            "enrol",
            srv.send("POST", "/api/v1/enrol", None, Some((json_ct, &enrol))),
            201,
        ),
        ("me (device)", srv.get("/api/v1/me", Some(&w.a.token)), 200),
        ("me (session)", srv.get("/api/v1/me", Some(&w.sup1)), 200),
        ("users", srv.get("/api/v1/users", Some(&w.admin)), 200),
        ("visits", srv.get("/api/v1/visits", Some(&w.sup1)), 200),
        ("audit", srv.get("/api/v1/admin/audit", Some(&w.admin)), 200),
        (
            "audit verify",
            srv.get("/api/v1/admin/audit/verify", Some(&w.admin)),
            200,
        ),
        (
            "quarantine",
            srv.get("/api/v1/admin/quarantine", Some(&w.admin)),
            200,
        ),
        ("openapi", srv.get("/api/v1/openapi.json", None), 200),
        // Errors of every kind.
        (
            "bad login",
            srv.send("POST", "/api/v1/login", None, Some((json_ct, &bad_login))),
            401,
        ),
        ("no token", srv.get("/api/v1/users", None), 401),
        ("wrong role", srv.get("/api/v1/users", Some(&w.sup1)), 403),
        ("no route", srv.get("/api/v1/nothing-here", None), 404),
        ("outside v1", srv.get("/api/nothing-here", None), 404),
        (
            "bad path",
            srv.get("/api/v1/visits/not-a-uuid", Some(&w.sup1)),
            400,
        ),
        (
            "wrong method",
            srv.send("DELETE", "/api/v1/users", None, None),
            405,
        ),
        (
            "form body",
            srv.send(
                "POST",
                "/api/v1/login",
                None,
                Some(("application/x-www-form-urlencoded", b"a=b")),
            ),
            415,
        ),
    ];
    for (what, r, status) in &cases {
        assert_eq!(r.status, *status, "{what}: {}", r.text);
        no_store(what, r);
    }
    // Outside the API the static files keep their own caching.
    let health = srv.get("/healthz", None).expect(200);
    assert_ne!(health.header("cache-control"), Some("no-store"));
    let root = srv.get("/", None);
    assert_ne!(
        root.header("cache-control"),
        Some("no-store"),
        "{}",
        root.text
    );
}

#[test]
fn every_405_says_allow() {
    let w = World::new();
    let srv = &w.srv;
    let visit = uuid::Uuid::new_v4();
    for (method, path, allow) in [
        ("DELETE", "/api/v1/operations".to_owned(), "GET, POST"),
        ("PUT", "/api/v1/users".to_owned(), "GET, POST"),
        ("GET", "/api/v1/login".to_owned(), "POST"),
        ("GET", "/api/v1/sync/push".to_owned(), "POST"),
        ("POST", "/api/v1/sync/pull".to_owned(), "GET"),
        ("PATCH", format!("/api/v1/visits/{visit}"), "GET"),
        ("GET", format!("/api/v1/visits/{visit}/review"), "POST"),
        ("DELETE", "/api/v1/admin/audit/verify".to_owned(), "GET"),
        ("PUT", "/healthz".to_owned(), "GET"),
        ("POST", "/metrics".to_owned(), "GET"),
    ] {
        let r = srv.send(method, &path, Some(&w.admin), None);
        r.expect_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    drop(w);

    // A 405 that actix makes itself (a static file asked with POST) gets one
    // too, and static files keep their own caching.
    let www = tempfile::tempdir().unwrap();
    std::fs::write(
        www.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    let dir = www.path().to_owned();
    let srv = Server::start_with(move |c| c.static_dir = dir);
    for path in ["/", "/index.html"] {
        let r = srv.send("POST", path, None, None);
        r.expect_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "POST {path}");
        assert_ne!(r.header("cache-control"), Some("no-store"), "POST {path}");
        let r = srv.get(path, None).expect(200);
        assert_eq!(r.header("cache-control"), Some("no-cache"), "GET {path}");
    }
}
