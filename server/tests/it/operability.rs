//! Health, readiness, metrics and security headers.

use crate::harness::{record_visit, Resp, World};
use serde_json::json;

/// The value of an unlabelled metric, or of one with exactly these labels.
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == name_and_labels).then(|| value.parse().expect("a number"))
    })
}

/// An unlabelled metric of `srv`'s `/metrics` now.
pub fn gauge(srv: &crate::harness::Server, name: &str) -> Option<f64> {
    metric(&srv.get("/metrics", None).expect(200).text, name)
}

fn scrape(w: &World) -> String {
    let r = w.srv.get("/metrics", None).expect(200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        r.header("content-type")
    );
    r.text
}

#[test]
fn health_readiness_and_metrics() {
    let mut w = World::new();
    let h = w.srv.get("/healthz", None).expect(200);
    assert_eq!(h.body, json!({ "status": "ok" }));
    w.srv.get("/healthz", None).expect(200);
    let r = w.srv.get("/readyz", None).expect(200);
    assert_eq!(r.body, json!({ "status": "ready" }));

    let text = scrape(&w);
    for family in [
        "aidant_http_requests_total",
        "aidant_http_request_seconds",
        "aidant_ops_stored",
        "aidant_ops_rejected",
        "aidant_devices_seen",
        "aidant_audit_chain_length",
        "aidant_storage_full",
        "aidant_restart_needed",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    assert_eq!(
        metric(
            &text,
            r#"aidant_http_requests_total{route="/healthz",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(metric(&text, "aidant_ops_stored"), Some(0.0));
    assert_eq!(metric(&text, "aidant_storage_full"), Some(0.0));
    assert_eq!(metric(&text, "aidant_restart_needed"), Some(0.0));

    // A push of new ops, then the same again, then one more op.
    let (visit, mut ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let r = w.srv.push(&w.a.token, &ops).expect(200);
    assert_eq!(r.body["duplicates"], json!(ops.len()));
    let one_more =
        w.a.replica
            .note(crate::harness::now_ms(), visit, "later")
            .unwrap()
            .clone();
    w.srv.push_ok(&w.a, std::slice::from_ref(&one_more));
    ops.push(one_more.clone());
    // And one rejected op.
    let r = w
        .srv
        .post(
            "/api/v1/sync/push",
            Some(&w.a.token),
            &json!({ "ops": [{ "not": "an op" }] }),
        )
        .expect(200);
    assert_eq!(r.body["rejected"], json!(1));
    // Route labels are patterns, not ids (bounded cardinality).
    w.srv
        .get(
            &format!("/api/v1/visits/{visit}?reason=check"),
            Some(&w.sup1),
        )
        .expect(200);
    w.srv.get("/no/such/page", None).expect(404);

    let text = scrape(&w);
    assert_eq!(
        metric(&text, "aidant_ops_stored"),
        Some(ops.len() as f64),
        "{text}"
    );
    assert_eq!(metric(&text, "aidant_ops_rejected"), Some(1.0));
    assert_eq!(
        metric(&text, "aidant_devices_seen"),
        Some(1.0),
        "only A has made requests"
    );
    assert_eq!(
        metric(
            &text,
            r#"aidant_http_requests_total{route="/api/v1/sync/push",status="200"}"#
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"aidant_http_requests_total{route="/api/v1/visits/{id}",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(&visit.to_string()), "{text}");
    assert!(!text.contains("/no/such/page"), "{text}");
    assert_eq!(
        metric(
            &text,
            r#"aidant_http_request_seconds_count{route="/healthz"}"#
        ),
        Some(2.0)
    );

    // The chain length is the audit trail's length.
    let verify = w
        .srv
        .get("/api/v1/admin/audit/verify", Some(&w.admin))
        .expect(200);
    let text = scrape(&w);
    assert_eq!(
        metric(&text, "aidant_audit_chain_length"),
        verify.body["rows"].as_f64(),
        "{text}"
    );
    assert_eq!(
        metric(&text, "aidant_audit_chain_length"),
        Some(w.srv.count("audit") as f64)
    );
}

fn assert_security_headers(what: &str, r: &Resp) {
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    // No TLS in this server, so no HSTS.
    assert_eq!(r.header("strict-transport-security"), None, "{what}");
}

#[test]
fn every_kind_of_response_carries_the_security_headers() {
    let w = World::new();
    let big = "x".repeat(5 * 1024 * 1024);
    let cases = [
        ("health", w.srv.get("/healthz", None)),
        ("metrics", w.srv.get("/metrics", None)),
        ("placeholder page", w.srv.get("/", None)),
        ("api read", w.srv.get("/api/v1/me", Some(&w.admin))),
        ("unauthorised", w.srv.get("/api/v1/me", None)),
        ("forbidden", w.srv.get("/api/v1/users", Some(&w.sup1))),
        ("unknown route", w.srv.get("/api/v1/nope", None)),
        ("wrong method", w.srv.send("DELETE", "/healthz", None, None)),
        (
            "bad JSON",
            w.srv.send(
                "POST",
                "/api/v1/login",
                None,
                Some(("application/json", b"{")),
            ),
        ),
        (
            "body too large",
            w.srv.send(
                "POST",
                "/api/v1/login",
                None,
                Some(("application/json", big.as_bytes())),
            ),
        ),
    ];
    for (what, r) in &cases {
        assert_security_headers(what, r);
    }
    assert_eq!(cases[2].1.status, 200);
    assert!(cases[2]
        .1
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    cases[9].1.expect_error(413, "body_too_large");
}
