//! The compact binary wire format for batches of ops.
//!
//! Wire layout is separate from the in-memory [`Op`]; [`encode`] and [`decode`]
//! convert explicitly, with no intermediate allocations on the encode side.
//!
//! ```text
//! batch   := version:u8  table(replicas)  table(visits)  table(others)  n_runs:v  run*
//! table   := n:v  uuid[16]*
//! run     := replica:v  first_seq:v  n_ops:v  op*
//! op      := head:v  [counter:v]  [visit:v]  opcode:u8  body
//!            head = zigzag(wall - previous wall) << 2 | has_counter << 1 | visit_changed
//! body    := by opcode: 0 create other:v | 1 set-visit sym value preds
//!            | 2 set-person other:v sym value preds | 3 set-arrests sym value preds
//!            | 4 add-visit sym sym | 5 add-person-set other:v sym sym
//!            | 6 remove-visit sym sym preds | 7 remove-person-set other:v sym sym preds
//!            | 8 add-person other:v | 9 note str | 10 status sym
//!            | 11 status-in-round sym round:v reason
//! reason  := 0 (none) | 1 str
//! sym     := v = index << 1 (known identifier) | len << 1 | 1 followed by UTF-8
//! value   := 0 empty | 1 text sym | 2 int zz | 3 false | 4 true | 5 time zz
//!            | 6 position zz zz v
//! preds   := n:v  (replica:v  zigzag(op seq - pred seq):v)*
//! ```
//! `v` is a LEB128 varint of at most 64 bits (a longer one is malformed), `zz`
//! a zigzag varint. The head is a varint of up to 66 bits, so that every clock
//! delta, whatever the two wall times, fits beside its two flags (heads below
//! 2^64, all a version 1 encoder wrote, read as before). UUIDs are sent once per batch;
//! identifiers are indices into a frozen, append-only symbol table
//! ([`SYMBOLS_V1`]); an identifier not in it (a newer client's) travels as text,
//! so nothing is lost. A typical field edit costs 6–10 bytes plus its text.
//!
//! Opcode 11 (a status with a round or a reason: returns and resubmits) was
//! added after version 1 shipped; a status of round 0 without a reason is
//! still written as opcode 10, byte for byte as before, so every stored
//! batch and saved replica decodes unchanged. A build older than opcode 11
//! refuses a batch holding one ("unknown opcode") and pulls it again once
//! its app has updated; nothing is acknowledged or lost meanwhile.
//!
//! Encoding is lossless for every op, valid or not (sequence numbers up to
//! `u64::MAX`, any clock), so an op relays unchanged: `decode(encode(ops))`
//! is `ops`.
//!
//! Decoding never panics, and allocates in proportion to what it has
//! actually decoded, never to a count the input claims: no reservation is
//! sized from a count, every table and text is checked against the bytes left
//! before it is copied, and [`decode_limited`] refuses a batch as soon as a
//! run's header claims more ops than allowed, or an op more preds, before
//! building them. Its peak heap is at most 4 × the input's length plus, for
//! the ops it builds, `max_ops × (3 × size_of::<Op>() + 2 × max_preds × size_of::<OpId>())`
//! (a fixed ceiling, whatever the length; `tests/decode_memory.rs` measures
//! it with a counting allocator).

use crate::hlc::Hlc;
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::model::{PersonField, PersonSet, Position, Value, VisitField, VisitSet};
use crate::op::{Action, Op, SetTarget, Target, MAX_PREDS};
use crate::vocab::{
    AgeGroup, ExploitationType, Gender, Indicator, LocationKind, NrmConsent, Offence,
    PartnerAgency, PersonRole, SafeguardingAction, Status, StopPower, VisitType,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// The format version written first in every batch.
pub const FORMAT_VERSION: u8 = 1;

/// A batch could not be decoded.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Ended before a complete value.
    #[error("batch truncated at byte {0}")]
    Truncated(usize),
    /// A byte that cannot start what was expected.
    #[error("malformed batch at byte {at}: {what}")]
    Malformed {
        /// Offset.
        at: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A format version this build does not read.
    #[error("unsupported wire format version {0}")]
    Version(u8),
    /// A table index out of range.
    #[error("index {index} out of range for the {table} table")]
    BadIndex {
        /// Which table.
        table: &'static str,
        /// The index.
        index: u64,
    },
    /// Bytes after the last run.
    #[error("{0} unexpected bytes after the batch")]
    Trailing(usize),
    /// The batch claims or holds more ops than the limit.
    #[error("batch has more than {max} ops")]
    TooManyOps {
        /// The limit.
        max: usize,
    },
    /// An op names more preds (or observed tags) than the limit.
    #[error("op at byte {at} names more than {max} earlier ops")]
    TooManyPreds {
        /// Offset.
        at: usize,
        /// The limit.
        max: usize,
    },
}

/// What [`decode_with`] accepts at most. An input over a limit is refused as
/// soon as a count in it says so, before what it counts is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Ops in the batch.
    pub max_ops: usize,
    /// Preds (or observed tags) of one op.
    pub max_preds: usize,
}

impl DecodeLimits {
    /// No limits beyond the input's own length (for a replica's own saved log).
    pub const NONE: Self = Self {
        max_ops: usize::MAX,
        max_preds: usize::MAX,
    };

    /// At most `max_ops` ops, and at most [`MAX_PREDS`] preds per op (an op
    /// with more is invalid anyway): what a server applies to a push.
    pub const fn ops(max_ops: usize) -> Self {
        Self {
            max_ops,
            max_preds: MAX_PREDS,
        }
    }
}

/// A fast hasher for the small lookup tables here (identifiers and UUIDs):
/// it mixes the length with the first and last eight bytes, which tell these
/// keys apart; the map still compares whole keys, so a collision only costs a
/// probe, and the keys come from our own encoder, not from a remote peer.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, b: &[u8]) {
        let n = b.len();
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w[..s.len()].copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        let (head, tail) = if n >= 8 {
            (word(&b[..8]), word(&b[n - 8..]))
        } else {
            (word(b), 0)
        };
        self.0 = (self.0.rotate_left(5) ^ head ^ tail.rotate_left(29) ^ n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The groups making up the v1 symbol table, in order.
pub const SYMBOLS_V1: &[&[&str]] = &[
    VisitField::KNOWN,
    PersonField::KNOWN,
    VisitSet::KNOWN,
    PersonSet::KNOWN,
    LocationKind::KNOWN,
    VisitType::KNOWN,
    PartnerAgency::KNOWN,
    AgeGroup::KNOWN,
    Gender::KNOWN,
    PersonRole::KNOWN,
    ExploitationType::KNOWN,
    NrmConsent::KNOWN,
    StopPower::KNOWN,
    SafeguardingAction::KNOWN,
    Offence::KNOWN,
    Indicator::KNOWN,
    Status::KNOWN,
];

type Symbols = (Vec<&'static str>, FastMap<&'static str, u32>);

/// The frozen symbol table, version 1: every known identifier at the time the
/// format was fixed, first occurrence kept. Append only.
fn symbols() -> &'static Symbols {
    static TABLE: OnceLock<Symbols> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut list: Vec<&'static str> = Vec::new();
        let mut index = FastMap::default();
        for group in SYMBOLS_V1 {
            for s in *group {
                if !index.contains_key(s) {
                    index.insert(*s, list.len() as u32);
                    list.push(*s);
                }
            }
        }
        (list, index)
    })
}

/// The index of a known identifier in the frozen symbol table (free text
/// and newer identifiers have none).
pub(crate) fn symbol_index(s: &str) -> Option<u32> {
    let maybe = s.len() <= crate::vocab::MAX_IDENTIFIER_LEN
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    maybe.then(|| symbols().1.get(s).copied()).flatten()
}

/// The identifier at `index` of the frozen symbol table.
pub(crate) fn symbol(index: u32) -> Option<&'static str> {
    symbols().0.get(usize::try_from(index).ok()?).copied()
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }
    fn v(&mut self, n: u64) {
        self.v128(u128::from(n));
    }
    fn v128(&mut self, mut n: u128) {
        while n >= 0x80 {
            self.buf.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.buf.push(n as u8);
    }
    fn zz(&mut self, n: i64) {
        self.v(zigzag(n));
    }
    fn str(&mut self, s: &str) {
        self.v((s.len() as u64) << 1 | 1);
        self.buf.extend_from_slice(s.as_bytes());
    }
    fn sym(&mut self, s: &str) {
        match symbol_index(s) {
            Some(i) => self.v(u64::from(i) << 1),
            None => self.str(s),
        }
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Empty => self.u8(0),
            Value::Text(s) => {
                self.u8(1);
                self.sym(s);
            }
            Value::Int(n) => {
                self.u8(2);
                self.zz(*n);
            }
            Value::Bool(false) => self.u8(3),
            Value::Bool(true) => self.u8(4),
            Value::Time(t) => {
                self.u8(5);
                self.zz(*t);
            }
            Value::Position(p) => {
                self.u8(6);
                self.zz(i64::from(p.lat_e7));
                self.zz(i64::from(p.lon_e7));
                self.v(u64::from(p.accuracy_m));
            }
        }
    }
}

/// A table of UUIDs sent once per batch. Batches mention few distinct ids, so
/// a linear scan of the last few beats hashing; a map takes over when large.
#[derive(Default)]
struct Table {
    list: Vec<[u8; 16]>,
    index: FastMap<[u8; 16], u32>,
}

impl Table {
    fn idx(&mut self, id: &[u8; 16]) -> u64 {
        if self.list.len() <= 8 {
            if let Some(i) = self.list.iter().position(|x| x == id) {
                return i as u64;
            }
        } else if let Some(i) = self.index.get(id) {
            return u64::from(*i);
        }
        let i = self.list.len() as u32;
        self.list.push(*id);
        if self.list.len() > 8 {
            if self.index.is_empty() {
                for (j, x) in self.list.iter().enumerate() {
                    self.index.insert(*x, j as u32);
                }
            } else {
                self.index.insert(*id, i);
            }
        }
        u64::from(i)
    }
}

/// Encodes ops (any order; runs are formed from consecutive sequence numbers).
pub fn encode<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<u8> {
    let (mut replicas, mut visits, mut others) =
        (Table::default(), Table::default(), Table::default());
    let mut body = Writer {
        buf: Vec::with_capacity(256),
    };
    // Runs are written into `body` with a placeholder-free layout: each run's
    // header is written when it starts, and its op count patched at the end
    // by keeping runs in a side list (start offset, count).
    let mut runs: Vec<(u64, u64, usize, u64)> = Vec::new(); // replica, first_seq, start, count
    let mut prev_wall: u64 = 0;
    let mut prev_visit: Option<VisitId> = None;
    let mut next: Option<(ReplicaId, u64)> = None;
    for op in ops {
        let r = replicas.idx(op.id.replica.as_bytes());
        if next != Some((op.id.replica, op.id.seq)) {
            runs.push((r, op.id.seq, body.buf.len(), 0));
        }
        if let Some(run) = runs.last_mut() {
            run.3 += 1;
        }
        // A run never wraps from u64::MAX to 0: such an op starts a new run.
        next = op.id.seq.checked_add(1).map(|s| (op.id.replica, s));
        let delta = op.hlc.wall_ms.wrapping_sub(prev_wall) as i64;
        prev_wall = op.hlc.wall_ms;
        let new_visit = prev_visit != Some(op.visit);
        body.v128(
            u128::from(zigzag(delta)) << 2
                | u128::from(op.hlc.counter != 0) << 1
                | u128::from(new_visit),
        );
        if op.hlc.counter != 0 {
            body.v(u64::from(op.hlc.counter));
        }
        if new_visit {
            body.v(visits.idx(op.visit.as_bytes()));
            prev_visit = Some(op.visit);
        }
        let preds = |w: &mut Writer, ids: &[OpId], replicas: &mut Table| {
            w.v(ids.len() as u64);
            for p in ids {
                w.v(replicas.idx(p.replica.as_bytes()));
                w.zz(op.id.seq.wrapping_sub(p.seq) as i64);
            }
        };
        match &op.action {
            Action::Create { operation } => {
                body.u8(0);
                body.v(others.idx(operation.as_bytes()));
            }
            Action::Set {
                target,
                value,
                pred,
            } => {
                match target {
                    Target::Visit(f) => {
                        body.u8(1);
                        body.sym(f.as_str());
                    }
                    Target::Person(p, f) => {
                        body.u8(2);
                        body.v(others.idx(p.as_bytes()));
                        body.sym(f.as_str());
                    }
                    Target::Arrests(o) => {
                        body.u8(3);
                        body.sym(o.as_str());
                    }
                }
                body.value(value);
                preds(&mut body, pred, &mut replicas);
            }
            Action::Add { set, elem } => {
                set_head(&mut body, set, 4, &mut others);
                body.sym(elem);
            }
            Action::Remove {
                set,
                elem,
                observed,
            } => {
                set_head(&mut body, set, 6, &mut others);
                body.sym(elem);
                preds(&mut body, observed, &mut replicas);
            }
            Action::AddPerson { person } => {
                body.u8(8);
                body.v(others.idx(person.as_bytes()));
            }
            Action::Note { text } => {
                body.u8(9);
                body.str(text);
            }
            Action::Status {
                status,
                round: 0,
                reason: None,
            } => {
                body.u8(10);
                body.sym(status.as_str());
            }
            Action::Status {
                status,
                round,
                reason,
            } => {
                body.u8(11);
                body.sym(status.as_str());
                body.v(u64::from(*round));
                match reason {
                    None => body.u8(0),
                    Some(text) => {
                        body.u8(1);
                        body.str(text);
                    }
                }
            }
        }
    }
    let mut out = Writer {
        buf: Vec::with_capacity(
            body.buf.len() + 16 * (replicas.list.len() + visits.list.len() + others.list.len()) + 8,
        ),
    };
    out.u8(FORMAT_VERSION);
    for t in [&replicas, &visits, &others] {
        out.v(t.list.len() as u64);
        for id in &t.list {
            out.buf.extend_from_slice(id);
        }
    }
    out.v(runs.len() as u64);
    for (i, (r, first, start, count)) in runs.iter().enumerate() {
        let end = runs.get(i + 1).map_or(body.buf.len(), |x| x.2);
        out.v(*r);
        out.v(*first);
        out.v(*count);
        out.buf.extend_from_slice(&body.buf[*start..end]);
    }
    out.buf
}

fn set_head(w: &mut Writer, set: &SetTarget, base: u8, others: &mut Table) {
    match set {
        SetTarget::Visit(s) => {
            w.u8(base);
            w.sym(s.as_str());
        }
        SetTarget::Person(p, s) => {
            w.u8(base + 1);
            w.v(others.idx(p.as_bytes()));
            w.sym(s.as_str());
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let x = *self.b.get(self.at).ok_or(WireError::Truncated(self.at))?;
        self.at += 1;
        Ok(x)
    }
    /// A varint of at most `bits` bits (64 or 66).
    fn varint(&mut self, bits: u32) -> Result<u128, WireError> {
        let mut n: u128 = 0;
        for shift in (0..70).step_by(7) {
            let byte = self.u8()?;
            n |= u128::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return if n >> bits == 0 {
                    Ok(n)
                } else {
                    Err(WireError::Malformed {
                        at: self.at,
                        what: "varint too large",
                    })
                };
            }
        }
        Err(WireError::Malformed {
            at: self.at,
            what: "varint too long",
        })
    }
    fn v(&mut self) -> Result<u64, WireError> {
        self.varint(64).map(|n| n as u64)
    }
    /// An op's head: (zigzag clock delta, has counter, visit changed).
    fn head(&mut self) -> Result<(u64, bool, bool), WireError> {
        let h = self.varint(66)?;
        Ok(((h >> 2) as u64, h & 2 != 0, h & 1 != 0))
    }
    fn left(&self) -> usize {
        self.b.len() - self.at
    }
    fn zz(&mut self) -> Result<i64, WireError> {
        self.v().map(unzigzag)
    }
    /// A count that cannot exceed the bytes left (each item takes ≥ 1 byte).
    fn count(&mut self) -> Result<usize, WireError> {
        let n = self.v()?;
        if n > self.left() as u64 {
            return Err(WireError::Malformed {
                at: self.at,
                what: "count larger than the batch",
            });
        }
        Ok(n as usize)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(WireError::Truncated(self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn text(&mut self, len: u64) -> Result<String, WireError> {
        let len = usize::try_from(len).map_err(|_| WireError::Truncated(self.at))?;
        let at = self.at;
        let s = self.bytes(len)?;
        std::str::from_utf8(s)
            .map(str::to_owned)
            .map_err(|_| WireError::Malformed {
                at,
                what: "text is not UTF-8",
            })
    }
    fn str(&mut self) -> Result<String, WireError> {
        let h = self.v()?;
        if h & 1 == 0 {
            return Err(WireError::Malformed {
                at: self.at,
                what: "expected text",
            });
        }
        self.text(h >> 1)
    }
    fn sym(&mut self) -> Result<String, WireError> {
        self.sym_ref().map(Cow::into_owned)
    }
    /// A symbol without allocating when it is a known identifier (the common
    /// case for field, set and vocabulary names).
    fn sym_ref(&mut self) -> Result<Cow<'static, str>, WireError> {
        let h = self.v()?;
        if h & 1 == 1 {
            return self.text(h >> 1).map(Cow::Owned);
        }
        let i = h >> 1;
        symbols()
            .0
            .get(i as usize)
            .map(|s| Cow::Borrowed(*s))
            .ok_or(WireError::BadIndex {
                table: "symbol",
                index: i,
            })
    }
    fn table(&mut self) -> Result<Vec<[u8; 16]>, WireError> {
        let n = self.count()?;
        let raw = self.bytes(n.checked_mul(16).ok_or(WireError::Truncated(self.at))?)?;
        Ok(raw
            .chunks_exact(16)
            .map(|c| c.try_into().expect("16-byte chunk"))
            .collect())
    }
    fn value(&mut self) -> Result<Value, WireError> {
        let at = self.at;
        Ok(match self.u8()? {
            0 => Value::Empty,
            1 => Value::Text(self.sym()?),
            2 => Value::Int(self.zz()?),
            3 => Value::Bool(false),
            4 => Value::Bool(true),
            5 => Value::Time(self.zz()?),
            6 => {
                let lat = self.zz()?;
                let lon = self.zz()?;
                let acc = self.v()?;
                let bad = WireError::Malformed {
                    at,
                    what: "position out of range",
                };
                Value::Position(Position {
                    lat_e7: i32::try_from(lat).map_err(|_| bad.clone())?,
                    lon_e7: i32::try_from(lon).map_err(|_| bad.clone())?,
                    accuracy_m: u32::try_from(acc).map_err(|_| bad)?,
                })
            }
            _ => {
                return Err(WireError::Malformed {
                    at,
                    what: "unknown value tag",
                })
            }
        })
    }
}

fn get(list: &[[u8; 16]], table: &'static str, i: u64) -> Result<[u8; 16], WireError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| list.get(i))
        .copied()
        .ok_or(WireError::BadIndex { table, index: i })
}

/// Decodes a batch made by [`encode`]. Never panics on bad input; allocates
/// in proportion to what it decodes. Limited by the input's length only: a
/// peer's batch goes through [`decode_limited`].
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, WireError> {
    decode_with(bytes, DecodeLimits::NONE)
}

/// [`decode`] refusing a batch of more than `max_ops` ops, or with an op
/// naming more than [`MAX_PREDS`] preds ([`WireError::TooManyOps`],
/// [`WireError::TooManyPreds`]), before building them.
pub fn decode_limited(bytes: &[u8], max_ops: usize) -> Result<Vec<Op>, WireError> {
    decode_with(bytes, DecodeLimits::ops(max_ops))
}

/// [`decode`] within `limits`.
pub fn decode_with(bytes: &[u8], limits: DecodeLimits) -> Result<Vec<Op>, WireError> {
    let mut r = Reader { b: bytes, at: 0 };
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(WireError::Version(version));
    }
    let replicas = r.table()?;
    let visits = r.table()?;
    let others = r.table()?;
    let replica = |i: u64| get(&replicas, "replica", i).map(ReplicaId::from_bytes);
    let other = |i: u64| get(&others, "uuid", i);
    let n_runs = r.count()?;
    // Grown as ops are decoded (never reserved from a claimed count).
    let mut out = Vec::new();
    let mut wall: u64 = 0;
    let mut visit: Option<VisitId> = None;
    for _ in 0..n_runs {
        let rep = replica(r.v()?)?;
        let first = r.v()?;
        let n = r.count()?;
        if n > limits.max_ops.saturating_sub(out.len()) {
            return Err(WireError::TooManyOps {
                max: limits.max_ops,
            });
        }
        for k in 0..n as u64 {
            let seq = first.checked_add(k).ok_or(WireError::Malformed {
                at: r.at,
                what: "sequence overflow",
            })?;
            let (delta, has_counter, visit_changed) = r.head()?;
            wall = wall.wrapping_add(unzigzag(delta) as u64);
            let counter = if has_counter {
                u32::try_from(r.v()?).map_err(|_| WireError::Malformed {
                    at: r.at,
                    what: "counter too large",
                })?
            } else {
                0
            };
            if visit_changed {
                visit = Some(VisitId::from_bytes(get(&visits, "visit", r.v()?)?));
            }
            let visit = visit.ok_or(WireError::Malformed {
                at: r.at,
                what: "op without a visit",
            })?;
            let preds = |r: &mut Reader<'_>| -> Result<Vec<OpId>, WireError> {
                let at = r.at;
                let n = r.count()?;
                if n > limits.max_preds {
                    return Err(WireError::TooManyPreds {
                        at,
                        max: limits.max_preds,
                    });
                }
                // A pred takes two bytes or more: reserve at most three bytes
                // of heap per byte left, and let a longer list grow.
                let mut v = Vec::with_capacity(n.min(r.left() / 8));
                for _ in 0..n {
                    let rr = replica(r.v()?)?;
                    let d = r.zz()?;
                    v.push(OpId::new(rr, seq.wrapping_sub(d as u64)));
                }
                Ok(v)
            };
            let at = r.at;
            let action = match r.u8()? {
                0 => Action::Create {
                    operation: OperationId::from_bytes(other(r.v()?)?),
                },
                code @ 1..=3 => {
                    let target = match code {
                        1 => Target::Visit(VisitField::parse(&r.sym_ref()?)),
                        2 => {
                            let p = PersonId::from_bytes(other(r.v()?)?);
                            Target::Person(p, PersonField::parse(&r.sym_ref()?))
                        }
                        _ => Target::Arrests(Offence::parse(&r.sym_ref()?)),
                    };
                    let value = r.value()?;
                    Action::Set {
                        target,
                        value,
                        pred: preds(&mut r)?,
                    }
                }
                code @ 4..=7 => {
                    let set = if code % 2 == 0 {
                        SetTarget::Visit(VisitSet::parse(&r.sym_ref()?))
                    } else {
                        let p = PersonId::from_bytes(other(r.v()?)?);
                        SetTarget::Person(p, PersonSet::parse(&r.sym_ref()?))
                    };
                    let elem = r.sym()?;
                    if code < 6 {
                        Action::Add { set, elem }
                    } else {
                        Action::Remove {
                            set,
                            elem,
                            observed: preds(&mut r)?,
                        }
                    }
                }
                8 => Action::AddPerson {
                    person: PersonId::from_bytes(other(r.v()?)?),
                },
                9 => Action::Note { text: r.str()? },
                10 => Action::Status {
                    status: Status::parse(&r.sym_ref()?),
                    round: 0,
                    reason: None,
                },
                11 => {
                    let status = Status::parse(&r.sym_ref()?);
                    let round = u32::try_from(r.v()?).map_err(|_| WireError::Malformed {
                        at: r.at,
                        what: "round too large",
                    })?;
                    let reason = match r.u8()? {
                        0 => None,
                        1 => Some(r.str()?),
                        _ => {
                            return Err(WireError::Malformed {
                                at: r.at,
                                what: "bad reason tag",
                            })
                        }
                    };
                    Action::Status {
                        status,
                        round,
                        reason,
                    }
                }
                _ => {
                    return Err(WireError::Malformed {
                        at,
                        what: "unknown opcode",
                    })
                }
            };
            out.push(Op {
                id: OpId::new(rep, seq),
                hlc: Hlc::new(wall, counter),
                visit,
                action,
            });
        }
    }
    if r.at != bytes.len() {
        return Err(WireError::Trailing(bytes.len() - r.at));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
