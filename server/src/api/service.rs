//! Health, readiness, metrics and the OpenAPI document.

use super::openapi::{answers, codes as errors};
use crate::error::ApiError;
use crate::{db, metrics::Gauges, AppState};
use actix_web::{web, HttpResponse};

/// Liveness: the process answers, and can go on without a restart. Once
/// a sync of the SQLite WAL has failed it cannot (`db/durable.rs`): it
/// answers 503 `restart_needed`, so a supervisor restarts it.
#[utoipa::path(get, path = "/healthz", tag = "service", operation_id = "healthz",
    summary = "Liveness",
    responses((status = 200, description = "The process answers.", body = answers::Health), errors::Healthz))]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.db.durability_lost().is_some() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "restart_needed",
            RESTART_NEEDED,
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

/// What the probes say once a sync of the WAL has failed: only a restart
/// brings writes back.
const RESTART_NEEDED: &str = "a write to the database's disk failed: the server takes no writes \
     until it is restarted; phones keep their changes and send them then";

/// Readiness: the database answers, and takes writes. While writes were
/// failing (disk full), each call tries a small write to learn whether space
/// has come back. After a failed sync of the WAL, not ready until restarted.
#[utoipa::path(get, path = "/readyz", tag = "service", operation_id = "readyz",
    summary = "Readiness",
    responses((status = 200, description = "The database answers and takes writes.", body = answers::Ready), errors::Readyz))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.db.durability_lost().is_some() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            RESTART_NEEDED,
        ));
    }
    if state.db.writes_failing() {
        let db = state.db.clone();
        let probe = web::block(move || db.probe_write()).await;
        if !matches!(probe, Ok(Ok(()))) {
            return Err(ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database cannot be written (its disk is full); reads and pulls still work",
            ));
        }
    }
    state
        .db
        .read(|c| c.query_row("SELECT 1", (), |r| r.get::<_, i64>(0)))
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
#[utoipa::path(get, path = "/metrics", tag = "service", operation_id = "metrics",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text format 0.0.4.", body = answers::Text, content_type = "text/plain"), errors::Metrics))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let storage_full = i64::from(state.db.writes_failing());
    let restart_needed = i64::from(state.db.durability_lost().is_some());
    let g = state
        .db
        .read(move |c| -> Result<_, ApiError> {
            let (ops_stored, ops_rejected) = db::sync::counts(c)?;
            Ok(Gauges {
                ops_stored,
                ops_rejected,
                devices_seen: db::people::devices_seen(c)?,
                audit_chain_length: db::audit::len(c)?,
                storage_full,
                restart_needed,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&g)))
}

/// The OpenAPI document (`api::openapi`), generated once.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", operation_id = "openapi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(super::openapi::DOCUMENT.as_str())
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
        let pkg = dir.join("pkg");
        scope
            .service(
                web::resource("/pkg/{file:.*}").route(
                    web::route()
                        .guard(
                            actix_web::guard::Any(actix_web::guard::Get())
                                .or(actix_web::guard::Head()),
                        )
                        .to(
                            move |req: actix_web::HttpRequest, file: web::Path<String>| {
                                precompressed(req, pkg.clone(), file.into_inner())
                            },
                        ),
                ),
            )
            .service(
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

/// `/pkg/…` (the wasm module and its JS glue): the `.gz` file written by
/// `scripts/wasm-build.sh` (gzip -9: about a quarter smaller than compressing
/// on the fly) when the browser accepts gzip, else the plain file. Both with
/// ETag and Last-Modified, so a revalidation costs a 304.
async fn precompressed(
    req: actix_web::HttpRequest,
    pkg: std::path::PathBuf,
    file: String,
) -> Result<HttpResponse, ApiError> {
    if file.is_empty()
        || file
            .split('/')
            .any(|s| s.is_empty() || s.starts_with('.') || s.contains('\\'))
    {
        return Err(ApiError::not_found("file"));
    }
    let plain = pkg.join(&file);
    let gzip_ok = req
        .headers()
        .get(actix_web::http::header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let gz = std::path::PathBuf::from(format!("{}.gz", plain.display()));
    let mime = actix_files::file_extension_to_mime(
        plain.extension().and_then(|e| e.to_str()).unwrap_or(""),
    );
    let opened = if gzip_ok && gz.is_file() {
        actix_files::NamedFile::open_async(&gz).await.map(|f| {
            f.set_content_type(mime)
                .set_content_encoding(actix_web::http::header::ContentEncoding::Gzip)
        })
    } else {
        actix_files::NamedFile::open_async(&plain).await
    };
    let file = opened.map_err(|_| ApiError::not_found("file"))?;
    let mut res = file.disable_content_disposition().into_response(&req);
    res.headers_mut().insert(
        actix_web::http::header::VARY,
        actix_web::http::header::HeaderValue::from_static("accept-encoding"),
    );
    Ok(res)
}

async fn placeholder() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><meta name=viewport content='width=device-width'><title>Aidant</title><h1>Aidant server</h1><p>The field client is not installed in this build.</p>")
}
