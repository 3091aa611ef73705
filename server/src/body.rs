//! Reading request bodies so that a slow or hostile client can neither hold a
//! request open for long nor make the server buffer more than it allows.
//!
//! Every handler that takes a body reads it with [`Bodies::read`], after the
//! caller is known (so a push with an unknown token costs no buffering):
//! - a `Content-Length` over the route's limit is refused before a byte is
//!   read, and a streamed body as soon as it crosses the limit (413);
//! - the whole body must arrive within the request deadline
//!   (`--request-timeout`, counted from the moment the handler starts to read
//!   it, just after the head), and, after a short grace, at an average of at
//!   least `--min-body-rate` bytes a second (408 `request_timeout` otherwise);
//! - the bytes held by every body being read at once count against one
//!   budget (`--body-budget`); a chunk that would go over it ends its request
//!   with 503 `server_busy` and `Retry-After`, so memory stays bounded however
//!   many uploads are open;
//! - one caller (a signed-in user or device, or a source address before
//!   sign-in) reads at most [`PER_CALLER`] bodies at once (429 beyond), so one
//!   stolen token cannot take the whole budget from everyone else.
//!
//! The bytes and their share of the budget are given back when the [`Body`]
//! is dropped, at the end of the handler or when the client goes away.

use crate::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bodies one caller may be sending at once.
pub const PER_CALLER: u32 = 4;
/// Largest body of any route but a push (logins, admin forms, reviews).
pub const SMALL_BODY: usize = 64 * 1024;
/// Time a body may take before the minimum rate applies (a phone's radio
/// waking up, a TCP window opening).
pub const GRACE: Duration = Duration::from_secs(5);

/// How a server reads bodies.
#[derive(Clone, Debug)]
pub struct BodyLimits {
    /// Largest push body, bytes.
    pub push_bytes: usize,
    /// A whole body must arrive within this.
    pub deadline: Duration,
    /// After [`GRACE`], at least this many bytes a second on average (0: no
    /// minimum).
    pub min_rate: u64,
    /// Bytes all bodies being read may hold at once.
    pub budget: usize,
}

/// Which limit a route's body has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A push: up to `--max-body`.
    Push,
    /// Anything else: up to [`SMALL_BODY`] (or `--max-body` if smaller).
    Small,
}

/// The shared state: the budget in use and the bodies each caller is sending.
pub struct Bodies {
    limits: BodyLimits,
    held: Arc<AtomicUsize>,
    callers: Arc<Mutex<HashMap<String, u32>>>,
}

/// A body read whole; derefs to its bytes. Holds its share of the budget
/// and its caller's slot until dropped.
pub struct Body {
    bytes: Bytes,
    _held: Held,
    _slot: Slot,
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Bytes counted against the budget, given back on drop.
struct Held {
    budget: Arc<AtomicUsize>,
    n: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.n, Ordering::AcqRel);
    }
}

/// One of a caller's [`PER_CALLER`] slots, given back on drop.
struct Slot {
    callers: Arc<Mutex<HashMap<String, u32>>>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.callers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is over {limit} bytes, the most this endpoint accepts"),
    )
}

impl Bodies {
    /// Bodies read under `limits`.
    pub fn new(limits: BodyLimits) -> Self {
        Self {
            limits,
            held: Arc::new(AtomicUsize::new(0)),
            callers: Default::default(),
        }
    }

    /// Bytes held by bodies being read or handled now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The largest body a route of `kind` takes.
    pub fn limit(&self, kind: Kind) -> usize {
        match kind {
            Kind::Push => self.limits.push_bytes,
            Kind::Small => SMALL_BODY.min(self.limits.push_bytes),
        }
    }

    fn slot(&self, caller: &str) -> Result<Slot, ApiError> {
        let mut m = self.callers.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(caller.to_owned()).or_insert(0);
        if *n >= PER_CALLER {
            return Err(ApiError::rate_limited_with(
                1,
                "too many requests from this caller at once; wait for one to finish",
            ));
        }
        *n += 1;
        Ok(Slot {
            callers: self.callers.clone(),
            key: caller.to_owned(),
        })
    }

    /// Reads the body of `req` from `payload` under the limits of `kind`,
    /// for `caller` (a stable key: the signed-in user or device, or `ip:…`).
    pub async fn read(
        &self,
        req: &HttpRequest,
        mut payload: web::Payload,
        kind: Kind,
        caller: &str,
    ) -> Result<Body, ApiError> {
        let limit = self.limit(kind);
        let length = match req.headers().get(header::CONTENT_LENGTH) {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request("bad_body", "Content-Length is not a number")
                    })?,
            ),
            None => None,
        };
        if length.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let slot = self.slot(caller)?;
        let mut held = Held {
            budget: self.held.clone(),
            n: 0,
        };
        // Sized from the claim only up to 64 KiB: a claim costs nothing until
        // its bytes arrive.
        let mut buf = BytesMut::with_capacity(length.map_or(8 * 1024, |n| n.min(65_536) as usize));
        let start = Instant::now();
        let hard = start + self.limits.deadline;
        loop {
            let mut until = hard;
            if self.limits.min_rate > 0 {
                let by_rate = start
                    + GRACE
                    + Duration::from_secs_f64(buf.len() as f64 / self.limits.min_rate as f64);
                until = until.min(by_rate);
            }
            let wait = until.saturating_duration_since(Instant::now());
            let next = actix_web::rt::time::timeout(wait, payload.next()).await;
            let chunk = match next {
                Err(_) => return Err(self.too_slow(buf.len())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(payload_error(e, limit)),
                Ok(Some(Ok(chunk))) => chunk,
            };
            if buf.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            let n = chunk.len();
            let was = self.held.fetch_add(n, Ordering::AcqRel);
            held.n += n;
            if was + n > self.limits.budget {
                tracing::warn!(
                    held = was + n,
                    budget = self.limits.budget,
                    "request bodies over the memory budget; refusing one"
                );
                return Err(ApiError::server_busy(
                    2,
                    "the server is receiving too much at once; try again shortly",
                ));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Body {
            bytes: buf.freeze(),
            _held: held,
            _slot: slot,
        })
    }

    fn too_slow(&self, got: usize) -> ApiError {
        tracing::info!(bytes = got, "request body too slow; closing");
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body arrived too slowly (a body must arrive within {} s, at {} bytes a second or more)",
                self.limits.deadline.as_secs(),
                self.limits.min_rate
            ),
        )
    }
}

fn payload_error(e: actix_web::error::PayloadError, limit: usize) -> ApiError {
    use actix_web::error::PayloadError as P;
    match e {
        P::Overflow => too_large(limit),
        other => ApiError::bad_request("bad_body", format!("the body could not be read: {other}")),
    }
}
