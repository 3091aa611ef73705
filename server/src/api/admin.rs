//! Admin endpoints: operations, teams, members, users, enrolment codes,
//! devices, the quarantine and the audit trail.

use super::openapi::{answers, codes as errors};
use super::session::{check_password, check_username};
use super::{check_len, parse_json, Audit, Call};
use crate::auth::Auth;
use crate::db;
use crate::domain::{DeviceId, Operation, Role, Team, TeamId, User, UserId};
use crate::error::ApiError;
use crate::{now_rfc3339, rfc3339_in, secrets, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::summary::LocalDate;
use sync_core::OperationId;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const ADMIN: &[Role] = &[Role::Admin];

fn uuid_path(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::bad_request("bad_path", format!("{what} must be a UUID")))
}

/// `GET /api/v1/operations`: admins see all, others their own.
#[utoipa::path(get, path = "/api/v1/operations", tag = "admin", operation_id = "listOperations",
    summary = "List operations", security(("bearer" = [])),
    responses((status = 200, description = "Operations the caller sees.", body = Vec<Operation>), errors::ListOperations))]
pub async fn list_operations(
    auth: Auth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.0;
    let only = c.operation_scope();
    let ops = state
        .db
        .read(move |db| db::people::operations(db, only.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(ops))
}

/// A new operation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewOperation {
    /// Chosen by the client; generated when absent.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    id: Option<OperationId>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    force_area: String,
    #[schema(format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    starts_on: String,
    /// Not before `starts_on` (checked: `invalid_field`).
    #[schema(format = Date, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    ends_on: String,
    /// How long phones keep the operation's synced visits; 7 when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    retention_days: Option<u32>,
}

/// `POST /api/v1/operations`.
#[utoipa::path(post, path = "/api/v1/operations", tag = "admin", operation_id = "createOperation",
    summary = "Create an operation", description = "Admins. Audited. `ends_on` must not be before `starts_on`.",
    security(("bearer" = [])), request_body = NewOperation,
    responses((status = 201, description = "Created.", body = Operation), errors::CreateOperation))]
pub async fn create_operation(mut call: Call) -> Result<HttpResponse, ApiError> {
    let actor = call.require(ADMIN)?.actor();
    let b: NewOperation = call.json().await?;
    check_len("name", &b.name, 1, 200)?;
    check_len("force_area", &b.force_area, 1, 100)?;
    let (Some(s), Some(e)) = (LocalDate::parse(&b.starts_on), LocalDate::parse(&b.ends_on)) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "starts_on and ends_on must be dates (YYYY-MM-DD)",
        ));
    };
    if e < s {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "ends_on is before starts_on",
        ));
    }
    let op = Operation {
        id: b.id.unwrap_or(OperationId(Uuid::new_v4())),
        name: b.name,
        force_area: b.force_area,
        starts_on: b.starts_on,
        ends_on: b.ends_on,
        retention_days: check_retention(b.retention_days)?,
    };
    let (o, now) = (op.clone(), now_rfc3339());
    call.state
        .db
        .write(move |tx| {
            db::people::create_operation(tx, &o, &now)?;
            Audit::new(&actor, "operation.create", format!("operation:{}", o.id))
                .detail(&o)
                .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::Created().json(op))
}

fn check_retention(days: Option<u32>) -> Result<u32, ApiError> {
    let days = days.unwrap_or(Operation::DEFAULT_RETENTION_DAYS);
    if (1..=Operation::MAX_RETENTION_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!(
                "retention_days must be 1 to {} days",
                Operation::MAX_RETENTION_DAYS
            ),
        ))
    }
}

/// A change to an operation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OperationChange {
    #[schema(minimum = 1, maximum = 365)]
    retention_days: u32,
}

/// `PATCH /api/v1/operations/{id}` with `{"retention_days": N}`: how long
/// phones keep the operation's synced visits after the visit's day.
#[utoipa::path(patch, path = "/api/v1/operations/{id}", tag = "admin", operation_id = "updateOperation",
    summary = "Change an operation's retention", description = "Admins. Audited.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The operation's id.")),
    request_body = OperationChange,
    responses((status = 200, description = "The operation.", body = Operation), errors::UpdateOperation))]
pub async fn update_operation(
    mut call: Call,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = call.require(ADMIN)?.actor();
    let body = call.body().await?;
    let op = OperationId(uuid_path(&path, "operation id")?);
    let b: OperationChange = parse_json(&body)?;
    let days = check_retention(Some(b.retention_days))?;
    let now = now_rfc3339();
    let updated = call
        .state
        .db
        .write(move |tx| {
            if !db::people::set_retention(tx, op, days)? {
                return Ok(None);
            }
            Audit::new(&actor, "operation.retention", format!("operation:{op}"))
                .detail(&serde_json::json!({ "retention_days": days }))
                .append(tx, &now)?;
            db::people::operation(tx, op)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("operation"))?;
    Ok(HttpResponse::Ok().json(updated))
}

/// A new team.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: String,
}

/// `POST /api/v1/operations/{id}/teams`.
#[utoipa::path(post, path = "/api/v1/operations/{id}/teams", tag = "admin", operation_id = "createTeam",
    summary = "Create a team in an operation", description = "Admins.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The operation's id.")),
    request_body = NewTeam,
    responses((status = 201, description = "Created.", body = Team), errors::CreateTeam))]
pub async fn create_team(
    mut call: Call,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    call.require(ADMIN)?;
    let op = OperationId(uuid_path(&path, "operation id")?);
    let b: NewTeam = call.json().await?;
    check_len("name", &b.name, 1, 100)?;
    let team = Team {
        id: TeamId(Uuid::new_v4()),
        operation_id: op,
        name: b.name,
    };
    let t = team.clone();
    call.state
        .db
        .write(move |tx| db::people::create_team(tx, &t))
        .await?;
    Ok(HttpResponse::Created().json(team))
}

/// A user to put in an operation, and optionally in one of its teams.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewMember {
    user_id: Uuid,
    #[serde(default)]
    team_id: Option<Uuid>,
}

/// `POST /api/v1/operations/{id}/members`: puts a user in an operation (and team).
#[utoipa::path(post, path = "/api/v1/operations/{id}/members", tag = "admin", operation_id = "addMember",
    summary = "Add a member", description = "Admins. Audited.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The operation's id.")),
    request_body = NewMember,
    responses((status = 204, description = "Added."), errors::AddMember))]
pub async fn add_member(mut call: Call, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let actor = call.require(ADMIN)?.actor();
    let op = OperationId(uuid_path(&path, "operation id")?);
    let b: NewMember = call.json().await?;
    let now = now_rfc3339();
    call.state
        .db
        .write(move |tx| {
            let brought = db::people::add_member(
                tx,
                UserId(b.user_id),
                op,
                b.team_id.map(TeamId),
                &actor,
                &now,
            )?;
            Audit::new(
                &actor,
                "operation.member_add",
                format!("user:{}", b.user_id),
            )
            .detail(
                &serde_json::json!({ "operation": op, "team": b.team_id, "team_visits": brought }),
            )
            .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/users`.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", operation_id = "listUsers",
    summary = "List users", description = "Admins.", security(("bearer" = [])),
    responses((status = 200, description = "Users.", body = Vec<User>), errors::ListAdmin))]
pub async fn list_users(auth: Auth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let users = state.db.read(db::people::users).await?;
    Ok(HttpResponse::Ok().json(users))
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[schema(min_length = 3, max_length = 64, pattern = "^[a-z0-9._-]*$")]
    username: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    display_name: String,
    role: Role,
    /// For the admin pages; officers usually have none (they enrol a device).
    #[serde(default)]
    #[schema(
        min_length = 12,
        max_length = 1024,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    password: Option<String>,
}

/// `POST /api/v1/users`: officers usually have no password (they enrol a device).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", operation_id = "createUser",
    summary = "Create a user", description = "Admins. Audited.", security(("bearer" = [])),
    request_body = NewUser,
    responses((status = 201, description = "Created.", body = User), errors::CreateOperation))]
pub async fn create_user(mut call: Call) -> Result<HttpResponse, ApiError> {
    let actor = call.require(ADMIN)?.actor();
    let b: NewUser = call.json().await?;
    check_username(&b.username)?;
    check_len("display_name", &b.display_name, 1, 200)?;
    let hash = match b.password {
        Some(p) => {
            check_password(&p)?;
            Some(
                web::block(move || secrets::hash_password(&p))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(ApiError::internal)?,
            )
        }
        None => None,
    };
    let now = now_rfc3339();
    let user = User {
        id: UserId(Uuid::new_v4()),
        username: b.username,
        display_name: b.display_name,
        role: b.role,
        created_at: now.clone(),
    };
    let u = user.clone();
    call.state
        .db
        .write(move |tx| {
            db::people::create_user(tx, &u, hash.as_deref())?;
            Audit::new(&actor, "user.create", format!("user:{}", u.id))
                .detail(&serde_json::json!({ "username": u.username, "role": u.role }))
                .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

/// `POST /api/v1/users/{id}/enrolment-codes`: a one-time code, as text and,
/// when the server knows its public address (`--public-url`), as an enrolment
/// URL and QR code (SVG). The address never comes from the request (`Host`,
/// `X-Forwarded-Host`, `Forwarded`): anyone can set those, and a QR code
/// pointing elsewhere would enrol a phone against another server.
#[utoipa::path(post, path = "/api/v1/users/{id}/enrolment-codes", tag = "admin", operation_id = "issueEnrolmentCode",
    summary = "Issue an enrolment code", description = "Admins. Audited. Valid 24 hours, once.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The user's id.")),
    responses((status = 201, description = "The code.", body = answers::EnrolmentCode), errors::IssueCode))]
pub async fn issue_code(call: Call, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (caller, state) = (call.require(ADMIN)?, call.state);
    let user = UserId(uuid_path(&path, "user id")?);
    let code = secrets::new_code();
    let code_hash = secrets::hash_secret(&code);
    let now = now_rfc3339();
    let expires_at = rfc3339_in(chrono::Duration::hours(24));
    let (exp, actor, issuer) = (expires_at.clone(), caller.actor(), caller.user.id);
    state
        .db
        .write(move |tx| {
            db::people::create_enrolment_code(tx, &code_hash, user, issuer, &now, &exp)?;
            Audit::new(&actor, "enrolment_code.issue", format!("user:{user}"))
                .detail(&serde_json::json!({ "expires_at": exp }))
                .append(tx, &now)
        })
        .await?;
    let (enrol_url, svg, message) = match &state.config.public_url {
        Some(base) => {
            let enrol_url = format!("{base}/#enrol={code}");
            let qr = qrcode::QrCode::new(enrol_url.as_bytes()).map_err(ApiError::internal)?;
            let svg = qr
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .build();
            (Some(enrol_url), Some(svg), None)
        }
        None => (
            None,
            None,
            Some(
                "No QR code can be made: the server does not know the address phones use to \
                 reach it. Type the code into the phone, or restart the server with \
                 --public-url (or AIDANT_PUBLIC_URL) set to that address.",
            ),
        ),
    };
    Ok(HttpResponse::Created().json(serde_json::json!({
        "code": code,
        "expires_at": expires_at,
        "enrol_url": enrol_url,
        "qr_svg": svg,
        "qr_message": message,
    })))
}

/// `GET /api/v1/devices`.
#[utoipa::path(get, path = "/api/v1/devices", tag = "admin", operation_id = "listDevices",
    summary = "List devices", description = "Admins.", security(("bearer" = [])),
    responses((status = 200, description = "Devices.", body = Vec<crate::domain::Device>), errors::ListAdmin))]
pub async fn list_devices(
    auth: Auth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let devices = state.db.read(db::people::devices).await?;
    Ok(HttpResponse::Ok().json(devices))
}

/// The body of a revocation: how the phone was lost (see [`revoke_device`]).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// `lost` (the default) or `reassigned`.
    #[serde(default)]
    #[schema(pattern = "^(lost|reassigned)$")]
    mode: Option<String>,
}

/// An admin's request about a device (`/devices/{id}/…`): who asks (as the
/// audit row names them), the body, and the device.
async fn device_request(
    call: &mut Call,
    path: &str,
) -> Result<(String, crate::body::Body, DeviceId), ApiError> {
    let actor = call.require(ADMIN)?.actor();
    let body = call.body().await?;
    Ok((actor, body, DeviceId(uuid_path(path, "device id")?)))
}

/// `POST /api/v1/devices/{id}/revoke` with an optional `{"mode": "lost" |
/// "reassigned"}` (default `lost`): a lost phone's next request fails with
/// `device_revoked` and it wipes itself at once; a reassigned phone may still
/// push what it holds (`device_reassigned` for anything else), then wipes.
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", tag = "admin", operation_id = "revokeDevice",
    summary = "Revoke a device", description = "Admins. Audited. The body may be empty.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The device's id.")),
    request_body(content = RevokeBody, description = "Optional: an empty body means `lost`."),
    responses((status = 204, description = "Revoked (or already revoked, or no such device)."), errors::RevokeDevice))]
pub async fn revoke_device(
    mut call: Call,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, body, device) = device_request(&mut call, &path).await?;
    let b: RevokeBody = if body.is_empty() {
        RevokeBody { mode: None }
    } else {
        parse_json(&body)?
    };
    let mode = match b.mode.as_deref() {
        None | Some("lost") => "lost",
        Some("reassigned") => "reassigned",
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "mode must be lost or reassigned",
            ))
        }
    };
    let now = now_rfc3339();
    call.state
        .db
        .write(move |tx| {
            if !db::people::revoke_device(tx, device, mode, &now)? {
                return Ok(());
            }
            Audit::new(&actor, "device.revoke", format!("device:{device}"))
                .detail(&serde_json::json!({ "mode": mode }))
                .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/devices/{id}/recovery-code` with `{"reason": "…"}`: the code
/// that unlocks a phone locked out by wrong PINs while it holds unsynced
/// changes. An admin reads it to the officer; audited with the reason.
#[utoipa::path(post, path = "/api/v1/devices/{id}/recovery-code", tag = "admin", operation_id = "deviceRecoveryCode",
    summary = "Read a device's recovery code", description = "Admins. Audited with the reason.",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "The device's id.")),
    request_body = ReasonBody,
    responses((status = 200, description = "The code.", body = answers::RecoveryCode), errors::RecoveryCode))]
pub async fn recovery_code(
    mut call: Call,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, body, device) = device_request(&mut call, &path).await?;
    let reason = super::visits::required_reason(parse_json::<ReasonBody>(&body)?.reason)?;
    let now = now_rfc3339();
    let code = call
        .state
        .db
        .write(move |tx| -> Result<_, ApiError> {
            let code = db::people::recovery_secret(tx, device)?;
            Audit::new(&actor, "device.recovery_code", format!("device:{device}"))
                .reason(&reason)
                .detail(&serde_json::json!({ "issued": code.is_some() }))
                .append(tx, &now)?;
            // The attempt is audited even when there is no code to give.
            Ok(code)
        })
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_recovery_code",
                "this device was enrolled before recovery codes existed; it cannot be unlocked this way",
            )
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "code": code })))
}

/// A body that gives a reason (see [`recovery_code`]).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    /// Why (audited). Required: absent or blank is `reason_required`.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    reason: Option<String>,
}

/// A page of a list, newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Rows, clamped to 1..=1000 (default 100).
    #[serde(default)]
    limit: Option<i64>,
    /// Only rows before this one (its `id` or `seq`).
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /api/v1/admin/quarantine`: rejected ops, newest first.
#[utoipa::path(get, path = "/api/v1/admin/quarantine", tag = "admin", operation_id = "quarantine",
    summary = "Rejected ops", description = "Admins.", security(("bearer" = [])), params(Page),
    responses((status = 200, description = "Rows, newest first.", body = Vec<answers::QuarantineRow>), errors::ListPaged))]
pub async fn quarantine(call: Call, q: web::Query<Page>) -> Result<HttpResponse, ApiError> {
    let (_, limit) = call.listing(ADMIN, q.limit, (100, 1_000))?;
    let before = q.before;
    let rows = call
        .state
        .db
        .read(move |c| db::sync::quarantined(c, limit, before))
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// `GET /api/v1/admin/audit`: recent audit rows, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", operation_id = "auditRecent",
    summary = "Recent audit rows", description = "Admins. The read is itself audited.", security(("bearer" = [])), params(Page),
    responses((status = 200, description = "Rows, newest first.", body = Vec<answers::AuditRow>), errors::ListPaged))]
pub async fn audit_recent(call: Call, q: web::Query<Page>) -> Result<HttpResponse, ApiError> {
    let (_, limit) = call.listing(ADMIN, q.limit, (100, 1_000))?;
    let (actor, before, state) = (call.require(ADMIN)?.actor(), q.before, call.state);
    let rows = state
        .db
        .read(move |c| db::audit::recent(c, limit, before))
        .await?;
    let (n, now) = (rows.len(), now_rfc3339());
    state
        .db
        .write(move |tx| {
            Audit::new(&actor, "audit.read", "audit")
                .detail(&serde_json::json!({ "rows": n }))
                .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// What to check the chain against.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// `aidant audit anchor`'s line, `aidant-audit-anchor:SEQ:HASH:TIME` (its
    /// JSON form is read too).
    #[serde(default)]
    #[param(pattern = "^aidant-audit-anchor:[1-9][0-9]{0,17}:[0-9a-f]{64}:[0-9A-Za-z:.+-]+$")]
    anchor: Option<String>,
}

/// `GET /api/v1/admin/audit/verify[?anchor=…]`: checks the keyed hash chain,
/// naming the first bad row; with an anchor (`aidant audit anchor`'s line or
/// JSON), also that the chain still reaches the anchored row unchanged.
#[utoipa::path(get, path = "/api/v1/admin/audit/verify", tag = "admin", operation_id = "auditVerify",
    summary = "Check the audit chain", description = "Admins.", security(("bearer" = [])), params(VerifyQuery),
    responses((status = 200, description = "The verdict.", body = answers::AuditVerdict), errors::ListPaged))]
pub async fn audit_verify(
    auth: Auth,
    state: web::Data<AppState>,
    q: web::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let anchor = q
        .into_inner()
        .anchor
        .map(|a| a.parse::<db::audit::Anchor>())
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_query", e))?;
    let verdict = state
        .db
        .snapshot(move |c| db::audit::verify_with(c, anchor.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(verdict))
}
