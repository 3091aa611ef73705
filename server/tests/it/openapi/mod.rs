//! The OpenAPI document served at `/api/v1/openapi.json`, checked against the
//! code rather than against itself: the routes are read from the text of
//! `server/src/api/mod.rs` and the error codes from every `ApiError` built in
//! `server/src`, so a new route or code without documentation fails here.
//!
//! Self-contained: starts the server in-process on port 0.

mod gen;
mod generated;

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

/// A server started with `server::run` on its own actix system thread.
struct InProcess {
    base: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = server::config::Config {
            db_path: dir.path().join("a.db"),
            static_dir: dir.path().join("www"),
            ..Default::default()
        };
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let running = server::run(listener, config).expect("server starts");
                tx.send(running.server.handle()).unwrap();
                running.server.await.unwrap();
            })
        });
        let handle = rx.recv().expect("server thread started");
        Self {
            base,
            handle,
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Status and JSON body (`Null` when the body is not JSON).
fn request(method: &str, url: &str) -> (u16, Json) {
    let resp = match ureq::request(method, url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let body = resp.into_string().unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(Json::Null))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The byte index just past the parenthesis that closes the one opened at
/// `open`, skipping string and char literals.
fn close_paren(text: &str, open: usize) -> usize {
    let b = text.as_bytes();
    assert_eq!(b[open], b'(');
    let (mut depth, mut i) = (0usize, open);
    while i < b.len() {
        match b[i] {
            b'"' => i = end_of_string(text, i) - 1,
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += text[i + 2..].find('\'').unwrap() + 2;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced parenthesis at byte {open}")
}

/// The byte index just past the string literal starting at `start` (a `"`).
fn end_of_string(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    let mut i = start + 1;
    while b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The first string literal in `text`, if any.
fn first_literal(text: &str) -> Option<&str> {
    let start = text.find('"')?;
    Some(&text[start + 1..end_of_string(text, start) - 1])
}

/// `(path, methods)` registered by `configure` in `api/mod.rs`, with scope
/// prefixes applied. Understands `web::scope("…")`, `resource("…")`,
/// `.get(…)`/`.post(…)` on it and `.route(web::get()…)`; anything else registering a route fails the count
/// checks below rather than being skipped silently.
fn registered_routes() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(src().join("api/mod.rs")).unwrap();
    let start = text
        .find("pub fn configure")
        .expect("configure in api/mod.rs");
    let body_end = start + text[start..].find("\n}\n").expect("end of configure");
    let body = &text[start..body_end];
    const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "head"];
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // (prefix, byte index where its scope's enclosing call closes)
    let mut scopes: Vec<(String, usize)> = Vec::new();
    let mut current: Option<String> = None;
    let mut i = 0;
    let (mut resources, mut methods) = (0, 0);
    while i < body.len() {
        scopes.retain(|(_, end)| i < *end);
        let rest = &body[i..];
        if rest.starts_with("web::scope(\"") {
            let prefix = first_literal(rest).unwrap().to_owned();
            // The scope covers what is chained on it, up to the end of the
            // call it is an argument of.
            let enclosing = body[..i].rfind('(').unwrap();
            scopes.push((prefix, close_paren(body, enclosing)));
            i += "web::scope(".len();
        } else if rest.starts_with("resource(\"") {
            let path: String = scopes
                .iter()
                .map(|(p, _)| p.as_str())
                .chain([first_literal(rest).unwrap()])
                .collect();
            routes.entry(path.clone()).or_default();
            current = Some(path);
            resources += 1;
            i += "resource(".len();
        } else if let Some(m) = METHODS.iter().find(|m| {
            rest.starts_with(&format!("web::{m}()")) || rest.starts_with(&format!(".{m}("))
        }) {
            let path = current.clone().expect("a method before any resource");
            assert!(
                routes.get_mut(&path).unwrap().insert(m.to_string()),
                "{path} registers {m} twice"
            );
            methods += 1;
            i += 5;
        } else {
            i += rest.chars().next().unwrap().len_utf8();
        }
    }
    assert_eq!(
        resources,
        body.matches("resource(").count(),
        "a resource( call in configure that the test could not read"
    );
    assert_eq!(
        methods,
        body.matches(".route(").count()
            + METHODS
                .iter()
                .map(|m| body.matches(&format!(".{m}(")).count())
                .sum::<usize>(),
        "a .route( or method call in configure that the test could not read"
    );
    assert!(
        routes.contains_key("/api/v1/sync/push") && routes.contains_key("/healthz"),
        "route parsing is broken: {routes:?}"
    );
    for (p, m) in &routes {
        assert!(!m.is_empty(), "{p} has no method");
    }
    routes
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Codes in the first string literal of every call to one of `callees` in
/// the files for which `only` holds.
fn codes_passed_to(callees: &[&str], only: impl Fn(&Path) -> bool) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut codes = BTreeSet::new();
    for f in files.iter().filter(|f| only(f)) {
        let text = std::fs::read_to_string(f).unwrap();
        for callee in callees {
            for (at, _) in text.match_indices(callee) {
                let open = at + callee.len() - 1;
                let args = &text[open..close_paren(&text, open)];
                if let Some(code) = first_literal(args) {
                    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        codes.insert(code.to_owned());
                    }
                }
            }
        }
    }
    codes
}

/// Every `code` an error response can carry.
fn error_codes_in_source() -> BTreeSet<String> {
    let mut codes = codes_passed_to(&["ApiError::new(", "ApiError::bad_request("], |_| true);
    // The fixed helpers in error.rs (`unauthorized()`, `not_found(..)`, …).
    codes.extend(codes_passed_to(&["Self::new("], |f| {
        f.ends_with("error.rs")
    }));
    for helper in [
        "unauthorized",
        "device_revoked",
        "forbidden",
        "not_found",
        "conflict",
        "rate_limited",
        "internal",
        "no_route",
        "method_not_allowed",
    ] {
        assert!(
            codes.contains(helper),
            "code scan missed {helper}: {codes:?}"
        );
    }
    codes
}

/// Resolves a local `$ref`.
fn resolve<'a>(doc: &'a Json, v: &'a Json) -> &'a Json {
    match v.get("$ref").and_then(Json::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local $ref"))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

fn refs<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Json::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn string_set(v: &Json) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn openapi_documents_every_route_and_error_code() {
    let server = InProcess::start();
    let (status, doc) = request("GET", &format!("{}/api/v1/openapi.json", server.base));
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for r in {
        let mut v = Vec::new();
        refs(&doc, &mut v);
        v
    } {
        resolve(&doc, &serde_json::json!({ "$ref": r }));
    }

    // Routes: exactly those registered, each with exactly its methods.
    let routes = registered_routes();
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeMap<String, BTreeSet<String>> = paths
        .iter()
        .map(|(p, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    !["parameters", "summary", "description", "servers"].contains(&k.as_str())
                })
                .cloned()
                .collect();
            (p.clone(), methods)
        })
        .collect();
    for (path, methods) in &routes {
        let Some(doc_methods) = documented.get(path) else {
            panic!("route {path} ({methods:?}) is not in openapi.json");
        };
        assert_eq!(doc_methods, methods, "methods of {path}");
    }
    for path in documented.keys() {
        assert!(
            routes.contains_key(path),
            "openapi.json documents {path}, which api/mod.rs does not register"
        );
    }

    // Error codes: the schema's list is exactly what the source can send.
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(
        string_set(&error["required"]),
        ["code", "message"].map(String::from).into()
    );
    let listed = string_set(&error["properties"]["code"]["enum"]);
    let in_source = error_codes_in_source();
    let undocumented: Vec<_> = in_source.difference(&listed).collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from openapi.json: {undocumented:?}"
    );
    let stale: Vec<_> = listed.difference(&in_source).collect();
    assert!(
        stale.is_empty(),
        "openapi.json lists codes the server never sends: {stale:?}"
    );
    // Per-op push rejection codes, likewise.
    let mut reject = codes_passed_to(&["reject("], |f| f.ends_with("db/sync.rs"));
    // The permission table's refusals (`Refusal { code: "…", … }`).
    let table = std::fs::read_to_string(src().join("permissions.rs")).unwrap();
    reject.extend(
        table
            .split("code: \"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(String::from),
    );
    assert!(
        reject.contains("wrong_replica"),
        "reject scan broken: {reject:?}"
    );
    assert_eq!(
        string_set(&doc["components"]["schemas"]["PushResult"]["properties"]["code"]["enum"]),
        reject,
        "push rejection codes"
    );

    // Every operation: an id, a success answer, errors in the shared schema
    // with codes from the list, and its path parameters declared.
    let mut ids = BTreeSet::new();
    let mut used_codes = BTreeSet::new();
    let mut error_responses: Vec<&Json> = doc["components"]["responses"]
        .as_object()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    let mut secured = Vec::new();
    for (path, item) in paths {
        for method in &documented[path] {
            let op = &item[method.as_str()];
            let where_ = format!("{} {path}", method.to_uppercase());
            assert!(
                ids.insert(op["operationId"].as_str().expect("operationId").to_owned()),
                "{where_}: duplicate operationId"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{where_}: no success response"
            );
            let mut answers_unauthorized = false;
            for (status, r) in responses {
                let r = resolve(&doc, r);
                if status.starts_with('2') {
                    continue;
                }
                error_responses.push(r);
                let codes = string_set(&r["x-error-codes"]);
                assert!(!codes.is_empty(), "{where_} {status}: no x-error-codes");
                answers_unauthorized |= status == "401" && codes.contains("unauthorized");
            }
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(item["parameters"].as_array().into_iter().flatten())
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            let in_path: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(String::from)
                .collect();
            assert_eq!(declared, in_path, "{where_}: path parameters");
            let bearer = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(
                bearer, answers_unauthorized,
                "{where_}: bearer security iff it can answer 401 unauthorized"
            );
            if bearer {
                secured.push((method.clone(), path.clone()));
            }
        }
    }
    for r in error_responses {
        let codes = string_set(&r["x-error-codes"]);
        assert_eq!(
            r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
            "error responses use the shared schema: {r}"
        );
        for c in &codes {
            assert!(listed.contains(c), "x-error-codes names unknown code {c}");
        }
        used_codes.extend(codes);
    }
    let nowhere: Vec<_> = listed.difference(&used_codes).collect();
    assert!(
        nowhere.is_empty(),
        "codes no response mentions: {nowhere:?}"
    );

    // The document's promises, checked on the running server: documented
    // bearer endpoints refuse a request without a token, and every path
    // answers an unlisted method with a JSON 405.
    let nil = "00000000-0000-0000-0000-000000000000";
    for (method, path) in &secured {
        let url = format!("{}{}", server.base, path.replace("{id}", nil));
        let (status, body) = request(&method.to_uppercase(), &url);
        assert_eq!(
            (status, &body["code"]),
            (401, &Json::from("unauthorized")),
            "{method} {path}"
        );
    }
    for (path, methods) in &routes {
        let other = ["PUT", "PATCH", "DELETE", "POST", "GET"]
            .into_iter()
            .find(|m| !methods.contains(&m.to_lowercase()))
            .unwrap();
        let url = format!("{}{}", server.base, path.replace("{id}", nil));
        let (status, body) = request(other, &url);
        assert_eq!(
            (status, &body["code"]),
            (405, &Json::from("method_not_allowed")),
            "{other} {path}"
        );
    }
    let (status, body) = request("GET", &format!("{}/api/v1/no-such-thing", server.base));
    assert_eq!((status, &body["code"]), (404, &Json::from("no_route")));
}
