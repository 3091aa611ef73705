//! Day summaries and exports of an operation (supervisors of the operation and
//! admins), and the list of stored exports with their hashes.
//!
//! An export is audited with its reason and scope before its first byte, then
//! streamed; its SHA-256 is stored when the client has taken the last byte.

use super::openapi::{answers, codes as errors};
use super::Call;
use crate::auth::Auth;
use crate::db::export::{self as dbx, Scope};
use crate::domain::Role;
use crate::error::ApiError;
use crate::export::{self, ExportError, Invalid, Request};
use crate::{now_rfc3339, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::OperationId;
use utoipa::IntoParams;
use uuid::Uuid;

const READERS: &[Role] = &[Role::Supervisor, Role::Admin];

fn operation_id(s: &str) -> Result<OperationId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("bad_path", "operation id must be a UUID"))
}

fn invalid(e: Invalid) -> ApiError {
    let message = e.to_string();
    match e {
        Invalid::BadDate { .. } | Invalid::Reversed { .. } | Invalid::Table(_) => {
            ApiError::bad_request("bad_query", message)
        }
        Invalid::TooLong { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "range_too_long", message)
        }
        Invalid::Format(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_format",
            message,
        ),
        Invalid::ReasonMissing => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reason_required", message)
        }
        Invalid::ReasonBad => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
        Invalid::FormatRange { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_range",
            message,
        ),
    }
}

fn range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(sync_core::summary::LocalDate, sync_core::summary::LocalDate), ApiError> {
    let from =
        from.ok_or_else(|| ApiError::bad_request("bad_query", "from (YYYY-MM-DD) is required"))?;
    export::parse_range(from, to).map_err(invalid)
}

/// Which days.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// First Europe/London day.
    #[serde(default)]
    #[param(value_type = String, required = true, format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    from: Option<String>,
    /// Last day, inclusive (default: `from`); not before `from`, at most 31
    /// days in all (checked: `bad_query`, `range_too_long`).
    #[serde(default)]
    #[param(format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    to: Option<String>,
}

/// `GET /api/v1/operations/{id}/summary?from=&to=`: the day summary by day,
/// team and force area.
#[utoipa::path(get, path = "/api/v1/operations/{id}/summary", tag = "exports", operation_id = "operationSummary",
    summary = "Day summary", description = "Supervisors of the operation and admins. `to` must not be before \
        `from`, and the range at most 31 days.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The operation's id."), SummaryQuery),
    responses((status = 200, description = "The summary.", body = answers::OperationSummary), errors::Summary))]
pub async fn summary(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?;
    let operation = operation_id(&path)?;
    let (from, to) = range(q.from.as_deref(), q.to.as_deref())?;
    if !c.sees(&operation) {
        return Err(ApiError::not_found("operation"));
    }
    let scope = Scope {
        operation,
        from,
        to,
    };
    let body = state
        .db
        .read(move |conn| {
            let Some(op) = dbx::operation(conn, operation)? else {
                return Err(ApiError::not_found("operation"));
            };
            let s = export::range_summary(conn, &scope)?;
            let mut body = export::summary_json(&op, &s);
            // Visits recorded on days outside the operation's dates (a late
            // entry, a wrong clock) are in no default summary: say so.
            let outside = dbx::days_outside(conn, operation, &op.starts_on, &op.ends_on)?;
            body["outside_operation_dates"] = serde_json::Value::Array(
                outside
                    .into_iter()
                    .map(|(day, visits)| serde_json::json!({ "day": day, "visits": visits }))
                    .collect(),
            );
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// What to export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First Europe/London day.
    #[serde(default)]
    #[param(value_type = String, required = true, format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    from: Option<String>,
    /// Last day, inclusive (default: `from`); not before `from`, at most 31
    /// days in all; an XLSX file holds 1900-01-01 to 9999-12-31.
    #[serde(default)]
    #[param(format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    to: Option<String>,
    /// File format.
    #[serde(default)]
    #[param(value_type = String, required = true, pattern = "^(json|csv|xlsx|html)$")]
    format: Option<String>,
    /// Why the export is made (audited): 1 to 500 characters, not blank.
    #[serde(default)]
    #[param(
        value_type = String,
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    reason: Option<String>,
    /// Include victim-identifying columns (admins only).
    #[serde(default)]
    identifying: Option<bool>,
    /// For `csv`: which table (default `visits`).
    #[serde(default)]
    #[param(pattern = "^(visits|persons)$")]
    table: Option<String>,
}

/// `GET /api/v1/operations/{id}/export?from=&to=&format=&reason=[&identifying=true][&table=]`:
/// the file, streamed.
#[utoipa::path(get, path = "/api/v1/operations/{id}/export", tag = "exports", operation_id = "exportOperation",
    summary = "Export an operation's days", description = "Supervisors of the operation and admins; \
        `identifying=true` admins only. Audited with the reason. `to` must not be before `from`, the range at \
        most 31 days, and an XLSX file's days within 1900-01-01 to 9999-12-31.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The operation's id."), ExportQuery),
    responses((status = 200, description = "The file, as an attachment.", content(
        (Object = "application/json"),
        (answers::Text = "text/csv"),
        (answers::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (answers::Text = "text/html"),
    )), errors::Export))]
pub async fn export(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let operation = operation_id(&path)?;
    let q = q.into_inner();
    let (from, to) = range(q.from.as_deref(), q.to.as_deref())?;
    let identifying = q.identifying.unwrap_or(false);
    let request = Request::new(
        Scope {
            operation,
            from,
            to,
        },
        q.format.as_deref().unwrap_or_default(),
        q.table.as_deref(),
        identifying,
        q.reason.as_deref(),
    )
    .map_err(invalid)?;
    if identifying && c.user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "victim-identifying columns are exported only for admins",
        ));
    }
    if !c.sees(&operation) {
        return Err(ApiError::not_found("operation"));
    }
    let actor = c.actor();
    let now = now_rfc3339();
    let started = state
        .db
        .write(move |tx| export::begin(tx, request, &actor, &now))
        .await?
        .ok_or_else(|| ApiError::not_found("operation"))?;
    let file_name = started.request.file_name(&started.operation);
    let content_type = started.request.format.content_type();
    let id = started.id.clone();
    let body = export::stream::start(state.db.clone(), started)
        .await
        .map_err(|e| match e {
            ExportError::TooManyRows { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_rows",
                e.to_string(),
            ),
            ExportError::Db(e) => e.into(),
            other => ApiError::internal(other),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Export-Id", id))
        .body(body))
}

/// Which exports to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    operation: Option<Uuid>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/exports?operation=&limit=`: stored exports with their hashes,
/// newest first (supervisors: their operations').
#[utoipa::path(get, path = "/api/v1/exports", tag = "exports", operation_id = "listExports",
    summary = "Stored exports", description = "Supervisors (their operations') and admins.",
    security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Rows, newest first.", body = Vec<answers::ExportRow>), errors::ListPaged))]
pub async fn list(call: Call, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let (scope, limit) = call.listing(READERS, q.limit, (100, 1_000))?;
    let operation = q.operation.map(OperationId);
    let rows = call
        .state
        .db
        .read(move |conn| dbx::exports(conn, scope.as_deref(), operation, limit))
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}
