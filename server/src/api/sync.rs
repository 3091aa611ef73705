//! Push and pull of ops.
//!
//! Push: a JSON body `{ "ops": [ ... ] }` (or a sync-core wire batch with
//! `Content-Type: application/octet-stream`). Each op gets its own result; a
//! bad op is quarantined and never stops the others; the response is sent
//! after the transaction is committed and on disk (`db/durable.rs`).
//! Pull: pages of ops after a cursor, only from the caller's operations.

use super::openapi::{answers, codes as errors};
use super::Audit;
use crate::auth::Auth;
use crate::db::{self, sync::Incoming};
use crate::domain::{Caller, DeviceId};
use crate::error::ApiError;
use crate::{now_rfc3339, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sync_core::{wire, Op};
use utoipa::IntoParams;

/// The ops of a JSON push, each kept as its raw text: parsing the body costs
/// about its own size (never a tree of values many times larger), and stops
/// at the first op over `max`.
struct RawOps<'a> {
    ops: Vec<&'a serde_json::value::RawValue>,
}

/// What `RawOps` parsing says when there are more ops than allowed.
const OVER_BATCH: &str = "aidant: more ops than allowed";

struct RawOpsSeed(usize);

impl<'de> serde::de::DeserializeSeed<'de> for RawOpsSeed {
    type Value = RawOps<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RawOpsSeed {
    type Value = RawOps<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with an ops array")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut ops = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "ops" {
                return Err(A::Error::unknown_field(&key, &["ops"]));
            }
            if ops.is_some() {
                return Err(A::Error::duplicate_field("ops"));
            }
            ops = Some(map.next_value_seed(OpsSeq(self.0))?);
        }
        Ok(RawOps {
            ops: ops.ok_or_else(|| A::Error::missing_field("ops"))?,
        })
    }
}

struct OpsSeq(usize);

impl<'de> serde::de::DeserializeSeed<'de> for OpsSeq {
    type Value = Vec<&'de serde_json::value::RawValue>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OpsSeq {
    type Value = Vec<&'de serde_json::value::RawValue>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of ops")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
        while let Some(op) = seq.next_element()? {
            if out.len() == self.0 {
                return Err(serde::de::Error::custom(OVER_BATCH));
            }
            out.push(op);
        }
        Ok(out)
    }
}

/// True when JSON text nests arrays and objects deeper than serde_json
/// parses (128), whatever its shape: such a body is refused as malformed.
fn too_deep(json: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    for &b in json {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                if depth > 128 {
                    return true;
                }
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn batch_too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
        format!("more than {max} ops in one push; at most {max} allowed"),
    )
}

fn incoming(req: &HttpRequest, body: &[u8], max: usize) -> Result<Vec<Incoming>, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    parse_push(ct, body, max)
}

/// A push body of content type `ct` as ops, at most `max` of them: each op
/// parsed or kept as malformed, or the whole body refused (a 4xx).
pub fn parse_push(ct: &str, body: &[u8], max: usize) -> Result<Vec<Incoming>, ApiError> {
    if ct.starts_with("application/octet-stream") {
        // The op limit is checked while decoding, before ops are built.
        let ops = wire::decode_limited(body, max).map_err(|e| match e {
            wire::WireError::TooManyOps { .. } => batch_too_large(max),
            e => ApiError::bad_request("malformed_batch", e.to_string()),
        })?;
        return Ok(ops.into_iter().map(Incoming::Op).collect());
    }
    if !ct.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json or application/octet-stream",
        ));
    }
    if too_deep(body) {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the JSON is nested more than 128 levels deep",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::de::DeserializeSeed::deserialize(RawOpsSeed(max), &mut de)
        .and_then(|b| de.end().map(|()| b));
    let b = match parsed {
        Ok(b) => b,
        Err(e) if e.to_string().starts_with(OVER_BATCH) => return Err(batch_too_large(max)),
        Err(e) if e.is_data() => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                e.to_string(),
            ))
        }
        Err(e) => return Err(ApiError::bad_request("malformed_json", e.to_string())),
    };
    Ok(b.ops
        .into_iter()
        .map(|v| match serde_json::from_str::<Op>(v.get()) {
            Ok(op) => Incoming::Op(op),
            Err(e) => {
                let text = v.get();
                // Cut on a character boundary (slicing panics inside one).
                let mut end = text.len().min(4_096);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Incoming::Malformed {
                    raw: text[..end].to_owned(),
                    message: format!("not an op: {e}"),
                }
            }
        })
        .collect())
}

/// Sync is for enrolled phones: a person's browser session reads through the
/// audited visit and export routes instead, never op by op.
fn device_of(caller: &Caller) -> Result<DeviceId, ApiError> {
    caller.device.ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "device_required",
            "only an enrolled phone can sync; people read visits on the admin pages",
        )
    })
}

/// `POST /api/v1/sync/push`.
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync", operation_id = "push",
    summary = "Push ops", description = "Device tokens only. Each op is answered on its own (`PushResult`); \
        a refused op is quarantined and never stops the others. The body is JSON, or a sync-core wire \
        batch as `application/octet-stream`.",
    security(("bearer" = [])),
    request_body(content(
        (answers::PushRequest = "application/json"),
        (answers::Binary = "application/octet-stream"),
    )),
    responses((status = 200, description = "One result per item, in order.", body = answers::PushResponse), errors::Push))]
pub async fn push(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = auth.0;
    let device = device_of(&caller)?;
    let body = state
        .bodies
        .read(&req, payload, crate::body::Kind::Push, &caller.actor())
        .await?;
    let items = incoming(&req, &body, state.config.limits.batch_ops)?;
    drop(body);
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|i| match i {
            Incoming::Op(op) => Some(op.id.to_string()),
            Incoming::Malformed { .. } => None,
        })
        .collect();
    let who = db::sync::Pusher::Device {
        device,
        replica: caller.replica.unwrap_or(device.0),
        user: caller.user.id,
        role: caller.user.role,
    };
    let actor = caller.actor();
    let now = now_rfc3339();
    // Grouped: at the end of a shift every phone pushes at once, and the
    // pushes queued meanwhile share one commit (db/group.rs).
    let results = state
        .db
        .write_grouped(move |tx| -> Result<_, db::DbError> {
            let results = crate::ledger::push(tx, &who, items, &now)?;
            let count =
                |f: fn(&db::sync::PushResult) -> bool| results.iter().filter(|r| f(r)).count();
            let detail = serde_json::json!({
                "ops": results.len(),
                "accepted": count(|r| matches!(r, db::sync::PushResult::Accepted)),
                "duplicate": count(|r| matches!(r, db::sync::PushResult::Duplicate)),
                "rejected": count(|r| matches!(r, db::sync::PushResult::Rejected { .. })),
            });
            db::people::touch_device(tx, device, &now)?;
            Audit::new(&actor, "sync.push", format!("device:{device}"))
                .detail(&detail)
                .append(tx, &now)?;
            Ok(results)
        })
        .await?;
    let mut accepted = 0;
    let mut duplicates = 0;
    let mut rejected = 0;
    let out: Vec<serde_json::Value> = results
        .iter()
        .zip(ids)
        .map(|(r, id)| {
            match r {
                db::sync::PushResult::Accepted => accepted += 1,
                db::sync::PushResult::Duplicate => duplicates += 1,
                db::sync::PushResult::Rejected { .. } => rejected += 1,
            }
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["op"] = id.map_or(serde_json::Value::Null, serde_json::Value::String);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "results": out,
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": rejected,
    })))
}

/// Where a pull starts and how much it takes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// The cursor of the last page already held (0: from the start). Ops
    /// stored together (a push's ops of one visit) share a cursor.
    #[serde(default)]
    #[param(minimum = 0, required = false)]
    after: i64,
    /// Page size in ops, clamped to 1..=`--page-max` (default 500). Ops
    /// sharing a cursor come in one page, so a page of them alone (up to
    /// 128, or a visit's history on a grant) can be longer.
    #[serde(default)]
    limit: Option<i64>,
    /// The last of its own ops the phone holds in an unbroken run: its own
    /// ops after it come back (a phone restored from an old backup).
    #[serde(default)]
    #[param(minimum = 0)]
    mine: Option<i64>,
    /// `json` (default) or `wire` (sync-core's compact batch; the cursor and
    /// whether more follow are then in `X-Aidant-Cursor` / `X-Aidant-More`).
    #[serde(default)]
    #[param(pattern = "^(json|wire)$")]
    format: Option<String>,
}

/// `GET /api/v1/sync/pull?after=CURSOR&limit=N[&mine=SEQ]`: what the phone
/// holds (see `permissions`), never its own ops up to `mine` (all of them
/// without it). A page that carries ops is audited
/// (who, how many ops and visits, which cursors), as every read of records is.
#[utoipa::path(get, path = "/api/v1/sync/pull", tag = "sync", operation_id = "pull",
    summary = "Pull ops", description = "Device tokens only.", security(("bearer" = [])), params(PullQuery),
    responses(
        (status = 200, description = "A page of ops.", content(
            (answers::PullResponse = "application/json"),
            (answers::Binary = "application/octet-stream"),
        )),
        errors::Pull,
    ))]
pub async fn pull(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    q: web::Query<PullQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = auth.0;
    let device = device_of(&caller)?;
    if q.after < 0 || q.mine.is_some_and(|m| m < 0) {
        return Err(ApiError::bad_request(
            "bad_query",
            "after and mine must be 0 or more",
        ));
    }
    let limit = q
        .limit
        .unwrap_or(500)
        .clamp(1, state.config.limits.page_max);
    let wire_format = match q.format.as_deref() {
        None | Some("json") => false,
        Some("wire") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_query",
                "format must be json or wire",
            ))
        }
    };
    let (after, mine) = (q.after, q.mine);
    let user = caller.user.id;
    let replica = caller.replica.unwrap_or(device.0);
    // Pages are read on a reader connection; "last seen" is written at most
    // once a minute per device, so pulls do not queue behind pushes.
    let page = state
        .db
        .read(move |c| db::sync::pull(c, (replica, mine), user, after, limit))
        .await?;
    let touch = state.due_for_last_seen(device);
    if touch || !page.ops.is_empty() {
        let detail = serde_json::json!({
            "ops": page.ops.len(),
            "visits": page.visits,
            "after": after,
            "cursor": page.cursor,
        });
        let read = (!page.ops.is_empty()).then_some(("sync.pull", detail));
        book_read(&state, &caller, device, touch, read).await?;
    }
    let cursor = page.cursor;
    if wire_format {
        let mut r = HttpResponse::Ok();
        r.content_type("application/octet-stream")
            .insert_header(("X-Aidant-Cursor", cursor.to_string()))
            .insert_header(("X-Aidant-More", page.more.to_string()));
        return Ok(gzipped(&req, r, wire::encode(&page.ops)));
    }
    // Ops are stored as wire bytes: JSON is rendered here.
    let body = serde_json::to_vec(&serde_json::json!({
        "ops": page.ops,
        "cursor": cursor,
        "more": page.more,
    }))
    .map_err(|e| ApiError::internal(format!("rendering a pull: {e}")))?;
    let mut r = HttpResponse::Ok();
    r.content_type("application/json");
    Ok(gzipped(&req, r, body))
}

/// Where a snapshot page starts.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// The previous page's `X-Aidant-Next` (empty or absent: the first page).
    #[serde(default)]
    #[param(format = Uuid)]
    after_visit: Option<String>,
    /// Visits, clamped to 1..=`--page-max` (default 200).
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/sync/snapshot?after_visit=ID&limit=N`: a new phone's first
/// sync. The merged state of each visit the phone holds (the pull rule), as
/// a sync-core snapshot batch, by visit id: about the size of automerge's
/// document per visit gzipped, where the whole history is larger (the peers
/// benchmark). `X-Aidant-Cursor` is where the phone's pulls then start (the
/// first page's); `X-Aidant-Next`, when present, is the `after_visit` of the
/// next page. Audited like a pull.
#[utoipa::path(get, path = "/api/v1/sync/snapshot", tag = "sync", operation_id = "snapshot",
    summary = "A new phone's first sync", description = "Device tokens only.", security(("bearer" = [])),
    params(SnapshotQuery),
    responses((status = 200, description = "A page of visit states (a sync-core snapshot batch).", body = answers::Binary,
        content_type = "application/octet-stream"), errors::Pull))]
pub async fn snapshot(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    q: web::Query<SnapshotQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = auth.0;
    let device = device_of(&caller)?;
    let after =
        match q.after_visit.as_deref() {
            None | Some("") => None,
            Some(s) => Some(s.parse::<sync_core::VisitId>().map_err(|_| {
                ApiError::bad_request("bad_query", "after_visit must be a visit id")
            })?),
        };
    let limit = q
        .limit
        .unwrap_or(200)
        .clamp(1, state.config.limits.page_max);
    let user = caller.user.id;
    let (page, visits) = state
        .db
        .read(move |c| {
            let page = db::bootstrap::snapshot_page(c, user, after, limit)?;
            let mut visits = Vec::with_capacity(page.visits.len());
            for id in &page.visits {
                visits.extend(crate::ledger::visit(c, *id)?);
            }
            Ok::<_, db::DbError>((page, visits))
        })
        .await?;
    let touch = state.due_for_last_seen(device);
    if touch || !visits.is_empty() {
        let detail = serde_json::json!({
            "visits": visits.len(),
            "after_visit": after,
            "cursor": page.cursor,
        });
        let read = (!visits.is_empty()).then_some(("sync.snapshot", detail));
        book_read(&state, &caller, device, touch, read).await?;
    }
    let mut r = HttpResponse::Ok();
    r.content_type("application/octet-stream")
        .insert_header(("X-Aidant-Cursor", page.cursor.to_string()));
    if let Some(next) = page.next {
        r.insert_header(("X-Aidant-Next", next.to_string()));
    }
    Ok(gzipped(&req, r, sync_core::snapshot::encode(&visits)))
}

/// A page's body, gzipped when the phone accepts gzip and the page is big
/// enough to gain (a new phone's first sync is mostly history: about a
/// sixth of its size gzipped, see the peers benchmark). A page is at most
/// `page_max` ops, so the work is bounded.
fn gzipped(
    req: &HttpRequest,
    mut r: actix_web::HttpResponseBuilder,
    body: Vec<u8>,
) -> HttpResponse {
    use std::io::Write;
    let accepts = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    r.insert_header((header::VARY, "Accept-Encoding"));
    if !accepts || body.len() < 1024 {
        return r.body(body);
    }
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    match z.write_all(&body).and_then(|()| z.finish()) {
        Ok(small) => r
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(small),
        // Writing to memory does not fail; if it ever did, send it plain.
        Err(_) => r.body(body),
    }
}

/// A phone's read's bookkeeping: its last-seen time when `touch`, and the
/// audit row of what it was sent (`action`, `detail`) when it was sent
/// records. Bookkeeping never fails a read: with the disk full the page is
/// still served, and what the audit row would say goes to the log.
pub(super) async fn book_read(
    state: &AppState,
    caller: &Caller,
    device: DeviceId,
    touch: bool,
    read: Option<(&'static str, serde_json::Value)>,
) -> Result<(), ApiError> {
    let now = now_rfc3339();
    let actor = caller.actor();
    let action = read.as_ref().map_or("", |(a, _)| *a);
    let log_detail = read
        .as_ref()
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let log_actor = actor.clone();
    let booked = state
        .db
        .write(move |tx| -> Result<_, db::DbError> {
            if touch {
                db::people::touch_device(tx, device, &now)?;
            }
            if let Some((action, detail)) = &read {
                Audit::new(&actor, action, format!("device:{device}"))
                    .reason("sync to the officer's phone")
                    .detail(detail)
                    .append(tx, &now)?;
            }
            Ok(())
        })
        .await;
    match booked {
        Ok(()) => Ok(()),
        Err(e) if e.is_storage_full() => {
            tracing::warn!(
                actor = %log_actor,
                device = %device,
                action,
                detail = %log_detail,
                audited = false,
                "a phone's sync read was served without its last-seen time and audit row: the database is full"
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/sync/rekey`: a phone whose pushes came back `id_reused` (it
/// was restored from an old copy and numbered new edits with ids the server
/// already holds) gets a fresh replica id. It re-issues its refused and
/// unsent edits under it (sync-core's `Replica::rekey`) and pulls from the
/// start, which now brings the server's versions of its old ids.
#[utoipa::path(post, path = "/api/v1/sync/rekey", tag = "sync", operation_id = "rekeyDevice",
    summary = "A fresh replica id", description = "Device tokens only. Audited.", security(("bearer" = [])),
    responses((status = 200, description = "The new replica id.", body = answers::Rekeyed), errors::Rekey))]
pub async fn rekey(auth: Auth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = auth.0;
    let device = device_of(&caller)?;
    let actor = caller.actor();
    let old = caller.replica.unwrap_or(device.0);
    let now = now_rfc3339();
    let replica = state
        .db
        .write(move |tx| -> Result<_, db::DbError> {
            let replica = db::people::rekey_device(tx, device)?;
            Audit::new(&actor, "device.rekey", format!("device:{device}"))
                .reason("the phone reused op ids (restored from an old copy?)")
                .detail(&serde_json::json!({ "from": old, "to": replica }))
                .append(tx, &now)?;
            Ok(replica)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "replica_id": replica })))
}

#[cfg(test)]
#[path = "sync_fuzz.rs"]
mod fuzz;
