//! Resolving the bearer token of a request into a [`Caller`], and role checks.

use crate::domain::{Caller, Role};
use crate::error::ApiError;
use crate::{db, now_rfc3339, secrets, AppState};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

impl Auth {
    /// Fails unless the caller is a person signed in (not a phone's device
    /// token) with one of `roles`. Device tokens sync and read what their
    /// phone holds through `/sync/*`; they never reach these routes.
    pub fn require(&self, roles: &[Role]) -> Result<&Caller, ApiError> {
        if self.0.device.is_some() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "session_required",
                "a phone's device token cannot do this; sign in at the admin pages",
            ));
        }
        if roles.contains(&self.0.user.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the role {}",
                roles
                    .iter()
                    .map(Role::as_str)
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let t = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?
        .trim();
    (!t.is_empty() && t.len() <= 256).then(|| t.to_owned())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // A phone revoked as "reassigned" may still hand in what it holds.
        let push =
            req.method() == actix_web::http::Method::POST && req.path() == "/api/v1/sync/push";
        Box::pin(async move {
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let hash = secrets::hash_secret(&token);
            let now = now_rfc3339();
            let stale_before = crate::rfc3339_in(-state.config.device_token_ttl);
            let caller = state
                .db
                .read(move |c| {
                    let Some(owner) = db::people::token_owner(c, &hash, &now, &stale_before)?
                    else {
                        return Err(ApiError::unauthorized());
                    };
                    let (user_id, device) = match owner {
                        db::people::TokenOwner::Session(u) => (u, None),
                        db::people::TokenOwner::Device {
                            revoked: true,
                            reassigned: true,
                            ..
                        } if !push => return Err(ApiError::device_reassigned()),
                        db::people::TokenOwner::Device {
                            revoked: true,
                            reassigned: false,
                            ..
                        } => return Err(ApiError::device_revoked()),
                        db::people::TokenOwner::Device { expired: true, .. } => {
                            return Err(ApiError::device_expired())
                        }
                        db::people::TokenOwner::Device {
                            device,
                            user,
                            replica,
                            ..
                        } => (user, Some((device, replica))),
                    };
                    let user = db::people::user(c, user_id)?;
                    let operations = db::people::memberships(c, user_id)?;
                    Ok(Caller {
                        user,
                        device: device.map(|(d, _)| d),
                        replica: device.map(|(_, r)| r),
                        operations,
                    })
                })
                .await?;
            Ok(Auth(caller))
        })
    }
}

/// The client's address for rate limits and audit (the socket peer; a proxy
/// in front would need its own trusted header handling).
pub fn peer(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
