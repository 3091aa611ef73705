//! Schemas of the answers that no one Rust type describes: bodies the
//! handlers build with `serde_json::json!`, and rows whose types belong to
//! `db` (kept free of the documentation's attributes). Never constructed;
//! each mirrors what its handler (named in its comment) sends.
#![allow(dead_code)]

use super::codes::PUSH_CODES;
use crate::domain::{Operation, User};
use serde_json::json;
use sync_core::summary::DaySummary;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;
use uuid::Uuid;

/// RFC 3339 UTC with milliseconds (sorts as text).
type Instant = String;

/// `healthz`.
#[derive(ToSchema)]
pub struct Health {
    #[schema(pattern = "^ok$")]
    status: String,
}

/// `readyz`.
#[derive(ToSchema)]
pub struct Ready {
    #[schema(pattern = "^ready$")]
    status: String,
}

/// `me`: the caller, their device and operations.
#[derive(ToSchema)]
pub struct Me {
    user: User,
    device_id: Option<Uuid>,
    operations: Vec<Uuid>,
    server_time_ms: i64,
}

/// `login`.
#[derive(ToSchema)]
pub struct LoginResponse {
    /// Bearer token.
    token: String,
    /// RFC 3339 UTC with milliseconds (sorts as text).
    #[schema(format = DateTime)]
    expires_at: Instant,
    user: User,
}

/// `enrol`.
#[derive(ToSchema)]
pub struct EnrolResponse {
    /// Also the device's sync-core replica id.
    device_id: Uuid,
    /// Device bearer token.
    token: String,
    user: User,
    operations: Vec<Uuid>,
    server_time_ms: i64,
    /// Wraps the phone's data key a second time; the phone keeps only the
    /// wrap, never the code. An admin can read it out (audited) to unlock a
    /// phone locked out by wrong PINs.
    recovery_secret: String,
}

/// `issue_code`: a one-time enrolment code.
#[derive(ToSchema)]
pub struct EnrolmentCode {
    code: String,
    #[schema(format = DateTime)]
    expires_at: Instant,
    /// `{public_url}/#enrol={code}`; null when the server has no `--public-url`.
    enrol_url: Option<String>,
    /// The enrolment URL as an SVG QR code; null without `--public-url`.
    qr_svg: Option<String>,
    /// Why there is no QR code (no `--public-url`); null when there is one.
    qr_message: Option<String>,
}

/// `recovery_code`.
#[derive(ToSchema)]
pub struct RecoveryCode {
    code: String,
}

/// `rekey`: the device's new replica id.
#[derive(ToSchema)]
pub struct Rekeyed {
    replica_id: Uuid,
}

/// `quarantine`: a rejected op (`db::sync::quarantined`).
#[derive(ToSchema)]
pub struct QuarantineRow {
    id: i64,
    device_id: Option<Uuid>,
    replica: Option<Uuid>,
    seq: Option<i64>,
    /// The op as received (truncated).
    body: String,
    /// A push rejection code (see `PushResult`).
    code: String,
    message: String,
    #[schema(format = DateTime)]
    received_at: Instant,
}

/// `audit_recent`: one row of the audit chain (`db::audit`).
#[derive(ToSchema)]
pub struct AuditRow {
    seq: i64,
    #[schema(format = DateTime)]
    at: Instant,
    actor: String,
    action: String,
    subject: String,
    reason: String,
    /// JSON text.
    detail: String,
    prev_hash: String,
    hash: String,
}

/// `audit_verify`: `{"result": "ok", "rows": N}` or `{"result": "broken",
/// "seq", "problem", "message"}` (`db::audit::Verdict`).
#[derive(ToSchema)]
pub struct AuditVerdict {
    /// `ok` or `broken`.
    result: String,
    /// When ok: rows checked.
    rows: Option<i64>,
    /// When broken: the first bad row.
    seq: Option<i64>,
    /// When broken: `edited`, `deleted`, `inserted`, `unkeyed`, `key`, `truncated` or `anchor`.
    problem: Option<String>,
    message: Option<String>,
}

/// `visit_audit`: the visit's audit entries and who holds it.
#[derive(ToSchema)]
pub struct VisitAudit {
    #[schema(value_type = Vec<Object>)]
    entries: Vec<serde_json::Value>,
    holders: Vec<Holder>,
}

/// Someone who holds a visit.
#[derive(ToSchema)]
pub struct Holder {
    user_id: String,
    username: String,
    display_name: String,
    role: String,
    devices: i64,
}

/// `push`: one result per item, in order.
#[derive(ToSchema)]
pub struct PushResponse {
    results: Vec<PushResult>,
    accepted: i64,
    duplicates: i64,
    rejected: i64,
}

/// One pushed item's fate.
#[derive(ToSchema)]
pub struct PushResult {
    /// `replica:seq`, or null for an item that was not an op.
    op: Option<String>,
    /// `accepted`: stored; `duplicate`: already stored, nothing new;
    /// `rejected`: quarantined.
    #[schema(schema_with = push_outcome)]
    result: String,
    #[schema(schema_with = push_code)]
    code: Option<String>,
    /// When rejected.
    message: Option<String>,
    /// When rejected for one field.
    field: Option<String>,
}

fn push_outcome() -> RefOr<Schema> {
    from_json(json!({ "type": "string", "enum": ["accepted", "duplicate", "rejected"] }))
}

fn push_code() -> RefOr<Schema> {
    let listed: Vec<String> = PUSH_CODES
        .iter()
        .map(|(c, m)| format!("- `{c}` — {m}"))
        .collect();
    from_json(json!({
        "type": "string",
        "enum": PUSH_CODES.iter().map(|c| c.0).collect::<Vec<_>>(),
        "description": format!("When rejected:\n{}", listed.join("\n")),
    }))
}

fn from_json(v: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a schema written here is valid")
}

/// `push`'s JSON body (by hand: the handler reads it with its own parser,
/// which refuses any key but `ops`).
pub struct PushRequest;

impl utoipa::PartialSchema for PushRequest {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "type": "object",
            "properties": {
                "ops": {
                    "type": "array",
                    "items": { "$ref": "#/components/schemas/Op" },
                    "maxItems": crate::config::Limits::default().batch_ops,
                    "description": "At most `--max-batch` (default 1000). An item that is not an op is refused on its own (`malformed`)."
                }
            },
            "required": ["ops"],
            "additionalProperties": false
        }))
    }
}

impl ToSchema for PushRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        "PushRequest".into()
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((
            "Op".into(),
            <sync_core::Op as utoipa::PartialSchema>::schema(),
        ));
        <sync_core::Op as ToSchema>::schemas(out);
    }
}

/// Bytes: a sync-core wire batch or snapshot, a workbook.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        from_json(json!({ "type": "string", "format": "binary" }))
    }
}

impl ToSchema for Binary {
    fn name() -> std::borrow::Cow<'static, str> {
        "Binary".into()
    }
}

/// Text that is not JSON: Prometheus metrics, CSV, HTML.
pub struct Text;

impl utoipa::PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        from_json(json!({ "type": "string" }))
    }
}

impl ToSchema for Text {
    fn name() -> std::borrow::Cow<'static, str> {
        "Text".into()
    }
}

/// `pull` as JSON.
#[derive(ToSchema)]
pub struct PullResponse {
    ops: Vec<sync_core::Op>,
    /// Pass as `after` for the next page (unchanged when the page is empty).
    cursor: i64,
    more: bool,
}

/// `list` of visits: the index row, no personal data, with the checks
/// before submit and what a supervisor must see before opening it.
#[derive(ToSchema)]
pub struct VisitRow {
    id: Uuid,
    operation_id: Uuid,
    /// `draft`, `submitted`, `reviewed` or `returned`.
    status: String,
    location_kind: Option<String>,
    /// UTC ms.
    started_at: Option<i64>,
    voided: bool,
    /// Fields holding a conflict.
    conflicts: i64,
    #[schema(format = DateTime)]
    updated_at: Instant,
    /// The status's round (0 until first returned).
    round: i64,
    /// Checks before submit that would stop a phone submitting it; the
    /// server refuses nothing for them.
    blocking: Vec<sync_core::checks::Problem>,
    /// Checks before submit a supervisor should look at.
    warnings: Vec<sync_core::checks::Problem>,
    /// Where, who recorded it and its safeguarding figures (no names or
    /// dates of birth).
    brief: crate::api::visits::Brief,
}

/// `exports::list`: a stored export with its hash (`db::exports`).
#[derive(ToSchema)]
pub struct ExportRow {
    id: Uuid,
    operation: Uuid,
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    format: String,
    content: String,
    identifying: bool,
    reason: String,
    /// `user:<id>` (and device), or `cli:<user>` for `aidant export`.
    actor: String,
    #[schema(format = DateTime)]
    created_at: Instant,
    /// `running`, `completed`, `cancelled` or `failed`.
    status: String,
    completed: bool,
    finished_at: Option<Instant>,
    rows: Option<i64>,
    bytes: Option<i64>,
    sha256: Option<String>,
}

/// `summary`: the day summary by day, team and force area.
#[derive(ToSchema)]
pub struct OperationSummary {
    operation: Operation,
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// Always false: the server's figures (a phone's are provisional).
    provisional: bool,
    total: DaySummary,
    /// Each day from `from` to `to`, days without visits included.
    days: Vec<DaySummary>,
    /// By team name over the range; `(no team)` for officers in none.
    by_team: std::collections::BTreeMap<String, DaySummary>,
    /// By force area (the visit's own, else the operation's) over the range.
    by_force_area: std::collections::BTreeMap<String, DaySummary>,
    #[schema(value_type = Vec<Object>)]
    outside_operation_dates: Vec<serde_json::Value>,
}

/// `visits::share`'s body: exactly one of `user_id` and `team_id`, and a
/// reason. (By hand: a derive cannot say "exactly one".)
pub struct ShareRequest;

impl utoipa::PartialSchema for ShareRequest {
    fn schema() -> RefOr<Schema> {
        let one = |key: &str| json!({ "type": "object", "required": [key] });
        from_json(json!({
            "description": "Shares with an officer (`user_id`) or a team (`team_id`) of the visit's operation: exactly one of them.",
            "allOf": [
                {
                    "type": "object",
                    "properties": {
                        "user_id": { "type": "string", "format": "uuid" },
                        "team_id": { "type": "string", "format": "uuid" },
                        "reason": {
                            "type": "string", "minLength": 1, "maxLength": 500,
                            "pattern": NOT_BLANK,
                            "description": "Why (audited). Absent or blank: `reason_required`."
                        }
                    },
                    "required": ["reason"],
                    "additionalProperties": false
                },
                { "oneOf": [one("user_id"), one("team_id")] }
            ]
        }))
    }
}

impl ToSchema for ShareRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        "ShareRequest".into()
    }
}

/// `visits::resolve`'s body (by hand: the derive cannot tie the value to
/// the field, which sync-core's `FieldWrite` does).
pub struct ResolveRequest;

impl utoipa::PartialSchema for ResolveRequest {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "description": "Which field to settle, to what, and why.",
            "allOf": [
                {
                    "type": "object",
                    "properties": {
                        "reason": {
                            "type": "string", "minLength": 1, "maxLength": 500, "pattern": NOT_BLANK,
                            "description": "Why (audited), e.g. \"PC 4521 confirmed the postcode on the premises licence\"."
                        },
                        "target": { "$ref": "#/components/schemas/Target" },
                        "value": { "$ref": "#/components/schemas/Value" }
                    },
                    "required": ["reason", "target", "value"],
                    "additionalProperties": false
                },
                { "$ref": "#/components/schemas/FieldWrite" }
            ]
        }))
    }
}

impl ToSchema for ResolveRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        "ResolveRequest".into()
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        use sync_core::openapi::FieldWrite;
        use sync_core::{Target, Value};
        for (name, schema) in [
            (
                <FieldWrite as ToSchema>::name(),
                <FieldWrite as utoipa::PartialSchema>::schema(),
            ),
            (
                <Target as ToSchema>::name(),
                <Target as utoipa::PartialSchema>::schema(),
            ),
            (
                <Value as ToSchema>::name(),
                <Value as utoipa::PartialSchema>::schema(),
            ),
        ] {
            out.push((name.into(), schema));
        }
        <FieldWrite as ToSchema>::schemas(out);
    }
}

/// Text of 1 or more characters, not all white space, without control
/// characters (`api::check_len` after a trim).
const NOT_BLANK: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
