//! Supervisors and admins read visits (with their conflicts and the checks
//! before submit), mark them reviewed or return them for correction, and
//! resolve conflicts. Every read of a visit's detail is audited
//! with who, when, what and why; so is every resolution.

use super::openapi::{answers, codes as errors};
use super::{Audit, Call};
use crate::auth::Auth;
use crate::db::{self, audit::Entry};
use crate::domain::{Caller, Role, TeamId, UserId};
use crate::error::ApiError;
use crate::{now_rfc3339, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::{OpId, OperationId, Status, Target, Value, VisitId, VisitView};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const READERS: &[Role] = &[Role::Supervisor, Role::Admin];

/// Which visits to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VisitsQuery {
    /// Only visits in this status.
    #[serde(default)]
    #[param(pattern = "^(draft|submitted|reviewed|returned)$")]
    status: Option<String>,
    /// Only this operation's visits.
    #[serde(default)]
    operation: Option<Uuid>,
    /// Rows, clamped to 1..=5000 (default 500).
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/visits?operation=&status=`: the index (no personal data).
#[utoipa::path(get, path = "/api/v1/visits", tag = "visits", operation_id = "listVisits",
    summary = "The visit index", description = "Supervisors (their operations) and admins. No personal data.",
    security(("bearer" = [])), params(VisitsQuery),
    responses((status = 200, description = "Rows.", body = Vec<answers::VisitRow>), errors::ListPaged))]
pub async fn list(call: Call, q: web::Query<VisitsQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (scope, limit) = call.listing(READERS, q.limit, (500, 5_000))?;
    if let Some(s) = &q.status {
        if Status::parse(s).rank().is_none() {
            return Err(ApiError::bad_request(
                "bad_query",
                "status must be draft, submitted, reviewed or returned",
            ));
        }
    }
    let rows = call
        .state
        .db
        .read(move |c| {
            let rows = db::sync::visits(
                c,
                scope.as_deref(),
                q.operation.map(OperationId),
                q.status.as_deref(),
                limit,
            )?;
            rows.into_iter()
                .map(|row| {
                    let id: VisitId = row
                        .id
                        .parse()
                        .map_err(|e: uuid::Error| db::DbError::decode("visits.id", e))?;
                    let brief = match crate::ledger::visit(c, id)? {
                        Some(v) => Brief::of(&v, db::scope::writer_names(c, id)?),
                        None => Brief::default(),
                    };
                    Ok(Listed { row, brief })
                })
                .collect::<Result<Vec<_>, db::DbError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// A row of the visit list with what a supervisor must see before opening
/// the record: where, who recorded it, and its safeguarding figures (no
/// names or dates of birth; reading those is the audited detail).
#[derive(serde::Serialize)]
struct Listed {
    #[serde(flatten)]
    row: db::sync::VisitRow,
    brief: Brief,
}

#[derive(serde::Serialize, Default, ToSchema)]
pub(crate) struct Brief {
    /// The premises' name, else the vehicle's registration.
    place: Option<String>,
    /// The people whose phones recorded it (display names).
    recorded_by: Vec<String>,
    /// Persons recorded (removed ones left out).
    persons: u32,
    /// Potential victims by age group (sync-core's one rule for children).
    potential_victims: sync_core::summary::ByAge,
    /// Potential victims with a safeguarding action, NRM referrals, Duty to Notify reports.
    safeguarded: u32,
    nrm_referrals: u32,
    duty_to_notify: u32,
    /// Arrests, all offences.
    arrests: u32,
    /// Partner agencies present.
    agencies: Vec<String>,
}

impl Brief {
    fn of(v: &sync_core::Visit, recorded_by: Vec<String>) -> Brief {
        use sync_core::summary::{day_summary, london_date};
        let place = [
            sync_core::VisitField::PremisesName,
            sync_core::VisitField::Vrm,
        ]
        .iter()
        .find_map(|f| {
            v.text(f)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
        });
        // The visit's own figures: the day summary of this one visit on its
        // day (a voided visit, left out of summaries, shows none).
        let day = london_date(v.started_at().unwrap_or(0));
        let s = day_summary([v], None, day);
        Brief {
            place,
            recorded_by,
            persons: s.people_spoken_to,
            potential_victims: s.potential_victims.clone(),
            safeguarded: s.safeguarded,
            nrm_referrals: s.nrm_referrals,
            duty_to_notify: s.duty_to_notify,
            arrests: s.arrests(),
            agencies: s.partner_agencies.iter().cloned().collect(),
        }
    }
}

fn visit_id(s: &str) -> Result<VisitId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("bad_path", "visit id must be a UUID"))
}

/// The operation of visit `id` when `c` may see it. A visit the caller may
/// not see is not found rather than forbidden: do not reveal that it exists.
fn visible(tx: &db::Sql, c: &Caller, id: VisitId) -> Result<OperationId, ApiError> {
    match db::sync::visit_operation(tx, id)? {
        Some(op) if c.sees(&op) => Ok(op),
        _ => Err(ApiError::not_found("visit")),
    }
}

/// The merged state of visit `id`, known to exist.
fn state_of(tx: &db::Sql, id: VisitId) -> Result<sync_core::Visit, db::DbError> {
    crate::ledger::visit(tx, id)?.ok_or_else(|| db::DbError::NotFound("visit".into()))
}

/// Why a record is opened.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    /// Why the record is opened (1–500 characters, not blank); kept in the
    /// audit trail. Absent or blank: `reason_required`.
    #[serde(default)]
    #[param(
        value_type = String,
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    reason: Option<String>,
}

/// A reason for reading identifying data: required, 1 to 500 characters.
pub(crate) fn required_reason(reason: Option<String>) -> Result<String, ApiError> {
    let reason = reason.unwrap_or_default().trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "say why you are opening this record (reason=…): every read is audited",
        ));
    }
    super::check_len("reason", &reason, 1, 500)?;
    Ok(reason)
}

/// `GET /api/v1/visits/{id}?reason=`: the merged visit with its conflicts,
/// persons included; the reason is required and the read is audited.
#[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits", operation_id = "readVisit",
    summary = "Read a visit", description = "Supervisors of its operation and admins. Audited with the reason.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id."), ReadQuery),
    responses((status = 200, description = "The merged visit with its conflicts.", body = sync_core::VisitView), errors::ReadVisit))]
pub async fn read(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let id = visit_id(&path)?;
    let reason = required_reason(q.into_inner().reason)?;
    let now = now_rfc3339();
    let view = state
        .db
        .write(move |tx| {
            let op = visible(tx, &c, id)?;
            let Some(v) = crate::ledger::visit(tx, id)? else {
                return Err(ApiError::not_found("visit"));
            };
            Audit::new(&c.actor(), "visit.read", format!("visit:{id}"))
                .reason(&reason)
                .detail(&serde_json::json!({ "operation": op, "persons": v.persons().len() }))
                .append(tx, &now)?;
            Ok(VisitView::from(&v))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// What a review or a return answers: the visit's place in the index, no
/// personal data (reading the record is a separate, audited request).
#[derive(serde::Serialize, ToSchema)]
struct Reviewed {
    #[schema(value_type = Uuid)]
    id: VisitId,
    /// `submitted`, `reviewed` or `returned`.
    #[schema(value_type = String)]
    status: Status,
    round: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_reason: Option<String>,
    voided: bool,
}

impl From<&sync_core::Visit> for Reviewed {
    fn from(v: &sync_core::Visit) -> Self {
        let reg = v.status_register();
        Self {
            id: v.id(),
            status: v.status().clone(),
            round: reg.round(),
            return_reason: (v.status() == Status::Returned)
                .then(|| reg.reached().and_then(|r| r.reason.clone()))
                .flatten(),
            voided: v.is_voided(),
        }
    }
}

/// Which status act the server's replica writes.
#[derive(Clone, Copy)]
enum Act {
    Review,
    Return,
}

/// `POST /api/v1/visits/{id}/review`: a supervisor of the visit's operation (or
/// an admin) marks a submitted visit reviewed, as an op from the server replica.
#[utoipa::path(post, path = "/api/v1/visits/{id}/review", tag = "visits", operation_id = "reviewVisit",
    summary = "Mark a submitted visit reviewed", description = "Supervisors of its operation and admins. Audited.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id.")),
    responses((status = 200, description = "The visit's place in the index.", body = Reviewed), errors::ReviewVisit))]
pub async fn review(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let id = visit_id(&path)?;
    status_act(&state, c, id, Act::Review, String::new()).await
}

/// What the officer must correct.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    /// Shown on the officer's phone. Absent or blank: `reason_required`.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    reason: Option<String>,
}

/// `POST /api/v1/visits/{id}/return`: a supervisor of the visit's operation
/// (or an admin) sends a submitted (or reviewed) visit back to its officer
/// for correction, with a reason the officer's phone shows. The server's
/// replica writes the return in the visit's current round; the officer's
/// resubmit opens the next. Audited with the reason.
#[utoipa::path(post, path = "/api/v1/visits/{id}/return", tag = "visits", operation_id = "returnVisit",
    summary = "Return a visit for correction", description = "Supervisors of its operation and admins. Audited.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id.")),
    request_body = ReturnBody,
    responses((status = 200, description = "The visit's place in the index.", body = Reviewed), errors::ReturnVisit))]
pub async fn return_visit(
    mut call: Call,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = call.require(READERS)?;
    let id = visit_id(&path)?;
    let reason = call.json::<ReturnBody>().await?.reason;
    let reason = reason.unwrap_or_default().trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "say what the officer must correct (reason)",
        ));
    }
    super::check_len("reason", &reason, 1, sync_core::op::MAX_REASON_CHARS)?;
    status_act(&call.state, c, id, Act::Return, reason).await
}

/// Writes a review or a return as an op of the server's replica, audited.
/// A review needs a submitted visit (a reviewed one is answered unchanged);
/// a return needs a submitted or reviewed one (a returned one is answered
/// unchanged: the officer has not resubmitted yet).
async fn status_act(
    state: &web::Data<AppState>,
    c: crate::domain::Caller,
    id: VisitId,
    act: Act,
    reason: String,
) -> Result<HttpResponse, ApiError> {
    let replica = state.server_replica;
    let now = now_rfc3339();
    let wall = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let outcome = state
        .db
        .write(move |tx| {
            visible(tx, &c, id)?;
            let v = state_of(tx, id)?;
            let not_ready = |what: &str| {
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "not_submitted",
                    format!("the visit is {}; {what}", v.status()),
                ))
            };
            let (status, op_reason, action) = match (act, v.status()) {
                (Act::Review, Status::Submitted) => (Status::Reviewed, None, "visit.review"),
                (Act::Review, Status::Reviewed) | (Act::Return, Status::Returned) => {
                    return Ok(Reviewed::from(&v))
                }
                (Act::Review, Status::Returned) => {
                    return not_ready("the officer must correct and resubmit it first")
                }
                (Act::Review, _) => return not_ready("an officer must submit it first"),
                (Act::Return, Status::Submitted | Status::Reviewed) => {
                    (Status::Returned, Some(reason.clone()), "visit.return")
                }
                (Act::Return, _) => return not_ready("only a submitted visit can be returned"),
            };
            let seq = db::sync::next_seq(tx, &replica.to_string())?;
            let op = sync_core::server_ops::status_change(
                &v,
                OpId::new(replica, seq),
                wall,
                status,
                op_reason,
            );
            let detail = serde_json::json!({
                "op": op.id.to_string(),
                "round": v.status_register().round(),
            });
            write_audited(tx, op, &now, &c, action, id, &reason, &detail)?;
            Ok(Reviewed::from(&state_of(tx, id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Which field to settle, to what, and why (its schema: `answers::ResolveRequest`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    reason: String,
    target: Target,
    value: Value,
}

/// `POST /api/v1/visits/{id}/resolve`: a supervisor of the visit's operation
/// (or an admin) settles a field holding concurrent values. The server's
/// replica writes the chosen value as a `Set` op that supersedes every version
/// the field holds now, so once devices sync the conflict is gone everywhere.
/// Asking for the value a field already holds alone is answered with the
/// visit unchanged; a field that has meanwhile been settled to another value
/// is `no_conflict` (409), so a later decision is not silently overwritten.
#[utoipa::path(post, path = "/api/v1/visits/{id}/resolve", tag = "visits", operation_id = "resolveVisitConflict",
    summary = "Settle a field in conflict", description = "Supervisors of its operation and admins. Audited. \
        The value must fit the field's kind (sync-core `FieldKind`): `invalid_field` otherwise.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id.")),
    request_body = answers::ResolveRequest,
    responses((status = 200, description = "The merged visit.", body = sync_core::VisitView), errors::ResolveVisit))]
pub async fn resolve(mut call: Call, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = call.require(READERS)?;
    let id = visit_id(&path)?;
    let b: ResolveBody = call.json().await?;
    super::check_len("reason", b.reason.trim(), 1, 500)?;
    let replica = call.state.server_replica;
    let wall = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let field = b.target.name().to_owned();
    let invalid = move |e: sync_core::OpError| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("value for {field}: {}", e.reason),
        )
    };
    // The value alone, before the visit is read.
    sync_core::server_ops::resolution(
        &sync_core::Visit::new(id),
        OpId::new(replica, 1),
        wall,
        b.target.clone(),
        b.value.clone(),
    )
    .map_err(&invalid)?;
    let now = now_rfc3339();
    let outcome = call
        .state
        .db
        .write(move |tx| {
            visible(tx, &c, id)?;
            let v = state_of(tx, id)?;
            let Some(reg) = v.register(&b.target) else {
                return Err(ApiError::not_found("field in this visit"));
            };
            if !reg.is_conflict() {
                return if reg.get() == Some(&b.value) {
                    Ok(VisitView::from(&v))
                } else {
                    Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "no_conflict",
                        format!(
                            "{} is no longer in conflict; it now reads {:?}",
                            b.target.name(),
                            reg.get().map(ToString::to_string).unwrap_or_default()
                        ),
                    ))
                };
            }
            let replaced = reg.heads();
            let seq = db::sync::next_seq(tx, &replica.to_string())?;
            let op = sync_core::server_ops::resolution(
                &v,
                OpId::new(replica, seq),
                wall,
                b.target.clone(),
                b.value.clone(),
            )
            .map_err(&invalid)?;
            let detail = serde_json::json!({
                "field": b.target.name(),
                "target": b.target,
                "op": op.id.to_string(),
                "replaced": replaced.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            let reason = b.reason.trim();
            write_audited(tx, op, &now, &c, "visit.resolve", id, reason, &detail)?;
            Ok(VisitView::from(&state_of(tx, id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    #[serde(default)]
    user_id: Option<Uuid>,
    #[serde(default)]
    team_id: Option<Uuid>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/visits/{id}/share`: a supervisor of the visit's operation (or
/// an admin) shares it with an officer or a team of the operation, who then
/// hold it: their phones receive its whole history on their next pull.
#[utoipa::path(post, path = "/api/v1/visits/{id}/share", tag = "visits", operation_id = "shareVisit",
    summary = "Share a visit", description = "Supervisors of its operation and admins. Audited with the reason.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id.")),
    request_body = answers::ShareRequest,
    responses((status = 204, description = "Shared."), errors::ShareVisit))]
pub async fn share(mut call: Call, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = call.require(READERS)?;
    let id = visit_id(&path)?;
    let b: ShareBody = call.json().await?;
    let reason = required_reason(b.reason)?;
    let to = match (b.user_id, b.team_id) {
        (Some(u), None) => db::scope::Grantee::User(UserId(u)),
        (None, Some(t)) => db::scope::Grantee::Team(TeamId(t)),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "give exactly one of user_id and team_id",
            ))
        }
    };
    let now = now_rfc3339();
    call.state
        .db
        .write(move |tx| {
            let operation = visible(tx, &c, id)?;
            let in_operation = match to {
                db::scope::Grantee::User(u) => db::people::is_member(tx, u, operation)?,
                db::scope::Grantee::Team(t) => db::people::team_in(tx, t, operation)?,
            };
            if !in_operation {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_in_operation",
                    "a visit can be shared only with members or teams of its operation",
                ));
            }
            let actor = c.actor();
            db::scope::share(tx, id, to, &actor, &now)?;
            let grantee = match to {
                db::scope::Grantee::User(u) => format!("user:{u}"),
                db::scope::Grantee::Team(t) => format!("team:{t}"),
            };
            Audit::new(&actor, "visit.share", format!("visit:{id}"))
                .reason(&reason)
                .detail(&serde_json::json!({ "with": grantee }))
                .append(tx, &now)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/visits/{id}/audit`: who has read or changed this record (its
/// audit entries, newest first) and who holds it on a phone now. Reading it
/// is itself audited.
#[utoipa::path(get, path = "/api/v1/visits/{id}/audit", tag = "visits", operation_id = "visitAudit",
    summary = "A visit's audit trail and holders", description = "Supervisors of its operation and admins. Audited.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The visit's id.")),
    responses((status = 200, description = "Entries and holders.", body = answers::VisitAudit), errors::VisitAudit))]
pub async fn audit(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let id = visit_id(&path)?;
    let now = now_rfc3339();
    let out = state
        .db
        .write(move |tx| -> Result<_, ApiError> {
            visible(tx, &c, id)?;
            let subject = format!("visit:{id}");
            let rows = db::audit::by_subject(tx, &subject, 500)?;
            // Names for the people in the trail (`user:<id>[ device:<id>]`).
            let mut names = std::collections::HashMap::new();
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let user = row
                    .actor
                    .strip_prefix("user:")
                    .and_then(|r| r.split(' ').next())
                    .and_then(|u| u.parse().ok())
                    .map(UserId);
                let who = match user {
                    Some(u) => names
                        .entry(u)
                        .or_insert_with(|| db::people::user(tx, u).map(|u| u.display_name).ok())
                        .clone(),
                    None => None,
                };
                let mut v = serde_json::to_value(&row).unwrap_or_default();
                v["who"] = who.map_or(serde_json::Value::Null, serde_json::Value::String);
                entries.push(v);
            }
            let holders = db::scope::holders(tx, id)?;
            Audit::new(&c.actor(), "visit.audit_read", subject)
                .detail(&serde_json::json!({ "entries": entries.len() }))
                .append(tx, &now)?;
            Ok(serde_json::json!({ "entries": entries, "holders": holders }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The storage error for an op the server wrote itself that the merge rules
/// refused (a bug: nothing is stored, the transaction rolls back).
/// Stores an op the server's replica wrote (a review, a return, a
/// resolution) through the ledger, with its audit row, in `tx`.
#[allow(clippy::too_many_arguments)]
fn write_audited(
    tx: &db::Sql,
    op: sync_core::Op,
    now: &str,
    c: &Caller,
    action: &str,
    id: VisitId,
    reason: &str,
    detail: &serde_json::Value,
) -> Result<(), db::DbError> {
    crate::ledger::write_server_op(tx, op, now)?;
    db::audit::append(
        tx,
        now,
        &Entry {
            actor: &c.actor(),
            action,
            subject: &format!("visit:{id}"),
            reason,
            detail: &detail.to_string(),
        },
    )?;
    Ok(())
}
