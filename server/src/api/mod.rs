//! HTTP handlers, one module per resource: parse, call `db`, map. No SQL here.

pub mod admin;
pub mod exports;
pub mod openapi;
pub mod service;
pub mod session;
pub mod sync;
pub mod visits;

use crate::auth::Auth;
use crate::domain::{Caller, Role};
use crate::error::{method_not_allowed, ApiError};
use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

/// A route path and the handler for each method it accepts. Any other method
/// answers a JSON 405 whose `Allow` lists exactly the methods registered here,
/// so adding a method (`.get(h)`, `.post(h)`, …) keeps `Allow` right with no
/// other bookkeeping. There is deliberately no `.route(web::Route)`: a route's
/// method could not be read back from it.
pub(crate) struct Resource {
    inner: actix_web::Resource,
    allow: Vec<Method>,
}

/// Starts a [`Resource`] at `path`.
pub(crate) fn resource(path: &str) -> Resource {
    Resource {
        inner: web::resource(path),
        allow: Vec::new(),
    }
}

impl Resource {
    /// Answers `method` with `handler`.
    pub(crate) fn method<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.inner = self.inner.route(web::method(method.clone()).to(handler));
        self.allow.push(method);
        self
    }

    /// Answers GET with `handler`.
    pub(crate) fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::GET, handler)
    }

    /// Answers POST with `handler`.
    pub(crate) fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::POST, handler)
    }

    /// Answers PATCH with `handler`.
    pub(crate) fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method(Method::PATCH, handler)
    }
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        let allow = self
            .allow
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.inner
            .default_service(web::to(move || method_not_allowed(allow.clone())))
            .register(config)
    }
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(service::healthz))
        .service(resource("/readyz").get(service::readyz))
        .service(resource("/metrics").get(service::metrics))
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(require_json_body))
                .service(resource("/openapi.json").get(service::openapi))
                .service(resource("/setup").post(session::setup))
                .service(resource("/login").post(session::login))
                .service(resource("/enrol").post(session::enrol))
                .service(resource("/me").get(session::me))
                .service(
                    resource("/operations")
                        .get(admin::list_operations)
                        .post(admin::create_operation),
                )
                .service(resource("/operations/{id}").patch(admin::update_operation))
                .service(resource("/operations/{id}/teams").post(admin::create_team))
                .service(resource("/operations/{id}/members").post(admin::add_member))
                .service(
                    resource("/users")
                        .get(admin::list_users)
                        .post(admin::create_user),
                )
                .service(resource("/users/{id}/enrolment-codes").post(admin::issue_code))
                .service(resource("/devices").get(admin::list_devices))
                .service(resource("/devices/{id}/revoke").post(admin::revoke_device))
                .service(resource("/devices/{id}/recovery-code").post(admin::recovery_code))
                .service(resource("/sync/push").post(sync::push))
                .service(resource("/sync/pull").get(sync::pull))
                .service(resource("/sync/snapshot").get(sync::snapshot))
                .service(resource("/sync/rekey").post(sync::rekey))
                .service(resource("/visits").get(visits::list))
                .service(resource("/visits/{id}").get(visits::read))
                .service(resource("/visits/{id}/review").post(visits::review))
                .service(resource("/visits/{id}/return").post(visits::return_visit))
                .service(resource("/visits/{id}/resolve").post(visits::resolve))
                .service(resource("/visits/{id}/share").post(visits::share))
                .service(resource("/visits/{id}/audit").get(visits::audit))
                .service(resource("/operations/{id}/summary").get(exports::summary))
                .service(resource("/operations/{id}/export").get(exports::export))
                .service(resource("/exports").get(exports::list))
                .service(resource("/admin/quarantine").get(admin::quarantine))
                .service(resource("/admin/audit").get(admin::audit_recent))
                .service(resource("/admin/audit/verify").get(admin::audit_verify))
                .default_service(web::to(crate::error::not_found)),
        );
}

/// `Cache-Control: no-store` (and `Pragma: no-cache` for old proxies) on every
/// response under `/api/`, success or error: API answers carry personal data
/// and tokens and must never sit in a browser's or a proxy's cache. Wrapped
/// around the whole app (outside the error rewriting) so no path misses it;
/// other paths (static files, their ETags) are left alone.
pub async fn no_store(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderValue, CACHE_CONTROL, PRAGMA};
    if !req.path().starts_with("/api/") {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    fn mark(h: &mut actix_web::http::header::HeaderMap) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    }
    match next.call(req).await {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            mark(res.headers_mut());
            Ok(res)
        }
        // An error still travelling as an error (not yet a response) gets
        // its response built here, with the headers, and travels on.
        Err(e) => {
            let mut res = e.error_response();
            mark(res.headers_mut());
            Err(actix_web::error::InternalError::from_response(e, res).into())
        }
    }
}

/// Refuses a request body that is not JSON (or a wire batch), so a page on
/// another site cannot post a form to the API (login CSRF and the like).
async fn require_json_body(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::header;
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = ct.starts_with("application/json") || ct.starts_with("application/octet-stream");
    if has_body && !ok {
        let e = ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        );
        return Ok(req.error_response(e));
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

/// A request from a signed-in caller, whose body (if the handler takes one)
/// is read only once the handler has checked the caller ([`Call::require`]):
/// a caller without the role is refused before a byte of their body is read. The common shape of
/// a handler that writes: check the caller, read and parse the body, write
/// with an audit row ([`Audit`]) in one transaction, answer.
pub struct Call {
    auth: Auth,
    /// The application's state.
    pub state: web::Data<crate::AppState>,
    req: actix_web::HttpRequest,
    payload: Option<web::Payload>,
}

impl FromRequest for Call {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let auth = Auth::from_request(req, payload);
        let body = web::Payload::from_request(req, payload);
        let state = req.app_data::<web::Data<crate::AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let auth = auth.await?;
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let payload = body.await.map_err(ApiError::internal)?;
            Ok(Call {
                auth,
                state,
                req,
                payload: Some(payload),
            })
        })
    }
}

impl Call {
    /// The caller, when signed in (not a phone) with one of `roles`.
    pub(crate) fn require(&self, roles: &[Role]) -> Result<Caller, ApiError> {
        self.auth.require(roles).cloned()
    }

    /// What a list request of a caller with one of `roles` covers: the
    /// operations they see (`None`: all) and how many rows, `limit` within
    /// `1..=max` (`default` when not asked).
    pub(crate) fn listing(
        &self,
        roles: &[Role],
        limit: Option<i64>,
        (default, max): (i64, i64),
    ) -> Result<(Option<Vec<sync_core::OperationId>>, i64), ApiError> {
        let scope = self.auth.require(roles)?.operation_scope();
        Ok((scope, limit.unwrap_or(default).clamp(1, max)))
    }

    /// The body (see `crate::body`): small, read once.
    pub(crate) async fn body(&mut self) -> Result<crate::body::Body, ApiError> {
        let payload = self
            .payload
            .take()
            .ok_or_else(|| ApiError::internal("the request body was read twice"))?;
        let actor = self.auth.0.actor();
        self.state
            .bodies
            .read(&self.req, payload, crate::body::Kind::Small, &actor)
            .await
    }

    /// The body parsed as JSON ([`parse_json`]).
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        parse_json(&self.body().await?)
    }
}

/// One audit row as a handler writes it, in the transaction of the change
/// it records: `Audit::new(actor, action, subject).reason(..).detail(..)
/// .append(tx, now)`. No reason is `""`, no detail `{}`.
pub(crate) struct Audit<'a> {
    actor: &'a str,
    action: &'static str,
    subject: String,
    reason: &'a str,
    detail: String,
}

impl<'a> Audit<'a> {
    /// Who (`user:…`, `ip:…`) did what (`visit.read`) to which record (`visit:…`).
    pub(crate) fn new(actor: &'a str, action: &'static str, subject: impl Into<String>) -> Self {
        Audit {
            actor,
            action,
            subject: subject.into(),
            reason: "",
            detail: "{}".into(),
        }
    }

    /// Why, in the caller's words.
    pub(crate) fn reason(self, reason: &'a str) -> Self {
        Audit { reason, ..self }
    }

    /// Details, stored as JSON.
    pub(crate) fn detail(self, detail: &impl serde::Serialize) -> Self {
        Audit {
            detail: serde_json::to_string(detail).unwrap_or_default(),
            ..self
        }
    }

    /// Appends the row in `tx`.
    pub(crate) fn append(self, tx: &crate::db::Sql, now: &str) -> Result<(), crate::db::DbError> {
        crate::db::audit::append(
            tx,
            now,
            &crate::db::audit::Entry {
                actor: self.actor,
                action: self.action,
                subject: &self.subject,
                reason: self.reason,
                detail: &self.detail,
            },
        )
        .map(|_| ())
    }
}

/// Parses a JSON body by hand so every failure is a 4xx with our codes.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                e.to_string(),
            )
        } else {
            ApiError::bad_request("malformed_json", e.to_string())
        }
    })
}

/// Checks a text field's length in characters.
pub(crate) fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{field} must be {min} to {max} characters (got {n})"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}
