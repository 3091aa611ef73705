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
//! - the bytes of every body being read at once count against one budget
//!   (`--body-budget`): a body takes its declared length before a byte is
//!   read, and waits (reading nothing) while the budget is taken, until its
//!   deadline: then 503 `server_busy` with `Retry-After`. (Capping the
//!   waiters and refusing the rest at once was measured: no less memory, as
//!   refused uploads are still read while they are answered and closed, and
//!   the reconnecting attackers' churn doubled the honest p99.) So memory stays
//!   bounded however many uploads are open, and a stalled attacker holds a
//!   socket, not memory. The budget's last eighth is kept for bodies of at
//!   most [`SMALL_BODY`] (everyday pushes, logins), so large uploads filling
//!   the rest never hold those up;
//! - one caller (a signed-in user or device, or a source address before
//!   sign-in) reads at most [`PER_CALLER`] bodies at once; more wait likewise
//!   (429 at the deadline), so one stolen token cannot take the whole budget.
//!
//! The bytes and their share of the budget are given back when the [`Body`]
//! is dropped, at the end of the handler or when the client goes away.

use crate::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// One share of the budget, in bytes (a semaphore of bytes).
struct Pool {
    sem: Arc<Semaphore>,
    size: usize,
}

impl Pool {
    fn new(size: usize) -> Self {
        Self {
            sem: Arc::new(Semaphore::new(size)),
            size,
        }
    }
    fn held(&self) -> usize {
        self.size - self.sem.available_permits()
    }
    /// `n` bytes, clamped to what the pool could ever give.
    fn permits(&self, n: usize) -> u32 {
        u32::try_from(n.min(self.size)).unwrap_or(u32::MAX)
    }
}

/// The shared state: the budget's two pools and the bodies each caller is
/// sending.
pub struct Bodies {
    limits: BodyLimits,
    /// The budget's last eighth, for bodies of at most [`SMALL_BODY`].
    small: Pool,
    /// The rest, for larger ones.
    large: Pool,
    callers: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Refusals for want of budget, logged at most once per [`LOG_EVERY`].
    refusals: Throttled,
}

/// Refusals for want of budget are logged at most this often, with how many
/// there were since the last line (a flood of uploads must not flood the log).
pub const LOG_EVERY: Duration = Duration::from_secs(5);

/// A count of events logged at most once per [`LOG_EVERY`].
#[derive(Default)]
struct Throttled {
    /// Events since the last line, and when that line was written.
    state: Mutex<(u64, Option<Instant>)>,
}

impl Throttled {
    /// Counts one event at `now`; `Some(count)` (this one included) when a
    /// line is due.
    fn note(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        if s.1.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
            return None;
        }
        let n = std::mem::take(&mut s.0);
        s.1 = Some(now);
        Some(n)
    }
}

/// A body read whole; derefs to its bytes. Holds its share of the budget
/// and its caller's slot until dropped.
pub struct Body {
    bytes: Bytes,
    _held: Vec<OwnedSemaphorePermit>,
    _slot: OwnedSemaphorePermit,
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is over {limit} bytes, the most this endpoint accepts"),
    )
}

fn busy() -> ApiError {
    ApiError::server_busy(
        2,
        "the server is receiving too much at once; try again shortly",
    )
}

impl Bodies {
    /// Bodies read under `limits`.
    pub fn new(limits: BodyLimits) -> Self {
        let small = limits.budget / 8;
        Self {
            small: Pool::new(small),
            large: Pool::new(limits.budget - small),
            limits,
            callers: Default::default(),
            refusals: Throttled::default(),
        }
    }

    /// Bytes held by bodies being read or handled now.
    pub fn held(&self) -> usize {
        self.small.held() + self.large.held()
    }

    /// The largest body a route of `kind` takes.
    pub fn limit(&self, kind: Kind) -> usize {
        match kind {
            Kind::Push => self.limits.push_bytes,
            Kind::Small => SMALL_BODY.min(self.limits.push_bytes),
        }
    }

    /// The caller's slots (created on first use; forgotten when all are free).
    fn slots(&self, caller: &str) -> Arc<Semaphore> {
        let mut m = self.callers.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, s| {
                Arc::strong_count(s) > 1 || s.available_permits() < PER_CALLER as usize
            });
        }
        m.entry(caller.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_CALLER as usize)))
            .clone()
    }

    /// Reads the body of `req` from `payload` under the limits of `kind`,
    /// for `caller` (a stable key: the signed-in user or device, or `ip:…`).
    ///
    /// A request over its caller's [`PER_CALLER`], or whose declared length
    /// does not fit in the budget now, waits (reading nothing, so it costs
    /// little more than its socket) until it can go on or its deadline has
    /// passed: then 429 or 503. A slow or stalled attacker therefore holds
    /// a connection, not memory, and does not churn.
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
        let length = length.map(|n| n as usize);
        let deadline = Instant::now() + self.limits.deadline;
        let left = || deadline.saturating_duration_since(Instant::now());
        let slot = actix_web::rt::time::timeout(left(), self.slots(caller).acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                ApiError::rate_limited_with(
                    1,
                    "too many requests from this caller at once; wait for one to finish",
                )
            })?;
        let mut held = Vec::new();
        if let Some(n) = length.filter(|n| *n > 0) {
            let pool = if n <= SMALL_BODY {
                &self.small
            } else {
                &self.large
            };
            let permit = actix_web::rt::time::timeout(
                left(),
                pool.sem.clone().acquire_many_owned(pool.permits(n)),
            )
            .await
            .ok()
            .and_then(Result::ok);
            let permit = permit.ok_or_else(|| {
                if let Some(refused) = self.refusals.note(Instant::now()) {
                    tracing::warn!(
                        refused,
                        bytes = n,
                        held = self.held(),
                        budget = self.limits.budget,
                        "request bodies over the memory budget until their deadline; \
                         refused (503) this many since the last such line"
                    );
                }
                busy()
            })?;
            held.push(permit);
        }
        // Room is there: the connection may read the body now (see
        // `crate::listen::gate`).
        if let Some(gate) = req.conn_data::<crate::listen::gate::Gate>() {
            gate.open();
        }
        // A declared length has its budget by now: one buffer of that size,
        // never grown (growing by doubling copies and leaves holes behind).
        let mut buf = BytesMut::with_capacity(length.unwrap_or(8 * 1024));
        let start = Instant::now();
        loop {
            let mut until = deadline;
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
            if buf.len() + chunk.len() > length.unwrap_or(limit).min(limit) {
                return Err(too_large(limit));
            }
            if length.is_none() {
                // Streamed without a length: each chunk takes its share as it
                // comes, or the request ends here.
                let pool = if buf.len() + chunk.len() <= SMALL_BODY {
                    &self.small
                } else {
                    &self.large
                };
                let permit = pool
                    .sem
                    .clone()
                    .try_acquire_many_owned(pool.permits(chunk.len()))
                    .map_err(|_| busy())?;
                held.push(permit);
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

#[cfg(test)]
mod tests {
    use super::{Throttled, LOG_EVERY};
    use std::time::{Duration, Instant};

    /// A flood of refusals gives one line per interval, each with the count
    /// since the one before; nothing is lost from the counts.
    #[test]
    fn a_flood_of_refusals_logs_one_line_per_interval_with_its_count() {
        let t = Throttled::default();
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        let lines: Vec<_> = (0..1_000u64)
            .filter_map(|i| t.note(ms(i * 20)).map(|n| (i, n)))
            .collect();
        // 20 s of refusals every 20 ms: a line at 0 s, 5 s, 10 s, 15 s.
        let every = LOG_EVERY.as_millis() as u64 / 20;
        assert_eq!(
            lines,
            vec![
                (0, 1),
                (every, every),
                (2 * every, every),
                (3 * every, every)
            ]
        );
        // After a quiet spell the next refusal is logged at once, with the
        // ones left uncounted at the end of the flood.
        let left = 1_000 - 3 * every - 1;
        assert_eq!(t.note(ms(60_000)), Some(left + 1));
    }
}
