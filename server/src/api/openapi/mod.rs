//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the
//! code: each handler's `#[utoipa::path]` (its parameters, body, answers and
//! error answers), the request types' derives with the limits their handlers
//! enforce, sync-core's wire schemas (its `openapi` feature), the error codes
//! ([`codes`]). Built once, on first request.

pub mod answers;
pub mod codes;

use super::{admin, exports, service, session, sync, visits};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, RefOr};
use utoipa::{Modify, OpenApi};

/// The document, as served.
pub static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the document serialises")
});

const DESCRIPTION: &str = "Offline field-visit records for police anti-trafficking operations: the server's HTTP API.

Every error is JSON `{\"code\", \"message\"}` (schema `Error`) with a stable `code`. Besides the errors listed per operation, any path answers `405 method_not_allowed` (with an `Allow` header listing the methods it does take) to a method it does not list, and an unknown path answers `404 no_route` (see `components.responses`). Request bodies are JSON objects that refuse unknown fields (`422 invalid_field`). Every response under `/api/`, success or error, carries `Cache-Control: no-store` (and `Pragma: no-cache`).

Authentication: `Authorization: Bearer <token>`, a login session token (`/api/v1/login`) or a device token (`/api/v1/enrol`). A revoked device's token answers `401 device_revoked`.

Limits the schemas state are the ones the handlers check; where a handler checks more than a schema can say (a date range's order and length, exactly one of two fields), the operation's description says so.";

#[derive(OpenApi)]
#[openapi(
    info(title = "Aidant", version = "0.1.0", license(name = "MIT OR Apache-2.0")),
    paths(
        service::healthz,
        service::readyz,
        service::metrics,
        service::openapi,
        session::setup,
        session::login,
        session::enrol,
        session::me,
        admin::list_operations,
        admin::create_operation,
        admin::update_operation,
        admin::create_team,
        admin::add_member,
        admin::list_users,
        admin::create_user,
        admin::issue_code,
        admin::list_devices,
        admin::revoke_device,
        admin::recovery_code,
        admin::quarantine,
        admin::audit_recent,
        admin::audit_verify,
        sync::push,
        sync::pull,
        sync::snapshot,
        sync::rekey,
        visits::list,
        visits::read,
        visits::review,
        visits::return_visit,
        visits::resolve,
        visits::share,
        visits::audit,
        exports::summary,
        exports::export,
        exports::list,
    ),
    components(schemas(codes::ErrorBody)),
    tags(
        (name = "service", description = "Health, readiness, metrics, this document."),
        (name = "session", description = "Setup, login, enrolment, the caller."),
        (name = "admin", description = "Operations, users, devices, the quarantine and the audit trail."),
        (name = "sync", description = "What phones push and pull."),
        (name = "visits", description = "Reading, reviewing, returning and settling visits."),
        (name = "exports", description = "Summaries and exports."),
    ),
    modifiers(&Shared)
)]
pub struct ApiDoc;

/// What no single handler says: the description, the bearer scheme, the
/// answers any path may give.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info.description = Some(DESCRIPTION.into());
        let components = doc
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token (login) or a device token (enrolment).",
                    ))
                    .build(),
            ),
        );
        for (name, description, codes) in [
            (
                "MethodNotAllowed",
                "Any documented path, with a method it does not list.",
                &["method_not_allowed"][..],
            ),
            (
                "NoRoute",
                "Any path not documented here (outside the field client's static files).",
                &["no_route"][..],
            ),
            (
                "OtherClientError",
                "Any path: a 4xx that the HTTP layer produced itself before a handler ran (a malformed head, a head over 128 KiB, a head that did not arrive in time, an unreadable body), rewritten to the JSON error.",
                &["bad_request", "bad_body", "headers_too_large", "request_timeout"][..],
            ),
        ] {
            components.responses.insert(
                name.into(),
                RefOr::T(codes::error_response(description, codes, false)),
            );
        }
    }
}
