//! The Aidant server: actix-web over SQLite. `run` starts it on a listener
//! the caller opened (tests use port 0); `main.rs` only parses the command line.

pub mod api;
pub mod auth;
pub mod backup;
pub mod body;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_week;
pub mod domain;
pub mod error;
pub mod export;
pub mod ledger;
pub mod listen;
pub mod metrics;
pub mod permissions;
pub mod ratelimit;
pub mod request_log;
pub mod secrets;

/// mimalloc rather than the system allocator: glibc keeps memory freed by
/// many threads in its per-thread arenas, so after an attack the process
/// stayed at its peak (`benches/hostile.rs`: 231 MB at the peak, 227 MB
/// after); with mimalloc the freed pages go back (about 95 MB after, from a
/// similar peak). Built with `no_thp`: mimalloc otherwise asks for
/// transparent huge pages on its arenas, and the kernel then zeroes 2 MiB on
/// the first touch of each; in the load bench's shift-end burst that zeroing
/// was 40% of the process's CPU samples.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use actix_web::{dev::Server, middleware, web, App};
use config::Config;
use db::Db;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use sync_core::ReplicaId;

/// Shared state of every worker.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The configuration.
    pub config: Config,
    /// Login and enrolment attempts.
    pub auth_limiter: ratelimit::RateLimiter,
    /// Request bodies being read: limits, deadline, memory budget.
    pub bodies: body::Bodies,
    /// Request metrics.
    pub metrics: metrics::Metrics,
    /// The server's own replica id (for ops it writes, such as reviews).
    pub server_replica: ReplicaId,
    /// When each device's "last seen" was last written.
    pub last_touched: std::sync::Mutex<std::collections::HashMap<domain::DeviceId, Instant>>,
}

impl AppState {
    /// True when `device`'s "last seen" should be written now (not in the last
    /// minute); notes that it is being written.
    pub fn due_for_last_seen(&self, device: domain::DeviceId) -> bool {
        let mut m = self.last_touched.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match m.get(&device) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(60) => false,
            _ => {
                m.insert(device, now);
                true
            }
        }
    }
}

/// Now, RFC 3339 UTC with milliseconds (sorts as text).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now plus `d`, RFC 3339 UTC.
pub fn rfc3339_in(d: chrono::Duration) -> String {
    (chrono::Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database {path}: {source}")]
    Db {
        /// File.
        path: String,
        /// Cause.
        source: db::DbError,
    },
    /// TLS files unreadable or invalid.
    #[error("TLS: {0}")]
    Tls(String),
    /// Binding or starting failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A started server, and the one-time setup code when no admin exists yet.
pub struct Running {
    /// Await it (or stop it through its handle).
    pub server: Server,
    /// Printed once at first start; used with `POST /api/v1/setup`.
    pub setup_code: Option<String>,
    /// The database, for [`Db::checkpoint`] once the server has stopped.
    pub db: Db,
}

/// Opens the database, creates the first admin (or a setup code) and the
/// server's replica id. Returns the state's parts.
pub fn bootstrap(config: &Config) -> Result<(Db, ReplicaId, Option<String>), StartError> {
    let location = config.location();
    let wrap = |source| StartError::Db {
        path: location.describe(),
        source,
    };
    let db = ledger::open(&location, &config.audit_key_path()).map_err(wrap)?;
    if let Some(limit) = &config.limits.test_max_page_count {
        db.set_test_page_limit(limit.clone());
    }
    if let Some(fail) = &config.limits.test_fail_syncs {
        db.set_test_sync_failure(fail.clone());
    }
    // Hash the admin password (slow on purpose) only when it will be used.
    let needs_admin = !db.read_blocking(db::people::admin_exists).map_err(wrap)?;
    let password_hash = match &config.admin_password {
        Some(p) if needs_admin => {
            Some(secrets::hash_password(p).map_err(|e| wrap(db::DbError::PasswordHash(e)))?)
        }
        _ => None,
    };
    let now = now_rfc3339();
    let (replica, code) = db
        .write_blocking(|tx| {
            let replica = match db::meta_get(tx, "server_replica")? {
                Some(r) => r,
                None => {
                    let r = uuid::Uuid::new_v4().to_string();
                    db::meta_set(tx, "server_replica", &r)?;
                    r
                }
            };
            let mut code = None;
            if !db::people::admin_exists(tx)? {
                if let Some(hash) = &password_hash {
                    let user = domain::User {
                        id: domain::UserId(uuid::Uuid::new_v4()),
                        username: "admin".into(),
                        display_name: "Administrator".into(),
                        role: domain::Role::Admin,
                        created_at: now.clone(),
                    };
                    db::people::create_user(tx, &user, Some(hash))?;
                    db::audit::append(
                        tx,
                        &now,
                        &db::audit::Entry {
                            actor: "system",
                            action: "setup.admin_created",
                            subject: &format!("user:{}", user.id),
                            reason: "AIDANT_ADMIN_PASSWORD",
                            detail: "{}",
                        },
                    )?;
                } else {
                    let c = secrets::new_code();
                    db::meta_set(tx, "setup_code_hash", &secrets::hash_secret(&c))?;
                    code = Some(c);
                }
            }
            Ok((replica, code))
        })
        .map_err(wrap)?;
    let replica = replica
        .parse()
        .map_err(|e: uuid::Error| wrap(db::DbError::decode("meta server_replica", e)))?;
    Ok((db, replica, code))
}

fn tls_config(t: &config::Tls) -> Result<rustls::ServerConfig, StartError> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| StartError::Tls(format!("{}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut &read(&t.cert)?[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Tls(format!("{}: {e}", t.cert.display())))?;
    let key = rustls_pemfile::private_key(&mut &read(&t.key)?[..])
        .map_err(|e| StartError::Tls(format!("{}: {e}", t.key.display())))?
        .ok_or_else(|| StartError::Tls(format!("{}: no private key found", t.key.display())))?;
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StartError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| StartError::Tls(e.to_string()))
}

/// Descriptors kept for everything but client connections: the database and
/// its readers, export temporary files, logs.
const RESERVED_FILES: u64 = 256;

/// Raises the soft open-files limit to the hard one (the common soft limit of
/// 1,024 would let a thousand slow clients take every descriptor) and returns
/// `wanted` connections, lowered to fit within it.
fn fit_connections(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut l = getrlimit(Resource::Nofile);
        if l.current < l.maximum {
            let before = l.current;
            l.current = l.maximum;
            if let Err(e) = setrlimit(Resource::Nofile, l) {
                tracing::warn!(error = %e, "could not raise the open-files limit");
                l.current = before;
            }
        }
        if let Some(files) = l.current {
            let fit = files.saturating_sub(RESERVED_FILES).max(16) as usize;
            if fit < wanted {
                tracing::warn!(
                    open_files = files,
                    wanted,
                    fit,
                    "max connections lowered to fit the open-files limit"
                );
                return fit;
            }
        }
    }
    wanted
}

/// Starts the server on `listener`.
pub fn run(listener: TcpListener, config: Config) -> Result<Running, StartError> {
    let (db, server_replica, setup_code) = bootstrap(&config)?;
    let tls = config.tls.as_ref().map(tls_config).transpose()?;
    let state = web::Data::new(AppState {
        db: db.clone(),
        auth_limiter: ratelimit::RateLimiter::new(
            config.limits.auth_per_minute,
            config.limits.auth_window,
        ),
        bodies: body::Bodies::new(body::BodyLimits {
            push_bytes: config.limits.body_bytes,
            deadline: config.limits.request_timeout,
            min_rate: config.limits.min_body_rate,
            budget: config.limits.body_budget,
        }),
        metrics: metrics::Metrics::default(),
        server_replica,
        last_touched: Default::default(),
        config: config.clone(),
    });
    let limits = config.limits.clone();
    // The head of a request; its body has its own deadline (`body`).
    let head_timeout = limits.request_timeout.min(Duration::from_secs(10));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let max_connections = fit_connections(limits.max_connections);
    let static_dir = config.static_dir.clone();
    let hsts = tls.is_some();
    let app = move || {
        let mut headers = middleware::DefaultHeaders::new()
            .add(("X-Content-Type-Options", "nosniff"))
            .add(("X-Frame-Options", "DENY"))
            .add(("Referrer-Policy", "no-referrer"))
            .add((
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
            ))
            .add(("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()"));
        if hsts {
            headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
        }
        let state_for_metrics = state.clone();
        App::new()
            .app_data(state.clone())
            // Handlers read bodies through `body::Bodies`; this bounds any that
            // would still take `web::Bytes`.
            .app_data(web::PayloadConfig::new(
                body::SMALL_BODY.min(limits.body_bytes),
            ))
            .app_data(
                web::JsonConfig::default()
                    .limit(limits.body_bytes)
                    .error_handler(error::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .wrap(middleware::ErrorHandlers::new().default_handler(error::json_fallback))
            // Outside the error rewriting, so rewritten errors carry it too.
            .wrap(middleware::from_fn(api::no_store))
            .wrap(headers)
            .wrap_fn(move |req, srv| {
                use actix_web::dev::Service;
                let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                let start = Instant::now();
                let m = state_for_metrics.clone();
                let fut = srv.call(req);
                async move {
                    let res = fut.await;
                    let status = match &res {
                        Ok(r) => r.status().as_u16(),
                        Err(e) => e.as_response_error().status_code().as_u16(),
                    };
                    m.metrics
                        .observe(&route, status, start.elapsed().as_secs_f64());
                    res
                }
            })
            .wrap(middleware::from_fn(request_log::log))
            .configure(api::configure)
            .service(api::service::static_files(&static_dir))
    };
    let settings = listen::Settings {
        workers,
        // Per worker: together they stay within the open-files limit, so an
        // accept never fails for want of a descriptor; the rest wait in the
        // backlog.
        max_connections_per_worker: max_connections.div_ceil(workers),
        backlog: 2048,
        head_timeout,
        disconnect_timeout: Duration::from_secs(1),
        keep_alive: Duration::from_secs(15),
        shutdown_timeout_secs: 30,
    };
    // `listen` rather than actix-web's `HttpServer`: the same settings, and
    // actix-http's own 400, 408 and 431 answered in JSON too.
    let server = listen::serve(listener, tls, settings, app)?;
    Ok(Running {
        server,
        setup_code,
        db,
    })
}
