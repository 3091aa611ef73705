//! wasm-bindgen bindings over sync-core for the field client. Thin: every
//! merge decision is sync-core's; JavaScript passes ids, the time and JSON.
//! Errors reach JavaScript as `Error`s with a stable `code` property.

mod error;
mod interop;

use error::ClientError;
use interop::{from_json, parse_id, to_json};
use sync_core::checks::{self, Dates};
use sync_core::summary::{day_summary, LocalDate};
use sync_core::{
    wire, LocationKind, OperationId, PersonId, Replica, ReplicaId, SaveMark, SetTarget, Status,
    Target, Value, VisitId, VisitView,
};
use wasm_bindgen::prelude::*;

/// One device's store of visits: a sync-core replica, and how much of it
/// is known to be on disk (for incremental saves: a base and chunks).
#[wasm_bindgen]
pub struct Store {
    replica: Replica,
    /// What the last committed save (full or chunk) covered.
    saved: SaveMark,
    /// What the save handed out last covers, until `markSaved`.
    pending: Option<SaveMark>,
}

impl Store {
    fn of(replica: Replica) -> Store {
        Store {
            saved: replica.save_mark(),
            replica,
            pending: None,
        }
    }
}

/// The operation's dates for the checks: both or neither.
fn dates(starts_on: Option<String>, ends_on: Option<String>) -> Result<Option<Dates>, ClientError> {
    let parse = |s: &str| {
        LocalDate::parse(s).ok_or_else(|| ClientError::new("bad_date", "dates must be YYYY-MM-DD"))
    };
    match (starts_on.as_deref(), ends_on.as_deref()) {
        (Some(s), Some(e)) => Ok(Some(Dates {
            starts_on: parse(s)?,
            ends_on: parse(e)?,
        })),
        _ => Ok(None),
    }
}

fn now(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

#[wasm_bindgen]
impl Store {
    /// A new, empty store for this device's replica id (a UUID).
    #[wasm_bindgen(constructor)]
    pub fn new(replica_id: &str) -> Result<Store, JsValue> {
        let id: ReplicaId = parse_id(replica_id, "replica id")?;
        Ok(Store {
            replica: Replica::new(id),
            saved: SaveMark::default(),
            pending: None,
        })
    }

    /// Opens a store from bytes made by `save` (the base).
    pub fn load(bytes: &[u8]) -> Result<Store, JsValue> {
        let replica = Replica::load(bytes).map_err(|e| ClientError::new("corrupt_store", e))?;
        Ok(Store::of(replica))
    }

    /// Applies a chunk made by `saveChunk`, after the base and the chunks
    /// before it; returns how many ops were new. A damaged chunk is a
    /// `corrupt_store` error and applies nothing.
    #[wasm_bindgen(js_name = loadChunk)]
    pub fn load_chunk(&mut self, bytes: &[u8]) -> Result<u32, JsValue> {
        let new = self
            .replica
            .load_chunk(bytes)
            .map_err(|e| ClientError::new("corrupt_store", e))?;
        self.saved = self.replica.save_mark();
        Ok(new as u32)
    }

    /// The whole store's bytes to persist (the base). Call `markSaved` once
    /// they are committed.
    pub fn save(&mut self) -> Vec<u8> {
        self.pending = Some(self.replica.save_mark());
        self.replica.save()
    }

    /// The ops gained since the last committed save, as a chunk to append
    /// (`undefined` when there are none). Call `markSaved` once it is
    /// committed; until then the next chunk starts from the same point.
    #[wasm_bindgen(js_name = saveChunk)]
    pub fn save_chunk(&mut self) -> Option<Vec<u8>> {
        self.pending = Some(self.replica.save_mark());
        self.replica.save_chunk(&self.saved)
    }

    /// The ids of the visits touched since the last committed save, as a
    /// JSON array (what a home-screen index must refresh).
    #[wasm_bindgen(js_name = changedVisitsJson)]
    pub fn changed_visits_json(&self) -> Result<String, JsValue> {
        to_json(&self.replica.visits_since(&self.saved))
    }

    /// The save (or chunk) handed out last is committed.
    #[wasm_bindgen(js_name = markSaved)]
    pub fn mark_saved(&mut self) {
        if let Some(mark) = self.pending.take() {
            self.saved = mark;
        }
    }

    /// This device's replica id.
    #[wasm_bindgen(js_name = replicaId)]
    pub fn replica_id(&self) -> String {
        self.replica.id().to_string()
    }

    /// Creates a visit of a kind in an operation.
    #[wasm_bindgen(js_name = createVisit)]
    pub fn create_visit(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        operation_id: &str,
        kind: &str,
    ) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let op: OperationId = parse_id(operation_id, "operation id")?;
        self.replica
            .create_visit(now(now_ms), visit, op, LocationKind::parse(kind))
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Writes a field. `target` and `value` are sync-core JSON, e.g.
    /// `{"visit":"postcode"}` and `{"text":"OX1 1AA"}`.
    #[wasm_bindgen(js_name = setField)]
    pub fn set_field(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        target: &str,
        value: &str,
    ) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let target: Target = from_json(target, "target")?;
        let value: Value = from_json(value, "value")?;
        self.replica
            .set(now(now_ms), visit, target, value)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Adds an element to a set, e.g. set `{"visit":"indicators"}`.
    pub fn add(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        set: &str,
        elem: &str,
    ) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let set: SetTarget = from_json(set, "set")?;
        self.replica
            .add(now(now_ms), visit, set, elem)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Removes an element from a set (no-op when absent).
    pub fn remove(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        set: &str,
        elem: &str,
    ) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let set: SetTarget = from_json(set, "set")?;
        self.replica
            .remove(now(now_ms), visit, set, elem)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Records a person (id generated by the caller).
    #[wasm_bindgen(js_name = addPerson)]
    pub fn add_person(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        person_id: &str,
    ) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let person: PersonId = parse_id(person_id, "person id")?;
        self.replica
            .add_person(now(now_ms), visit, person)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Appends a note.
    pub fn note(&mut self, now_ms: f64, visit_id: &str, text: &str) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        self.replica
            .note(now(now_ms), visit, text)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// The checks before submit of a visit (sync-core's `checks::check`), as
    /// JSON `{"blocking": [..], "warnings": [..]}`; each problem is
    /// `{code, severity, message, person?}`. `starts_on`/`ends_on`: the
    /// operation's dates (`YYYY-MM-DD`), when known, for the date warning.
    #[wasm_bindgen(js_name = checksJson)]
    pub fn checks_json(
        &self,
        visit_id: &str,
        starts_on: Option<String>,
        ends_on: Option<String>,
    ) -> Result<String, JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let v = self
            .replica
            .visit(&visit)
            .ok_or_else(|| ClientError::new("unknown_visit", "no such visit on this device"))?;
        to_json(&checks::check(v, dates(starts_on, ends_on)?))
    }

    /// Submits (or, after a return, resubmits) a visit, unless its checks
    /// find a blocking problem: then nothing is written and the error's code
    /// is `blocking_problems` (its message lists them). Returns the checks
    /// as JSON (the warnings to show).
    pub fn submit(
        &mut self,
        now_ms: f64,
        visit_id: &str,
        starts_on: Option<String>,
        ends_on: Option<String>,
    ) -> Result<String, JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let dates = dates(starts_on, ends_on)?;
        let v = self
            .replica
            .visit(&visit)
            .ok_or_else(|| ClientError::new("unknown_visit", "no such visit on this device"))?;
        let c = checks::check(v, dates);
        if !c.can_submit() {
            let list: Vec<&str> = c.blocking.iter().map(|p| p.message.as_str()).collect();
            return Err(ClientError::new("blocking_problems", list.join("; ")).into());
        }
        let found = to_json(&c)?;
        self.replica
            .set_status(now(now_ms), visit, Status::Submitted)
            .map_err(ClientError::from)?;
        Ok(found)
    }

    /// Voids a visit with a reason (the record is kept). Whether this
    /// phone may is the server's permission table: the recording officer
    /// while a draft, supervisors and admins always.
    pub fn void(&mut self, now_ms: f64, visit_id: &str, reason: &str) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        self.replica
            .void(now(now_ms), visit, reason)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Un-voids a visit (a supervisor's or admin's act; the server refuses
    /// it from an officer's phone).
    pub fn unvoid(&mut self, now_ms: f64, visit_id: &str) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        self.replica
            .unvoid(now(now_ms), visit)
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// Moves the status forward (`submitted`, `reviewed`), in the round the
    /// visit is in (the next one after a return). Prefer `submit`, which
    /// runs the checks first.
    #[wasm_bindgen(js_name = setStatus)]
    pub fn set_status(&mut self, now_ms: f64, visit_id: &str, status: &str) -> Result<(), JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        self.replica
            .set_status(now(now_ms), visit, Status::parse(status))
            .map_err(ClientError::from)?;
        Ok(())
    }

    /// One visit with its conflicts, as JSON (sync-core's `VisitView`).
    #[wasm_bindgen(js_name = visitJson)]
    pub fn visit_json(&self, visit_id: &str) -> Result<String, JsValue> {
        let visit: VisitId = parse_id(visit_id, "visit id")?;
        let v = self
            .replica
            .visit(&visit)
            .ok_or_else(|| ClientError::new("unknown_visit", "no such visit on this device"))?;
        to_json(&VisitView::from(v))
    }

    /// Every visit, as a JSON array of `VisitView`s.
    #[wasm_bindgen(js_name = visitsJson)]
    pub fn visits_json(&self) -> Result<String, JsValue> {
        let all: Vec<VisitView> = self.replica.visits().map(VisitView::from).collect();
        to_json(&all)
    }

    /// The sequence number of this device's latest own op (0 before any).
    /// Own ops are numbered 1, 2, 3, … so `ownSeq() - acknowledged` is the
    /// number of changes not yet acknowledged by the server.
    #[wasm_bindgen(js_name = ownSeq)]
    pub fn own_seq(&self) -> f64 {
        self.replica.version_vector().get(&self.replica.id()) as f64
    }

    /// At most `max` of this device's own ops after sequence `seq` (those not
    /// yet acknowledged), in the compact wire format (the server's push takes
    /// it as `application/octet-stream`).
    #[wasm_bindgen(js_name = opsAfterWire)]
    pub fn ops_after_wire(&self, seq: f64, max: u32) -> Vec<u8> {
        wire::encode(self.replica.own_ops_after(now(seq)).take(max as usize))
    }

    /// The number of visits held (0 on a new phone, which starts from
    /// snapshots).
    #[wasm_bindgen(js_name = visitCount)]
    pub fn visit_count(&self) -> u32 {
        u32::try_from(self.replica.visits().count()).unwrap_or(u32::MAX)
    }

    /// Joins a snapshot batch (`GET /sync/snapshot`: a new phone's first
    /// sync, each visit's merged state without its history) into the store.
    /// Returns `{"changed": [visit ids], "skew": null | {"ahead_by_ms": n}}`
    /// as JSON. A chunk carries ops only, so the caller then saves whole.
    #[wasm_bindgen(js_name = adoptSnapshot)]
    pub fn adopt_snapshot(&mut self, now_ms: f64, bytes: &[u8]) -> Result<String, JsValue> {
        // A page is at most the server's page limit (1,000 visits).
        let visits = sync_core::snapshot::decode_limited(bytes, 10_000)
            .map_err(|e| ClientError::new("malformed_batch", e))?;
        let (changed, skew) = self.replica.adopt(now(now_ms), visits);
        to_json(&serde_json::json!({ "changed": changed, "skew": skew }))
    }

    /// Applies a wire batch; returns the per-op report as JSON.
    #[wasm_bindgen(js_name = applyWire)]
    pub fn apply_wire(&mut self, now_ms: f64, bytes: &[u8]) -> Result<String, JsValue> {
        let ops = wire::decode(bytes).map_err(|e| ClientError::new("malformed_batch", e))?;
        to_json(&self.replica.apply(now(now_ms), ops))
    }

    /// After the server refused some of this device's ops as reusing op ids
    /// (the phone was restored from an old copy): the store under the new
    /// replica id the server issued, with the refused ops (`refused_json`, a
    /// JSON array of sequence numbers) and those not yet pushed (after
    /// `pushed_up_to`) made again under it, nothing typed lost. The caller
    /// replaces its store with the result and pushes its own ops from 0.
    pub fn rekey(
        &self,
        new_replica_id: &str,
        refused_json: &str,
        pushed_up_to: f64,
    ) -> Result<Store, JsValue> {
        let id: ReplicaId = parse_id(new_replica_id, "replica id")?;
        let refused: Vec<u64> = from_json(refused_json, "refused sequence numbers")?;
        let (replica, _) = self.replica.rekey(id, &refused, now(pushed_up_to));
        // Nothing of the new store is on disk yet: its first save is whole.
        Ok(Store {
            replica,
            saved: SaveMark::default(),
            pending: None,
        })
    }

    /// Retention: forgets the synced visits (no own op after `acked_seq`)
    /// whose day plus their operation's retention period (`retention_json`:
    /// `{"<operation id>": days, …}`) is before today at `now_ms`. Returns
    /// how many were forgotten (0: the store is unchanged; otherwise save it).
    #[wasm_bindgen(js_name = forgetExpired)]
    pub fn forget_expired(
        &mut self,
        now_ms: f64,
        retention_json: &str,
        acked_seq: f64,
    ) -> Result<u32, JsValue> {
        let retention: std::collections::BTreeMap<OperationId, u32> =
            from_json(retention_json, "retention by operation")?;
        let gone = self
            .replica
            .expired(now(now_ms), &retention, now(acked_seq));
        if !gone.is_empty() {
            self.replica = self.replica.forget(&gone);
        }
        Ok(gone.len() as u32)
    }

    /// The provisional day summary of an operation for a Europe/London date
    /// (`YYYY-MM-DD`), as JSON.
    #[wasm_bindgen(js_name = daySummaryJson)]
    pub fn day_summary_json(&self, operation_id: &str, date: &str) -> Result<String, JsValue> {
        let op: OperationId = parse_id(operation_id, "operation id")?;
        let date = LocalDate::parse(date)
            .ok_or_else(|| ClientError::new("bad_date", "date must be YYYY-MM-DD"))?;
        to_json(&day_summary(self.replica.visits(), Some(op), date))
    }
}

/// The known identifiers of every vocabulary offered on a form
/// ([`sync_core::VOCABULARIES`]), as a JSON object of arrays
/// (`location_kind`, `indicator`, `safeguarding_action`, …): the screens
/// offer exactly what this build of sync-core knows.
#[wasm_bindgen(js_name = vocabularyJson)]
pub fn vocabulary_json() -> String {
    let lists = sync_core::VOCABULARIES.iter().filter(|v| v.on_forms);
    let mut out = String::from("{");
    for (i, v) in lists.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(v.name);
        out.push_str("\":");
        push_list(&mut out, v.known.iter().copied());
    }
    out.push('}');
    out
}

/// The indicators that apply to a kind of place, as a JSON array (general
/// ones first, then the kind's own).
#[wasm_bindgen(js_name = indicatorsFor)]
pub fn indicators_for(kind: &str) -> String {
    let kind = LocationKind::parse(kind);
    let mut out = String::new();
    push_list(
        &mut out,
        sync_core::Indicator::KNOWN
            .iter()
            .copied()
            .filter(|id| sync_core::Indicator::id_applies_to(id, &kind)),
    );
    out
}

/// Appends `["a","b"]`; vocabulary identifiers need no escaping.
fn push_list<'a>(out: &mut String, ids: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(id);
        out.push('"');
    }
    out.push(']');
}

/// Runs the shared benchmark script on `visits` records and returns its
/// measurement as JSON (timed with `performance.now()`).
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = benchScript)]
pub fn bench_script(visits: usize) -> String {
    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance)]
        fn now() -> f64;
    }
    let m = tests::script::run_sync_core(visits, &mut || now() * 1000.0);
    format!(
        "{{\"visits\":{},\"edit_us\":{},\"merge_us\":{},\"delta_bytes\":{},\"record_bytes\":{}}}",
        m.visits,
        m.edit_us(),
        m.merge_total_us,
        m.delta_bytes(),
        m.record_bytes
    )
}
