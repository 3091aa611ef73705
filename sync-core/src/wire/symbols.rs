//! The frozen symbol table of the wire format (version 1): every known
//! identifier, numbered once, so a known identifier travels as a small index.

use crate::model::{PersonField, PersonSet, VisitField, VisitSet};
use crate::vocab::VOCABULARIES;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// A fast hasher for the small lookup tables here (identifiers and UUIDs):
/// it mixes the length with the first and last eight bytes, which tell these
/// keys apart; the map still compares whole keys, so a collision only costs a
/// probe, and the keys come from our own encoder, not from a remote peer.
#[derive(Default)]
pub(super) struct FastHasher(u64);

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

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The groups making up the v1 symbol table, in order: the visit and person
/// field and set names, then every vocabulary of [`VOCABULARIES`] in its
/// (append-only) order.
pub fn symbol_groups_v1() -> impl Iterator<Item = &'static [&'static str]> {
    [
        VisitField::KNOWN,
        PersonField::KNOWN,
        VisitSet::KNOWN,
        PersonSet::KNOWN,
    ]
    .into_iter()
    .chain(VOCABULARIES.iter().map(|v| v.known))
}

type Symbols = (Vec<&'static str>, FastMap<&'static str, u32>);

/// The frozen symbol table, version 1: every known identifier at the time the
/// format was fixed, first occurrence kept. Append only.
pub(super) fn symbols() -> &'static Symbols {
    static TABLE: OnceLock<Symbols> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut list: Vec<&'static str> = Vec::new();
        let mut index = FastMap::default();
        for group in symbol_groups_v1() {
            for s in group {
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
