//! PostgreSQL only: a real 5xx from the real `aidant` binary, and its line
//! in the request log. With the database refusing connections (as while it
//! restarts), a sign-in answers 503 `storage_unavailable` and `/readyz` 503
//! `not_ready`: each is one line at error, with its code and, for the
//! former, the cause (which the client never sees).

use crate::harness::fresh_pg_database;
use crate::request_log::{call, log_mentioning, serve};
use serde_json::Value as Json;
use std::time::Duration;

/// The one log line that mentions `path`, parsed.
#[track_caller]
fn line_about(text: &str, path: &str) -> Json {
    let mentions: Vec<&str> = text.lines().filter(|l| l.contains(path)).collect();
    assert_eq!(mentions.len(), 1, "{path}: one line, got:\n{text}");
    serde_json::from_str(mentions[0]).expect("a JSON line")
}

#[test]
fn a_database_that_cannot_be_reached_is_logged_at_error_with_its_cause() {
    let url = fresh_pg_database().expect("run under scripts/pg.sh");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let key = dir.path().join("audit.key");
    let (child, base) = serve(
        &[
            "--database-url".as_ref(),
            url.as_ref(),
            "--audit-key".as_ref(),
            key.as_os_str(),
        ],
        &log,
    );
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    assert_eq!(call(&agent, "GET", &format!("{base}/readyz"), None).0, 200);

    // The database stops taking connections and its sessions are ended.
    let cluster_url = std::env::var("AIDANT_TEST_DATABASE_URL").expect("scripts/pg.sh");
    let mut cluster = postgres::Client::connect(&cluster_url, postgres::NoTls).expect("connect");
    let name = url.rsplit_once('/').expect("URL ends in /DATABASE").1;
    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .expect("refuse connections");
    cluster
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .expect("pg_terminate_backend");

    let login = "/api/v1/login";
    let body = r#"{"username":"admin","password":"request log admin password"}"#;
    let got = call(&agent, "POST", &format!("{base}{login}"), Some(body));
    assert_eq!(got, (503, "storage_unavailable".to_owned()));
    let got = call(&agent, "GET", &format!("{base}/readyz"), None);
    assert_eq!(got, (503, "not_ready".to_owned()));
    // The request log drops query strings: wait for the second 503's code.
    let text = log_mentioning(&log, "\"not_ready\"");
    drop(child);

    let entry = line_about(&text, login);
    let f = &entry["fields"];
    assert_eq!(entry["level"], "ERROR", "{entry}");
    assert_eq!(
        (&f["status"], &f["code"], &f["method"]),
        (
            &Json::from(503),
            &Json::from("storage_unavailable"),
            &Json::from("POST")
        ),
        "{entry}"
    );
    let cause = f["cause"].as_str().unwrap_or("");
    // PostgreSQL's own reason: the session was ended, or (once found
    // closed) a new one refused.
    assert!(
        cause.contains("terminating connection due to administrator command")
            || cause.contains("is not currently accepting connections"),
        "the cause is PostgreSQL's own reason: {entry}"
    );
    let ready = text
        .lines()
        .filter(|l| l.contains("\"path\":\"/readyz\"") && l.contains("503"))
        .count();
    assert!(ready >= 1, "the 503 from /readyz is logged:\n{text}");
    for l in text.lines().filter(|l| l.contains("\"status\":503")) {
        let e: Json = serde_json::from_str(l).expect("a JSON line");
        assert_eq!(e["level"], "ERROR", "{l}");
    }

    cluster
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .expect("take connections");
}
