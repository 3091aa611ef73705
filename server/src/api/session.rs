//! First-admin setup, password login, device enrolment, and "who am I".

use super::openapi::{answers, codes as errors};
use super::{check_len, parse_json, Audit};
use crate::auth::{peer, Auth};
use crate::db::{self, people::CodeProblem};
use crate::domain::{DeviceId, Role, User, UserId};
use crate::error::ApiError;
use crate::{now_rfc3339, rfc3339_in, secrets, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

/// Wall time, Unix milliseconds (failure windows are shared between
/// instances, so not a process's `Instant`).
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How long a login session lasts.
const SESSION_HOURS: i64 = 12;

/// Added to every login of an account that had more failed logins in the
/// last minute (from anywhere) than one address may make: slows a spread-out
/// guessing attack without ever refusing the owner.
const ACCOUNT_UNDER_ATTACK_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

fn limit(state: &AppState, keys: &[String]) -> Result<(), ApiError> {
    state
        .auth_limiter
        .check(keys, Instant::now())
        .map_err(ApiError::rate_limited)
}

/// A request made before sign-in: its source address, and its small body
/// read as JSON (one caller per source address) when the handler asks.
pub struct Anonymous {
    ip: String,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: Option<web::Payload>,
}

impl actix_web::FromRequest for Anonymous {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Payload::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            Ok(Anonymous {
                ip: peer(&req),
                state: state.ok_or_else(|| ApiError::internal("app state missing"))?,
                payload: Some(body.await.map_err(ApiError::internal)?),
                req,
            })
        })
    }
}

impl Anonymous {
    /// The body parsed as JSON.
    async fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let payload = self
            .payload
            .take()
            .ok_or_else(|| ApiError::internal("the request body was read twice"))?;
        let caller = format!("ip:{}", self.ip);
        let body = self
            .state
            .bodies
            .read(&self.req, payload, crate::body::Kind::Small, &caller)
            .await?;
        parse_json(&body)
    }
}

/// The first admin.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetupBody {
    /// The one-time setup code the server printed at its first start.
    code: String,
    #[schema(min_length = 3, max_length = 64, pattern = "^[a-z0-9._-]*$")]
    username: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    display_name: String,
    #[schema(
        min_length = 12,
        max_length = 1024,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    password: String,
}

/// `POST /api/v1/setup`: creates the first admin with the one-time setup code.
#[utoipa::path(post, path = "/api/v1/setup", tag = "session", operation_id = "setup",
    summary = "Create the first admin", request_body = SetupBody,
    responses((status = 201, description = "The admin.", body = crate::domain::User), errors::Setup))]
pub async fn setup(mut call: Anonymous) -> Result<HttpResponse, ApiError> {
    limit(&call.state, &[format!("setup:{}", call.ip)])?;
    let b: SetupBody = call.json().await?;
    let Anonymous { ip, state, .. } = call;
    check_username(&b.username)?;
    check_len("display_name", &b.display_name, 1, 200)?;
    check_password(&b.password)?;
    let code_hash = secrets::hash_secret(&secrets::normalise_code(&b.code));
    let password = b.password.clone();
    let hash = web::block(move || secrets::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let now = now_rfc3339();
    let user = User {
        id: UserId(Uuid::new_v4()),
        username: b.username,
        display_name: b.display_name,
        role: Role::Admin,
        created_at: now.clone(),
    };
    let u = user.clone();
    let created = state
        .db
        .write(move |tx| -> Result<_, ApiError> {
            let stored = db::meta_get(tx, "setup_code_hash")?;
            let ok = stored.is_some_and(|s| {
                subtle::ConstantTimeEq::ct_eq(s.as_bytes(), code_hash.as_bytes()).into()
            });
            if !ok || db::people::admin_exists(tx)? {
                return Ok(false);
            }
            db::people::create_user(tx, &u, Some(&hash))?;
            db::meta_delete(tx, "setup_code_hash")?;
            Audit::new(
                &format!("ip:{ip}"),
                "setup.admin_created",
                format!("user:{}", u.id),
            )
            .append(tx, &now)?;
            Ok(true)
        })
        .await?;
    if !created {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_setup_code",
            "the setup code is wrong or was already used",
        ));
    }
    Ok(HttpResponse::Created().json(user))
}

/// A password login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    username: String,
    #[schema(
        min_length = 1,
        max_length = 1024,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    password: String,
}

/// `POST /api/v1/login`: password login for the web pages; returns a session token.
#[utoipa::path(post, path = "/api/v1/login", tag = "session", operation_id = "login",
    summary = "Sign in with a password", request_body = LoginBody,
    responses((status = 200, description = "A session.", body = answers::LoginResponse), errors::Login))]
pub async fn login(mut call: Anonymous) -> Result<HttpResponse, ApiError> {
    let b: LoginBody = call.json().await?;
    let Anonymous { ip, state, .. } = call;
    check_len("username", &b.username, 1, 64)?;
    check_len("password", &b.password, 1, 1024)?;
    // Every attempt counts against its source address; failures count
    // against the account *from that address* only, so failures elsewhere
    // never lock the owner out. Many failures on the account from everywhere
    // slow every login to it a little, and never refuse one.
    limit(&state, &[format!("login-ip:{ip}")])?;
    // Failures are counted in the database: every instance sees them.
    let fail_key = format!("login-fail:{}:{ip}", b.username);
    let account_key = format!("login-account:{}", b.username);
    let per_window = state.config.limits.auth_per_minute;
    let window_ms = i64::try_from(state.config.limits.auth_window.as_millis()).unwrap_or(i64::MAX);
    let (keys, at) = ((fail_key.clone(), account_key.clone()), now_ms());
    let ((mine, left_ms), (everywhere, _)) = state
        .db
        .read(move |c| -> Result<_, ApiError> {
            Ok((
                db::throttle::failures(c, &keys.0, at, window_ms)?,
                db::throttle::failures(c, &keys.1, at, window_ms)?,
            ))
        })
        .await?;
    if mine >= per_window {
        return Err(ApiError::rate_limited(
            u64::try_from(left_ms / 1000).unwrap_or(0).max(1),
        ));
    }
    if everywhere >= per_window {
        actix_web::rt::time::sleep(ACCOUNT_UNDER_ATTACK_DELAY).await;
    }
    let username = b.username.clone();
    let found = state
        .db
        .read(move |c| db::people::user_for_login(c, &username))
        .await?;
    let password = b.password;
    let (user, ok) = web::block(move || match found {
        Some((user, Some(hash))) => {
            let ok = secrets::verify_password(&password, &hash);
            (Some(user), ok)
        }
        _ => {
            // Same work whether or not the user exists.
            secrets::verify_password(&password, secrets::dummy_hash());
            (None, false)
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let now = now_rfc3339();
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            let who = b.username;
            let at = now_ms();
            state
                .db
                .write(move |tx| {
                    db::throttle::record_failure(tx, &fail_key, at, window_ms)?;
                    db::throttle::record_failure(tx, &account_key, at, window_ms)?;
                    Audit::new(
                        &format!("ip:{ip}"),
                        "login.failure",
                        format!("username:{who}"),
                    )
                    .append(tx, &now)
                })
                .await?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "wrong username or password",
            ));
        }
    };
    let token = secrets::new_token();
    let token_hash = secrets::hash_secret(&token);
    let expires_at = rfc3339_in(chrono::Duration::hours(SESSION_HOURS));
    let (uid, exp) = (user.id, expires_at.clone());
    state
        .db
        .write(move |tx| {
            db::throttle::clear(tx, &fail_key)?;
            db::people::create_session(tx, &token_hash, uid, &now, &exp)?;
            Audit::new(
                &format!("user:{uid}"),
                "login.success",
                format!("user:{uid}"),
            )
            .detail(&serde_json::json!({ "ip": ip }))
            .append(tx, &now)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "token": token, "expires_at": expires_at, "user": user })))
}

/// A phone's enrolment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    /// The code an admin issued.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    code: String,
    /// The phone's name; `phone` when absent.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    label: Option<String>,
}

/// `POST /api/v1/enrol`: a phone trades a one-time code for a device id and token.
#[utoipa::path(post, path = "/api/v1/enrol", tag = "session", operation_id = "enrol",
    summary = "Enrol a phone", request_body = EnrolBody,
    responses((status = 201, description = "The device and its token.", body = answers::EnrolResponse), errors::Enrol))]
pub async fn enrol(mut call: Anonymous) -> Result<HttpResponse, ApiError> {
    let b: EnrolBody = call.json().await?;
    let Anonymous { ip, state, .. } = call;
    check_len("code", &b.code, 1, 64)?;
    let code = secrets::normalise_code(&b.code);
    limit(
        &state,
        &[format!("enrol-ip:{ip}"), format!("enrol-code:{code}")],
    )?;
    let label = b.label.unwrap_or_else(|| "phone".into());
    check_len("label", &label, 1, 100)?;
    let code_hash = secrets::hash_secret(&code);
    let device = DeviceId(Uuid::new_v4());
    let token = secrets::new_token();
    let token_hash = secrets::hash_secret(&token);
    // Wraps the phone's data key a second time (see the field app's vault);
    // an admin can read it out to unlock a phone locked out by wrong PINs.
    let recovery = secrets::new_recovery_code();
    let recovery_for_db = recovery.clone();
    let now = now_rfc3339();
    let result = state
        .db
        .write(move |tx| -> Result<_, ApiError> {
            let r = db::people::enrol_device(
                tx,
                &code_hash,
                device,
                &label,
                &token_hash,
                &recovery_for_db,
                &now,
            )?;
            let (action, detail) = match &r {
                Ok(_) => (
                    "device.enrol",
                    serde_json::json!({ "label": label, "ip": ip }),
                ),
                Err(p) => (
                    "device.enrol_failure",
                    serde_json::json!({ "problem": format!("{p:?}"), "ip": ip }),
                ),
            };
            let actor = match &r {
                Ok(u) => format!("user:{u} device:{device}"),
                Err(_) => format!("ip:{ip}"),
            };
            Audit::new(&actor, action, format!("device:{device}"))
                .detail(&detail)
                .append(tx, &now)?;
            // A refused code is audited too: the refusal is committed, and
            // answered below.
            Ok(match r {
                Ok(u) => Ok((db::people::user(tx, u)?, db::people::memberships(tx, u)?)),
                Err(p) => Err(p),
            })
        })
        .await?;
    let (user, operations) = result.map_err(|p| {
        let msg = match p {
            CodeProblem::Unknown => "that enrolment code is not known; check it with your admin",
            CodeProblem::Used => "that enrolment code was already used; ask for a new one",
            CodeProblem::Expired => "that enrolment code has expired; ask for a new one",
        };
        ApiError::new(StatusCode::FORBIDDEN, "bad_enrolment_code", msg)
    })?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "device_id": device,
        "token": token,
        "user": user,
        "operations": operations,
        "recovery_secret": recovery,
        "server_time_ms": chrono::Utc::now().timestamp_millis(),
    })))
}

/// `GET /api/v1/me`: the caller, their device and operations.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", operation_id = "me",
    summary = "The caller", security(("bearer" = [])),
    responses((status = 200, description = "The caller.", body = answers::Me), errors::Me))]
pub async fn me(auth: Auth) -> HttpResponse {
    let c = auth.0;
    HttpResponse::Ok().json(serde_json::json!({
        "user": c.user,
        "device_id": c.device,
        "operations": c.operations,
        "server_time_ms": chrono::Utc::now().timestamp_millis(),
    }))
}

pub(crate) fn check_username(u: &str) -> Result<(), ApiError> {
    let ok = (3..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "username must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

pub(crate) fn check_password(p: &str) -> Result<(), ApiError> {
    check_len("password", p, 12, 1024)
}
