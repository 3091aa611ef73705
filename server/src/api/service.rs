//! Health, readiness, metrics and the OpenAPI document.

use crate::error::ApiError;
use crate::{db, metrics::Gauges, AppState};
use actix_web::{web, HttpResponse};

/// The OpenAPI 3 document describing every endpoint and its errors.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "not ready");
            ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database is not available",
            )
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// Prometheus metrics.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let g = state
        .db
        .read(|c| {
            let (ops_stored, ops_rejected) = db::sync::counts(c)?;
            Ok(Gauges {
                ops_stored,
                ops_rejected,
                devices_seen: db::people::devices_seen(c)?,
                audit_chain_length: db::audit::len(c)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&g)))
}

/// The OpenAPI document.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// The field client's static files at `/`, with a small page when the folder is
/// missing (the client issue fills it in). Unknown files get a JSON 404.
///
/// Sent with `Cache-Control: no-cache`: the browser revalidates; offline copies
/// are the service worker's job (it caches one whole, versioned shell), so a
/// stale mix of old and new files never comes out of the HTTP cache.
pub fn static_files(dir: &std::path::Path) -> impl actix_web::dev::HttpServiceFactory {
    let index = dir.join("index.html");
    // Gzip when the browser accepts it: the wasm module is ~250 KB raw, ~100 KB gzipped.
    let scope = web::scope("")
        .wrap(actix_web::middleware::Compress::default())
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add((actix_web::http::header::CACHE_CONTROL, "no-cache")),
        );
    if index.is_file() {
        scope.service(
            actix_files::Files::new("/", dir)
                .index_file("index.html")
                .default_handler(web::to(crate::error::not_found)),
        )
    } else {
        scope
            .route("/", web::get().to(placeholder))
            .default_service(web::to(crate::error::not_found))
    }
}

async fn placeholder() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><meta name=viewport content='width=device-width'><title>Aidant</title><h1>Aidant server</h1><p>The field client is not installed in this build.</p>")
}
