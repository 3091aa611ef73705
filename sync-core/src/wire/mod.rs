//! The compact binary wire format for batches of ops.
//!
//! Wire layout is separate from the in-memory [`Op`](crate::Op); [`encode`] and [`decode`]
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
//! ([`symbol_groups_v1`], from [`crate::VOCABULARIES`]); an identifier not in it (a newer client's) travels as text,
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
//!
//! Modules: `symbols` (the frozen symbol table), `encode`, `decode`.

use crate::op::MAX_PREDS;

mod decode;
mod encode;
mod symbols;

pub use decode::{decode, decode_limited, decode_with};
pub use encode::encode;
pub use symbols::symbol_groups_v1;
pub(crate) use symbols::{symbol, symbol_index};

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

#[cfg(test)]
use {decode::unzigzag, encode::zigzag, symbols::symbols};

#[cfg(test)]
mod tests;
