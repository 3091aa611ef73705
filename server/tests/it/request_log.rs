//! The request log of the real `aidant` binary, read from its stderr: one
//! short JSON line per request (a 200, a 404 and a 400 here), 4xx at info
//! with their error code, no span fields repeated in a line, and no second
//! line about the same request.

use serde_json::Value as Json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running `aidant serve`, killed on drop.
pub(crate) struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `(status, code)` of a response of any status.
pub(crate) fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, String) {
    let req = agent.request(method, url);
    let res = match body {
        Some(b) => req.set("content-type", "application/json").send_string(b),
        None => req.call(),
    };
    let r = match res {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = r.status();
    let body: Json = serde_json::from_str(&r.into_string().unwrap()).unwrap_or(Json::Null);
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// `aidant serve` on a free port with `args` after `serve --bind`, logging
/// at info to the file `log`: the process and its `http://` address.
pub(crate) fn serve(args: &[&std::ffi::OsStr], log: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env("AIDANT_ADMIN_PASSWORD", "request log admin password")
        .env("AIDANT_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // A file, not a pipe: an undrained pipe would block the server.
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("starting aidant");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = Running(child);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "aidant exited before listening; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            return (child, addr.to_owned());
        }
    }
}

/// The log file's text once it mentions `path` (each line is written when
/// its response is ready), or after 10 s.
pub(crate) fn log_mentioning(log: &std::path::Path, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap();
        if text.contains(path) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_short_line_per_request_and_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let db = dir.path().join("aidant.db");
    let (child, base) = serve(&["--db".as_ref(), db.as_os_str()], &log);

    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    // (method, path, body, status, code): each path is asked once.
    let cases: [(&str, &str, Option<&str>, u16, &str); 4] = [
        ("GET", "/healthz", None, 200, ""),
        ("GET", "/api/v1/no-such-endpoint", None, 404, "no_route"),
        (
            "POST",
            "/api/v1/login",
            Some("{\"username\":"),
            400,
            "malformed_json",
        ),
        ("GET", "/no-such-file.js", None, 404, "no_route"),
    ];
    for (method, path, body, status, code) in cases {
        let got = call(&agent, method, &format!("{base}{path}"), body);
        assert_eq!(got, (status, code.to_owned()), "{method} {path}");
    }

    // Each line is written when its response is ready: wait for the last.
    let text = log_mentioning(&log, "/no-such-file.js");
    drop(child);

    for (method, path, _, status, code) in cases {
        let mentions: Vec<&str> = text.lines().filter(|l| l.contains(path)).collect();
        assert_eq!(mentions.len(), 1, "{path}: one line, got:\n{text}");
        let raw = mentions[0];
        assert!(
            raw.len() < 400,
            "{path}: a short line, got {} bytes: {raw}",
            raw.len()
        );
        let entry: Json = serde_json::from_str(raw).expect("a JSON line");
        assert_eq!(entry["level"], "INFO", "{raw}");
        assert!(
            entry.get("span").is_none() && entry.get("spans").is_none(),
            "no span fields: {raw}"
        );
        let f = &entry["fields"];
        assert_eq!(f["method"], method, "{raw}");
        assert_eq!(f["path"], path, "{raw}");
        assert_eq!(f["status"], status, "{raw}");
        assert!(f["ms"].is_u64(), "{raw}");
        if status >= 400 {
            assert_eq!(f["code"], code, "{raw}");
        } else {
            assert!(f.get("code").is_none(), "{raw}");
        }
    }
    // Nothing else was logged about these requests (no second, longer copy).
    for l in text.lines() {
        assert!(l.len() < 400, "a long log line: {l}");
    }
}
