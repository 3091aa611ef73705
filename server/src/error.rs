//! The one error type every handler returns. A client sees a stable machine
//! `code` and a human `message`; internal error text is logged, never sent.

use crate::db::DbError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error response: `{ "code": ..., "message": ... }` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
    /// For a 405: the methods the route accepts, sent as `Allow`.
    allow: Option<String>,
    /// For a 500: what went wrong, for the request's log line only.
    cause: Option<String>,
}

/// What the request log (`request_log`) says of an error response: its code
/// and, for an internal error, the cause. Put in the response's extensions.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The stable code sent to the client.
    pub code: &'static str,
    /// The internal cause (never sent to the client).
    pub cause: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
            cause: None,
        }
    }
    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401: no or unknown token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in or enrol this device first",
        )
    }
    /// 401 with `device_revoked`: the client should lock and wipe.
    pub fn device_revoked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "device_revoked",
            "this device has been revoked; lock it and hand it back",
        )
    }
    /// 401 with `device_reassigned`: the phone pushes what it still holds
    /// (the server accepts that), then wipes itself.
    pub fn device_reassigned() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "device_reassigned",
            "this phone has been reassigned; it hands in its unsynced changes, then clears itself",
        )
    }
    /// 401 with `device_expired`: the phone has not synced for longer than
    /// the server allows; it keeps its data locked and must be enrolled again.
    pub fn device_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "device_expired",
            "this phone has not synced for too long and its sign-in has expired; ask an admin for a new enrolment code",
        )
    }
    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// 429 with a Retry-After.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many attempts; try again in {retry_after_secs} s"),
            )
        }
    }
    /// 429 with a Retry-After and a message of its own.
    pub fn rate_limited_with(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }
    /// 503 `server_busy` with a Retry-After: the server is shedding load.
    pub fn server_busy(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_busy", message)
        }
    }
    /// 507 `storage_full` with a Retry-After: the server cannot write (its
    /// disk is full); nothing was stored, and the client keeps its data and
    /// tries again later. Reads and pulls still work.
    pub fn storage_full() -> Self {
        Self {
            retry_after: Some(60),
            ..Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_full",
                "the server cannot store anything right now (its disk is full); nothing was lost: keep your changes and try again later",
            )
        }
    }
    /// 503 `storage_unavailable` with a Retry-After: the database cannot be
    /// reached (PostgreSQL restarting, or a lost connection); nothing of the
    /// request was committed, and the client tries again. `cause` goes to
    /// the request's log line.
    pub fn storage_unavailable(cause: impl fmt::Display) -> Self {
        Self {
            retry_after: Some(5),
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the server cannot reach its database right now; nothing was stored: keep your changes and try again shortly",
            )
        }
    }
    /// 405 with an `Allow` header listing `allow` (such as `"GET, POST"`).
    pub fn method_not_allowed(allow: impl Into<String>) -> Self {
        Self {
            allow: Some(allow.into()),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method",
            )
        }
    }
    /// 500; the cause goes to the log line of the request (at error), never to
    /// the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on the server",
            )
        }
    }
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// What the request log says of this error.
    pub fn failure(&self) -> Failure {
        Failure {
            code: self.code,
            cause: self.cause.clone(),
        }
    }
    /// The JSON body `{code, message}`, as `error_response` sends it.
    pub fn json_body(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            b.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        if let Some(a) = &self.allow {
            b.insert_header((header::ALLOW, a.as_str()));
        }
        b.extensions_mut().insert(self.failure());
        b.json(Body {
            code: self.code,
            message: &self.message,
        })
    }
}

/// The one mapping from storage to HTTP: `Conflict` 409, `NotFound` 404,
/// `StorageFull` 507; every other `DbError` (a driver failure, an undecodable
/// row, a refused server op, a lost blocking task, …) is a 500 whose cause
/// goes to the request's log line only. Handlers make every other decision.
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            DbError::NotFound(what) => ApiError::not_found(&what),
            // Logged (once, for the operator) where the write failed.
            DbError::StorageFull(_) => ApiError::storage_full(),
            e if e.is_unavailable() => ApiError::storage_unavailable(e),
            other => ApiError::internal(other),
        }
    }
}

/// Maps actix's JSON extractor errors to 4xx JSON bodies.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let e = match &err {
        J::OverflowKnownLength { length, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("body is {length} bytes; at most {limit} allowed"),
        ),
        J::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("body exceeds {limit} bytes"),
        ),
        J::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        J::Deserialize(d) if d.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            d.to_string(),
        ),
        J::Deserialize(d) => ApiError::bad_request("malformed_json", d.to_string()),
        other => ApiError::bad_request("bad_body", other.to_string()),
    };
    e.into()
}

/// Maps path extractor errors (such as a bad UUID) to 400.
pub fn path_error(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("bad_path", format!("bad path parameter: {err}")).into()
}

/// Maps query-string extractor errors to 400.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("bad_query", format!("bad query string: {err}")).into()
}

/// Rewrites an error response that actix produced itself as plain text (a
/// body over `PayloadConfig`'s limit read through `web::Bytes`, for one) into
/// our JSON `{code, message}`. JSON error responses pass unchanged.
pub fn json_fallback<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let e = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "body_too_large",
            "the request body is larger than the server accepts",
        ),
        s if s.is_client_error() => {
            ApiError::new(status, "bad_request", "the request was not understood")
        }
        _ => ApiError::new(status, "internal", "something went wrong on the server"),
    };
    // A 405 made by actix itself (a static file or `/pkg/…` asked with a method
    // other than GET or HEAD) keeps or gains an `Allow`; the API's own 405s are
    // JSON and never get here.
    let e = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = res
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("GET, HEAD")
            .to_owned();
        ApiError::method_not_allowed(allow)
    } else {
        e
    };
    let (req, _) = res.into_parts();
    let res = actix_web::dev::ServiceResponse::new(req, e.error_response());
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}

/// Unknown routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such endpoint; see /api/v1/openapi.json",
    ))
}

/// Known routes, wrong method: `allow` lists the methods the route accepts
/// (see `api::resource`, which builds it from the registered handlers).
pub async fn method_not_allowed(allow: String) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
}
