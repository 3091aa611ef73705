//! Requests generated from the served document: for every operation that
//! takes parameters or a body, `PER_OPERATION` requests that its schema
//! accepts (`gen`), sent with the credentials the operation needs to a real
//! server. None may fail on the server (5xx), and none may be refused as
//! malformed or out of range: that is what the schema is for. Refusals a
//! schema cannot express (ids that name nothing, secrets, data the request
//! meets, a relation between two fields) are listed below with a reason each.
//! And the other way round: each body schema refuses unknown keys, and so
//! does the server.

use super::gen::Gen;
use crate::harness::{record_visit, World};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::fmt::Write;

const PER_OPERATION: usize = 30;
const SEED: u64 = 0x0A1D_A417_0014;

/// Codes that say the input was malformed or out of range: never for a
/// request the schema accepts (but see [`RELATIONS`]).
const INPUT_CODES: &[&str] = &[
    "malformed_json",
    "malformed_batch",
    "invalid_field",
    "bad_query",
    "bad_path",
    "bad_body",
    "bad_request",
    "reason_required",
    "range_too_long",
    "unsupported_format",
    "unsupported_range",
    "too_many_rows",
    "body_too_large",
    "batch_too_large",
    "unsupported_media_type",
    "headers_too_large",
];

/// Refusals about what the request meets, not its shape: a schema cannot
/// say them.
const DATA_CODES: &[(&str, &str)] = &[
    (
        "not_found",
        "a generated id (or a field name) names nothing",
    ),
    (
        "conflict",
        "a generated name or id was taken by an earlier request",
    ),
    ("no_conflict", "the field named is not in conflict"),
    (
        "not_submitted",
        "the visit is not in the status the act needs",
    ),
    ("no_recovery_code", "the device has no recovery code"),
    ("bad_credentials", "a generated password is not the user's"),
    (
        "bad_setup_code",
        "a generated setup code is not the secret one",
    ),
    (
        "bad_enrolment_code",
        "a generated enrolment code was never issued",
    ),
    (
        "not_in_operation",
        "a generated user or team is not in the visit's operation",
    ),
];

/// Input refusals that depend on two fields together, which a schema
/// cannot relate: `(operationId, code, words of the message, why)`. Each
/// operation's description says them.
const RELATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "createOperation",
        "invalid_field",
        "ends_on is before starts_on",
        "order of two dates",
    ),
    (
        "operationSummary",
        "bad_query",
        "is after to",
        "order of two dates",
    ),
    (
        "exportOperation",
        "bad_query",
        "is after to",
        "order of two dates",
    ),
    (
        "operationSummary",
        "range_too_long",
        "",
        "length of the range two dates make",
    ),
    (
        "exportOperation",
        "range_too_long",
        "",
        "length of the range two dates make",
    ),
    (
        "exportOperation",
        "unsupported_range",
        "",
        "an XLSX file's years, by format and dates",
    ),
];

/// Per-op refusals in a push answer that are about data: the op's shape
/// was fine.
const PUSH_DATA_CODES: &[&str] = &[
    "wrong_replica",
    "forbidden_operation",
    "unknown_operation",
    "operation_mismatch",
    "unknown_visit",
    "id_reused",
    "forbidden_action",
    "forbidden_visit",
];

#[test]
fn schema_valid_requests_are_not_refused_as_malformed() {
    let mut w = World::new();
    let (visit, ops) = record_visit(&mut w.a, w.op1);
    w.srv.push_ok(&w.a, &ops);
    let doc = w.srv.get("/api/v1/openapi.json", None).expect(200).body;
    let mut g = Gen::new(&doc, SEED);
    // Ids a path parameter may name: real ones half the time, so requests
    // reach past `not_found`. The sync device (a2) is never among them.
    let real = |path: &str| -> Vec<String> {
        if path.starts_with("/api/v1/operations/") {
            vec![w.op1.to_string(), w.op2.to_string()]
        } else if path.starts_with("/api/v1/users/") {
            vec![w.a.user.to_string(), w.b.user.to_string()]
        } else if path.starts_with("/api/v1/devices/") {
            vec![w.b.id.to_string()]
        } else {
            vec![visit.to_string()]
        }
    };
    let (mut sent, mut failures) = (0, Vec::new());
    // What came back, by operation, status and code (printed: the test's
    // reach, e.g. how many requests got past `not_found`).
    let mut answers: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let params: Vec<&Json> = op["parameters"].as_array().into_iter().flatten().collect();
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            if params.is_empty() && body.is_null() {
                continue;
            }
            let id = op["operationId"].as_str().unwrap();
            let bearer = !op["security"].is_null();
            let token = match (bearer, path.starts_with("/api/v1/sync/")) {
                (false, _) => None,
                (true, true) => Some(w.a2.token.as_str()),
                (true, false) => Some(w.admin.as_str()),
            };
            // Pushes carry ops of seven kinds, each judged on its own: more of them.
            let n = if id == "push" {
                5 * PER_OPERATION
            } else {
                PER_OPERATION
            };
            if !body.is_null() {
                // The other way round: a key the schema does not allow is
                // refused (every body schema has `additionalProperties: false`).
                assert!(
                    closed(&doc, body),
                    "{id}: the body schema does not say additionalProperties: false"
                );
                let mut extra = g.value(body);
                extra["zz_unknown"] = json!(true);
                let url = path.replace("{id}", &real(path)[0]);
                let bytes = serde_json::to_vec(&extra).unwrap();
                let r = w.srv.send(
                    &method.to_uppercase(),
                    &url,
                    token,
                    Some(("application/json", &bytes)),
                );
                sent += 1;
                if !matches!(
                    (r.status, r.code()),
                    (422, "invalid_field") | (400, "malformed_json")
                ) {
                    failures.push(format!(
                        "{id}: a body with a key its schema does not allow was not refused as malformed\n  body: {extra}\n  answer: {} {}",
                        r.status, r.text
                    ));
                }
            }
            for _ in 0..n {
                let mut url = path.clone();
                let mut query = Vec::new();
                for &p in &params {
                    let name = p["name"].as_str().unwrap();
                    if p["in"] == "path" {
                        let pool = real(path);
                        let v = if g.chance(2) {
                            pool[g.rng.below(pool.len() as u64) as usize].clone()
                        } else {
                            text(&g.value(&p["schema"]))
                        };
                        url = url.replace(&format!("{{{name}}}"), &encode(&v));
                    } else if p["required"] == true || g.chance(2) {
                        let v = g.value(&p["schema"]);
                        if !v.is_null() {
                            query.push(format!("{name}={}", encode(&text(&v))));
                        }
                    }
                }
                if !query.is_empty() {
                    url = format!("{url}?{}", query.join("&"));
                }
                let mut payload = (!body.is_null()).then(|| g.value(body));
                if id == "push" && g.chance(2) {
                    // The device's own ops on the visit it holds, half the
                    // time, so the ops reach validation past `wrong_replica`.
                    for op in payload.as_mut().unwrap()["ops"].as_array_mut().unwrap() {
                        op["id"]["replica"] = json!(w.a2.id.to_string());
                        op["visit"] = json!(visit.to_string());
                    }
                }
                let bytes = payload.as_ref().map(|b| serde_json::to_vec(b).unwrap());
                let r = w.srv.send(
                    &method.to_uppercase(),
                    &url,
                    token,
                    bytes.as_deref().map(|b| ("application/json", b)),
                );
                sent += 1;
                let mut tally = |what: String| {
                    *answers
                        .entry(id.to_owned())
                        .or_default()
                        .entry(what)
                        .or_default() += 1
                };
                tally(match r.status {
                    400.. => format!("{} {}", r.status, r.code()),
                    s => s.to_string(),
                });
                if id == "push" {
                    for res in r.body["results"].as_array().into_iter().flatten() {
                        tally(format!(
                            "op {}",
                            res["code"]
                                .as_str()
                                .unwrap_or(res["result"].as_str().unwrap_or(""))
                        ));
                    }
                }
                let shown = || {
                    format!(
                        "{id}: {} {url}\n  body: {}\n  answer: {} {}",
                        method.to_uppercase(),
                        payload.as_ref().map(Json::to_string).unwrap_or_default(),
                        r.status,
                        r.text.chars().take(600).collect::<String>()
                    )
                };
                if let Some(why) = refusal_problem(id, r.status, &r.body) {
                    failures.push(format!("{why}\n{}", shown()));
                } else if id == "push" && r.status == 200 {
                    for res in r.body["results"].as_array().unwrap() {
                        let code = res["code"].as_str().unwrap_or("");
                        if res["result"] == "rejected" && !PUSH_DATA_CODES.contains(&code) {
                            failures.push(format!("an op refused with {code}: {res}\n{}", shown()));
                        }
                    }
                }
            }
        }
    }
    for (op, counts) in &answers {
        let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        eprintln!("{op:>22}: {}", counts.join(", "));
    }
    let mut report = String::new();
    for f in failures.iter().take(15) {
        writeln!(report, "{f}\n").unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} schema-valid requests were refused for their shape or failed:\n\n{report}",
        failures.len()
    );
    assert!(sent >= 20 * PER_OPERATION, "only {sent} requests sent");
}

/// Whether `schema` (or a part of its `allOf`) refuses unknown properties.
fn closed(doc: &Json, schema: &Json) -> bool {
    let s = match schema["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).expect("$ref"),
        None => schema,
    };
    s["additionalProperties"] == false
        || s["allOf"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|p| closed(doc, p)))
}

/// Why an answer is wrong for a schema-valid request, if it is.
fn refusal_problem(id: &str, status: u16, body: &Json) -> Option<String> {
    if status < 400 {
        return None;
    }
    let code = body["code"].as_str().unwrap_or("");
    let message = body["message"].as_str().unwrap_or("");
    if status >= 500 {
        return Some(format!("a {status} ({code})"));
    }
    if DATA_CODES.iter().any(|(c, _)| *c == code) {
        return None;
    }
    let related = RELATIONS
        .iter()
        .any(|(op, c, words, _)| *op == id && *c == code && message.contains(words));
    if related {
        return None;
    }
    if INPUT_CODES.contains(&code) {
        return Some(format!(
            "refused as malformed ({code}) though the schema accepts it"
        ));
    }
    Some(format!(
        "refused with {status} {code}, which the test does not expect"
    ))
}

/// A parameter's text.
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
