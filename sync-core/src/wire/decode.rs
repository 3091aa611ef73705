//! Decoding a batch into ops ([`decode`], within limits), never panicking
//! and allocating in proportion to what it has decoded.

use super::symbols::symbols;
use crate::hlc::Hlc;
use crate::ids::{OpId, OperationId, PersonId, ReplicaId, VisitId};
use crate::model::{PersonField, PersonSet, Position, Value, VisitField, VisitSet};
use crate::op::{Action, Op, SetTarget, Target};

use super::{DecodeLimits, WireError, FORMAT_VERSION};
use crate::vocab::{Offence, Status};
use std::borrow::Cow;

pub(super) fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
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
