//! Admin endpoints: operations, teams, members, users, enrolment codes,
//! devices, the quarantine and the audit trail.

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
use uuid::Uuid;

const ADMIN: &[Role] = &[Role::Admin];

fn uuid_path(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::bad_request("bad_path", format!("{what} must be a UUID")))
}

/// `GET /api/v1/operations`: admins see all, others their own.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOperation {
    #[serde(default)]
    id: Option<OperationId>,
    name: String,
    force_area: String,
    starts_on: String,
    ends_on: String,
    #[serde(default)]
    retention_days: Option<u32>,
}

/// `POST /api/v1/operations`.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationChange {
    retention_days: u32,
}

/// `PATCH /api/v1/operations/{id}` with `{"retention_days": N}`: how long
/// phones keep the operation's synced visits after the visit's day.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
}

/// `POST /api/v1/operations/{id}/teams`.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    user_id: Uuid,
    #[serde(default)]
    team_id: Option<Uuid>,
}

/// `POST /api/v1/operations/{id}/members`: puts a user in an operation (and team).
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
pub async fn list_users(auth: Auth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let users = state.db.read(db::people::users).await?;
    Ok(HttpResponse::Ok().json(users))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    display_name: String,
    role: Role,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /api/v1/users`: officers usually have no password (they enrol a device).
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
pub async fn list_devices(
    auth: Auth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.require(ADMIN)?;
    let devices = state.db.read(db::people::devices).await?;
    Ok(HttpResponse::Ok().json(devices))
}

/// The body of a revocation: how the phone was lost (see [`revoke_device`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(default)]
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /api/v1/admin/quarantine`: rejected ops, newest first.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    #[serde(default)]
    anchor: Option<String>,
}

/// `GET /api/v1/admin/audit/verify[?anchor=…]`: checks the keyed hash chain,
/// naming the first bad row; with an anchor (`aidant audit anchor`'s line or
/// JSON), also that the chain still reaches the anchored row unchanged.
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
        .read(move |c| db::audit::verify_with(c, anchor.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(verdict))
}
