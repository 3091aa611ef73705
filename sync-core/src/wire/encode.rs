//! Encoding ops into a batch ([`encode`]).

use super::symbols::{symbol_index, FastMap};
use super::FORMAT_VERSION;
use crate::ids::{OpId, ReplicaId, VisitId};
use crate::model::Value;
use crate::op::{Action, Op, SetTarget, Target};

pub(super) fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
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
