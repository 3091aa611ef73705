//! HTTP handlers, one module per resource: parse, call `db`, map. No SQL here.

pub mod admin;
pub mod exports;
pub mod service;
pub mod session;
pub mod sync;
pub mod visits;

use crate::error::{method_not_allowed, ApiError};
use actix_web::web;

/// A resource whose unsupported methods answer with a JSON 405.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(service::healthz)))
        .service(resource("/readyz").route(web::get().to(service::readyz)))
        .service(resource("/metrics").route(web::get().to(service::metrics)))
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(require_json_body))
                .service(resource("/openapi.json").route(web::get().to(service::openapi)))
                .service(resource("/setup").route(web::post().to(session::setup)))
                .service(resource("/login").route(web::post().to(session::login)))
                .service(resource("/enrol").route(web::post().to(session::enrol)))
                .service(resource("/me").route(web::get().to(session::me)))
                .service(
                    resource("/operations")
                        .route(web::get().to(admin::list_operations))
                        .route(web::post().to(admin::create_operation)),
                )
                .service(
                    resource("/operations/{id}/teams").route(web::post().to(admin::create_team)),
                )
                .service(
                    resource("/operations/{id}/members").route(web::post().to(admin::add_member)),
                )
                .service(
                    resource("/users")
                        .route(web::get().to(admin::list_users))
                        .route(web::post().to(admin::create_user)),
                )
                .service(
                    resource("/users/{id}/enrolment-codes")
                        .route(web::post().to(admin::issue_code)),
                )
                .service(resource("/devices").route(web::get().to(admin::list_devices)))
                .service(
                    resource("/devices/{id}/revoke").route(web::post().to(admin::revoke_device)),
                )
                .service(resource("/sync/push").route(web::post().to(sync::push)))
                .service(resource("/sync/pull").route(web::get().to(sync::pull)))
                .service(resource("/visits").route(web::get().to(visits::list)))
                .service(resource("/visits/{id}").route(web::get().to(visits::read)))
                .service(resource("/visits/{id}/review").route(web::post().to(visits::review)))
                .service(resource("/visits/{id}/resolve").route(web::post().to(visits::resolve)))
                .service(
                    resource("/operations/{id}/summary").route(web::get().to(exports::summary)),
                )
                .service(resource("/operations/{id}/export").route(web::get().to(exports::export)))
                .service(resource("/exports").route(web::get().to(exports::list)))
                .service(resource("/admin/quarantine").route(web::get().to(admin::quarantine)))
                .service(resource("/admin/audit").route(web::get().to(admin::audit_recent)))
                .service(resource("/admin/audit/verify").route(web::get().to(admin::audit_verify)))
                .default_service(web::to(crate::error::not_found)),
        );
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
