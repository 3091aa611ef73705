//! Every error code the server sends, with its status and meaning, and the
//! error answers each operation documents (`x-error-codes`). The shared
//! `Error` schema's `code` enum is built from [`CODES`]; the test
//! (`tests/it/openapi`) checks it against the codes the source can send.

use std::collections::BTreeMap;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};

/// `(code, status, meaning)` of every error answer.
pub const CODES: &[(&str, u16, &str)] = &[
    ("unauthorized", 401, "no bearer token, or an unknown or expired one. Sign in or enrol."),
    ("device_revoked", 401, "the device token belongs to a revoked device; the client should lock and wipe."),
    ("bad_credentials", 401, "wrong username or password."),
    ("forbidden", 403, "the caller's role does not allow this."),
    ("device_required", 403, "only an enrolled device (not a login session) can push ops."),
    ("bad_setup_code", 403, "the one-time setup code is wrong or was already used."),
    ("bad_enrolment_code", 403, "the enrolment code is unknown, used or expired."),
    ("not_found", 404, "the record named in the path does not exist (or is not visible to the caller)."),
    ("no_route", 404, "no such endpoint."),
    ("method_not_allowed", 405, "the endpoint exists but not with this method; the `Allow` header lists the methods it takes."),
    ("conflict", 409, "a record that must be unique already exists (username, operation id, team name)."),
    ("not_submitted", 409, "a visit must be submitted before it can be reviewed or returned (and a returned one resubmitted before it is reviewed)."),
    ("no_conflict", 409, "the field named in a resolution is no longer in conflict and now holds another value (someone settled it first)."),
    ("body_too_large", 413, "the request body exceeds the server's limit (`--max-body`)."),
    ("batch_too_large", 413, "more ops in one push than `--max-batch` allows."),
    ("unsupported_media_type", 415, "the body's Content-Type is not one the endpoint reads."),
    ("malformed_json", 400, "the body is not well-formed JSON."),
    ("malformed_batch", 400, "an `application/octet-stream` push body is not a valid sync-core wire batch."),
    ("bad_body", 400, "the body could not be read (from actix's JSON extractor; no endpoint uses that extractor today, they read bytes and answer `malformed_json` or `invalid_field`)."),
    ("bad_request", 400, "a request the HTTP layer itself refused before any handler ran (a request line or header that is not valid HTTP/1.1, conflicting lengths, an unreadable body); the status tells which. After a malformed head (400) the connection is closed."),
    ("bad_path", 400, "a path parameter is not a UUID."),
    ("bad_query", 400, "the query string has an unknown parameter or a value of the wrong type or range."),
    ("invalid_field", 422, "well-formed JSON with a missing, unknown or invalid field; the message names it."),
    ("rate_limited", 429, "too many login, setup or enrolment attempts; see Retry-After."),
    ("internal", 500, "something failed on the server; the details are logged, not sent."),
    ("not_ready", 503, "the database is not available, or cannot take writes now."),
    ("restart_needed", 503, "a sync of the database's disk failed: no write is taken until the server is restarted."),
    ("range_too_long", 422, "a summary or export spans more than 31 days."),
    ("unsupported_format", 422, "an export format other than json, csv, xlsx or html."),
    ("reason_required", 422, "an export needs a reason; it is kept in the audit trail."),
    ("too_many_rows", 422, "more rows than one XLSX sheet holds (1,048,575); export CSV or fewer days."),
    ("device_expired", 401, "the device has not been seen for too long (`--device-max-idle`); enrol it again."),
    ("session_required", 403, "this needs a login session (the admin pages), not a device token."),
    ("not_in_operation", 422, "a visit can be shared only with members or teams of its operation."),
    ("device_reassigned", 401, "the device was revoked as reassigned: it may still push what it holds, nothing else; then it wipes itself."),
    ("no_recovery_code", 409, "the device was enrolled before recovery codes existed and cannot be unlocked with one."),
    ("request_timeout", 408, "the request (its head, or its body) did not arrive in time: a head must come within `--request-timeout` or 10 s, whichever is shorter; a body within `--request-timeout` (default 30 s) and, after 5 s, at `--min-body-rate` bytes a second or more (default 1024). The connection is closed."),
    ("server_busy", 503, "the server is receiving more request bodies at once than its memory budget (`--body-budget`) holds; try again after Retry-After."),
    ("storage_full", 507, "the server cannot write (its disk is full, or failing); nothing was stored: keep the data and try again after Retry-After. Reads and pulls still work; `/readyz` says not ready meanwhile."),
    ("storage_unavailable", 503, "the server cannot reach its database (PostgreSQL restarting, or a lost connection); nothing of the request was committed: keep the data and try again after Retry-After. `/readyz` says not ready while it cannot connect."),
    ("unsupported_range", 422, "the export format cannot hold these days (XLSX: 1900-01-01 to 9999-12-31); export CSV or JSON. Refused before anything is audited or sent."),
    ("headers_too_large", 431, "the request line and headers together exceed 128 KiB. The connection is closed."),
];

/// `(code, meaning)` of every per-op refusal in a push answer (`PushResult`).
pub const PUSH_CODES: &[(&str, &str)] = &[
    ("malformed", "the item is not an op (the message says why)"),
    ("wrong_replica", "a device may push only its own ops: `id.replica` must be its `device_id`"),
    ("invalid", "the op fails sync-core validation (`field` names the field)"),
    ("forbidden_operation", "the pusher is not a member of the visit's operation"),
    ("unknown_operation", "a `create` names an operation that does not exist"),
    ("operation_mismatch", "a `create` names another operation than the visit's"),
    ("unknown_visit", "no such visit: push its `create` op first"),
    ("id_reused", "this op id was already used for a different op"),
    ("forbidden_action", "the pusher's role may not make this status or void change (see ARCHITECTURE.md, need-to-know)"),
    ("forbidden_visit", "the pusher's device does not hold this visit"),
];

fn status_of(code: &str) -> u16 {
    CODES
        .iter()
        .find(|(c, ..)| *c == code)
        .unwrap_or_else(|| panic!("error code {code} is not in CODES"))
        .1
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Not authenticated",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        408 => "Request timeout",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Unprocessable",
        429 => "Too many requests",
        431 => "Request header fields too large",
        500 => "Internal error",
        503 => "Service unavailable",
        507 => "Insufficient storage",
        _ => "Error",
    }
}

/// One error answer: the shared `Error` schema, `x-error-codes` listing the
/// codes it may carry, and Retry-After where the client should wait.
pub fn error_response(description: &str, codes: &[&str], retry_after: bool) -> Response {
    let mut r = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        )
        .extensions(Some(
            ExtensionsBuilder::new()
                .add("x-error-codes", serde_json::json!(codes))
                .build(),
        ));
    if retry_after {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Schema::from(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer),
                ))
                .description(Some("Seconds to wait."))
                .build(),
        );
    }
    r.build()
}

/// The error answers of an operation that may send `codes`, grouped by status.
pub fn responses(sets: &[&[&str]]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for code in sets.iter().flat_map(|s| s.iter()) {
        let list = by_status.entry(status_of(code)).or_default();
        if !list.contains(code) {
            list.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let named: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            let description = format!("{}. `code` is one of: {}.", title(status), named.join(", "));
            let retry = matches!(status, 429 | 503 | 507);
            (
                status.to_string(),
                RefOr::T(error_response(&description, &codes, retry)),
            )
        })
        .collect()
}

/// A caller with a bearer token (session or device) may be refused with these.
pub const AUTH: &[&str] = &[
    "unauthorized",
    "device_revoked",
    "device_expired",
    "device_reassigned",
];
/// A signed-in person (not a phone) with the wrong role.
pub const ROLE: &[&str] = &["forbidden", "session_required"];
/// Any read.
pub const READ: &[&str] = &["internal", "storage_unavailable"];
/// Any write.
pub const WRITE: &[&str] = &["internal", "storage_unavailable", "storage_full"];
/// Any JSON body.
pub const BODY: &[&str] = &[
    "malformed_json",
    "request_timeout",
    "body_too_large",
    "invalid_field",
    "rate_limited",
    "server_busy",
];

/// Declares one `utoipa::IntoResponses` type per operation: its error answers.
macro_rules! errors {
    ($($name:ident = [$($set:expr),* $(,)?];)*) => {$(
        #[doc = concat!("The error answers of `", stringify!($name), "`.")]
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                responses(&[$($set),*])
            }
        }
    )*};
}

errors! {
    Healthz = [&["restart_needed"]];
    Readyz = [&["not_ready"]];
    Metrics = [READ];
    Setup = [BODY, WRITE, &["bad_setup_code", "conflict"]];
    Login = [BODY, WRITE, &["bad_credentials"]];
    Enrol = [BODY, WRITE, &["bad_enrolment_code"]];
    Me = [AUTH, READ];
    ListOperations = [AUTH, READ];
    CreateOperation = [AUTH, ROLE, BODY, WRITE, &["conflict"]];
    UpdateOperation = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found"]];
    CreateTeam = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "conflict"]];
    AddMember = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found"]];
    ListAdmin = [AUTH, ROLE, READ];
    IssueCode = [AUTH, ROLE, WRITE, &["bad_path", "not_found"]];
    RevokeDevice = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "unsupported_media_type"]];
    RecoveryCode = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "unsupported_media_type", "reason_required", "no_recovery_code"]];
    ListPaged = [AUTH, ROLE, READ, &["bad_query"]];
    Summary = [AUTH, ROLE, READ, &["bad_path", "bad_query", "not_found", "range_too_long"]];
    Export = [AUTH, ROLE, WRITE, &["bad_path", "bad_query", "not_found", "range_too_long", "unsupported_format", "reason_required", "invalid_field", "too_many_rows", "unsupported_range"]];
    Push = [AUTH, BODY, WRITE, &["device_required", "malformed_batch", "batch_too_large", "unsupported_media_type"]];
    Pull = [AUTH, READ, &["device_required", "bad_query"]];
    Rekey = [AUTH, WRITE, &["device_required", "not_found"]];
    ReadVisit = [AUTH, ROLE, WRITE, &["bad_path", "bad_query", "not_found", "invalid_field", "reason_required"]];
    ReviewVisit = [AUTH, ROLE, WRITE, &["bad_path", "not_found", "not_submitted"]];
    ReturnVisit = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "not_submitted", "unsupported_media_type", "reason_required"]];
    ResolveVisit = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "no_conflict", "unsupported_media_type"]];
    ShareVisit = [AUTH, ROLE, BODY, WRITE, &["bad_path", "not_found", "unsupported_media_type", "reason_required", "not_in_operation"]];
    VisitAudit = [AUTH, ROLE, WRITE, &["bad_path", "not_found"]];
}

/// The `Error` schema: every error answer.
pub struct ErrorBody;

impl utoipa::PartialSchema for ErrorBody {
    fn schema() -> RefOr<Schema> {
        let listed: Vec<String> = CODES
            .iter()
            .map(|(c, s, m)| format!("- `{c}` — {s}: {m}"))
            .collect();
        let v = serde_json::json!({
            "type": "object",
            "description": "Every error answer.",
            "properties": {
                "code": {
                    "type": "string",
                    "enum": CODES.iter().map(|c| c.0).collect::<Vec<_>>(),
                    "description": format!("Stable machine code:\n{}", listed.join("\n")),
                },
                "message": { "type": "string", "description": "For people; may change." }
            },
            "required": ["code", "message"],
            "additionalProperties": false
        });
        serde_json::from_value(v).expect("the Error schema")
    }
}

impl utoipa::ToSchema for ErrorBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "Error".into()
    }
}
