//! One log line per request, written when the response is ready: method,
//! path (without the query string, which may carry a reason typed by a
//! supervisor), status and duration. A 4xx is an ordinary event (info, with
//! its error `code`); a 5xx is logged at error with its `code` and, for an
//! internal error, the cause ([`ApiError::internal`] keeps it for this line
//! instead of logging a line of its own). No span is opened, so no field is
//! repeated in the line.

use crate::error::{ApiError, Failure};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use std::time::Instant;

/// Longest path logged, in bytes (a client chooses the path; a line stays short).
const MAX_PATH: usize = 256;

/// The middleware (`middleware::from_fn(request_log::log)`), outermost so
/// that it sees the response as sent, after errors are rewritten to JSON.
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    let path = short(req.path()).to_owned();
    let start = Instant::now();
    let res = next.call(req).await;
    let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match &res {
        Ok(r) => {
            let failure = r.response().extensions().get::<Failure>().cloned();
            line(method.as_str(), &path, r.status(), failure.as_ref(), ms);
        }
        Err(e) => {
            let failure = e.as_error::<ApiError>().map(ApiError::failure);
            let status = e.as_response_error().status_code();
            line(method.as_str(), &path, status, failure.as_ref(), ms);
        }
    }
    res
}

fn line(method: &str, path: &str, status: StatusCode, failure: Option<&Failure>, ms: u64) {
    let status_code = status.as_u16();
    let code = failure.map_or("", |f| f.code);
    if status.is_server_error() {
        let cause = failure.and_then(|f| f.cause.as_deref()).unwrap_or("");
        tracing::error!(
            method,
            path,
            status = status_code,
            ms,
            code,
            cause,
            "request failed"
        );
    } else if status.is_client_error() {
        tracing::info!(
            method,
            path,
            status = status_code,
            ms,
            code,
            "request refused"
        );
    } else {
        tracing::info!(method, path, status = status_code, ms, "request");
    }
}

/// `path` cut to at most [`MAX_PATH`] bytes, on a character boundary.
fn short(path: &str) -> &str {
    if path.len() <= MAX_PATH {
        return path;
    }
    let mut end = MAX_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        assert_eq!(short("/api/v1/health"), "/api/v1/health");
        let long = format!("/{}", "é".repeat(300));
        let cut = short(&long);
        assert!(cut.len() <= 256 && long.starts_with(cut), "{}", cut.len());
    }
}
