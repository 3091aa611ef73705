//! Incremental saves. A device persists a full [`Replica::save`] (the base)
//! and then, after each edit or pull, a *chunk* holding only the ops it has
//! gained since the last save ([`Replica::save_chunk`] after a
//! [`SaveMark`]). Loading is the base, then every chunk in order
//! ([`Replica::load_chunk`]); rewriting the base and dropping the chunks
//! (compaction) is the caller's, in one storage transaction.
//!
//! A chunk is `CHUNK_MAGIC, version, postcard(Chunk), crc32` like a save, so
//! a damaged chunk is [`LoadError::Corrupt`], never a silent partial load.
//! Applying a chunk twice, or a chunk whose ops the base already holds (a
//! compaction whose deletions were lost), changes nothing: ops are a set.
//! A chunk never *removes* ops, so what shrinks the log (retention's
//! [`Replica::forget`], a [`Replica::rekey`]) must be followed by a full save.

use super::{LoadError, Replica, VersionVector};
use crate::hlc::Clock;
use crate::ids::{OpId, ReplicaId};
use crate::op::Op;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The first bytes of a chunk.
pub const CHUNK_MAGIC: &[u8; 4] = b"AIDJ";
/// The version of the chunk format [`Replica::save_chunk`] writes.
pub const CHUNK_VERSION: u8 = 1;

/// What a replica held at some point: per replica the contiguous prefix, and
/// the ops held beyond a gap. [`Replica::ops_since`] is what it has gained
/// after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveMark {
    prefix: VersionVector,
    ahead: BTreeSet<OpId>,
}

#[derive(Serialize, Deserialize)]
struct Chunk {
    id: ReplicaId,
    clock: Clock,
    ops: Vec<u8>,
}

impl Replica {
    /// What this replica holds now. O(replicas + ops held ahead of a gap).
    pub fn save_mark(&self) -> SaveMark {
        let mut mark = SaveMark::default();
        for (r, slots) in self.log.iter() {
            mark.prefix.set(*r, slots.contiguous());
            mark.ahead
                .extend(slots.sparse.keys().map(|&seq| OpId::new(*r, seq)));
        }
        mark
    }

    /// The ops held now that were not held at `mark`, by replica then
    /// sequence. O(replicas + ops returned).
    pub fn ops_since<'a>(&'a self, mark: &'a SaveMark) -> impl Iterator<Item = &'a Op> + 'a {
        self.log.iter().flat_map(move |(r, slots)| {
            slots
                .after(mark.prefix.get(r))
                .filter(move |op| !mark.ahead.contains(&op.id))
        })
    }

    /// The visits touched by [`Replica::ops_since`] `mark`.
    pub fn visits_since(&self, mark: &SaveMark) -> BTreeSet<crate::ids::VisitId> {
        self.ops_since(mark).map(|op| op.visit).collect()
    }

    /// A chunk holding the ops gained since `mark` and the clock, with a
    /// checksum that [`Replica::load_chunk`] verifies. `None` when nothing
    /// was gained (the clock only moves with ops).
    pub fn save_chunk(&self, mark: &SaveMark) -> Option<Vec<u8>> {
        let mut ops = self.ops_since(mark).peekable();
        ops.peek()?;
        let chunk = Chunk {
            id: self.id,
            clock: self.clock.clone(),
            ops: crate::wire::encode(ops),
        };
        let mut out = CHUNK_MAGIC.to_vec();
        out.push(CHUNK_VERSION);
        let mut out = postcard::to_extend(&chunk, out).expect("serialising to a Vec cannot fail");
        let crc = crate::crc32::crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Some(out)
    }

    /// Applies a chunk made by [`Replica::save_chunk`] on this replica (or an
    /// earlier state of it): its ops are held as they were saved and the
    /// clock goes no lower than the chunk's. Returns how many ops were new.
    /// A damaged chunk is [`LoadError::Corrupt`] and one saved by another
    /// replica id [`LoadError::WrongReplica`]; either way nothing is applied.
    pub fn load_chunk(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        let payload = checked_body(bytes, CHUNK_MAGIC, CHUNK_VERSION)?;
        let chunk: Chunk = postcard::from_bytes(payload)?;
        if chunk.id != self.id {
            return Err(LoadError::WrongReplica {
                expected: self.id,
                found: chunk.id,
            });
        }
        let ops = crate::wire::decode(&chunk.ops)?;
        let mut new = 0;
        for op in ops {
            if !matches!(self.insert(op), super::Outcome::Duplicate) {
                new += 1;
            }
        }
        let last = self.clock.last().max(chunk.clock.last());
        self.clock = Clock::restore(last, self.clock.max_forward_ms());
        Ok(new)
    }
}

/// The payload of a `magic, version, payload, crc32` blob, the checksum
/// verified; versions 1 to `max` are read.
fn checked_body<'a>(bytes: &'a [u8], magic: &[u8; 4], max: u8) -> Result<&'a [u8], LoadError> {
    let corrupt = |stored| LoadError::Corrupt {
        stored,
        computed: crate::crc32::crc32(bytes),
    };
    let rest = bytes.strip_prefix(magic.as_slice()).ok_or(corrupt(0))?;
    let (&version, _) = rest.split_first().ok_or(corrupt(0))?;
    let Some((body, crc)) = bytes
        .split_last_chunk::<4>()
        .filter(|(b, _)| b.len() > magic.len())
    else {
        return Err(corrupt(0));
    };
    let (stored, computed) = (u32::from_le_bytes(*crc), crate::crc32::crc32(body));
    if stored != computed {
        return Err(LoadError::Corrupt { stored, computed });
    }
    if !(1..=max).contains(&version) {
        return Err(LoadError::Version(version));
    }
    Ok(&body[magic.len() + 1..])
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::ids::{OperationId, VisitId};
    use crate::model::{Value, VisitField};
    use crate::op::Target;
    use crate::vocab::LocationKind;

    const OP: OperationId = OperationId::from_u128(100);
    const V: VisitId = VisitId::from_u128(1);
    const W: VisitId = VisitId::from_u128(2);

    fn me() -> Replica {
        Replica::new(ReplicaId::from_u128(1))
    }

    fn same(a: &Replica, b: &Replica) {
        assert_eq!(
            a.visits().collect::<Vec<_>>(),
            b.visits().collect::<Vec<_>>()
        );
        assert_eq!(a.version_vector(), b.version_vector());
        assert_eq!(a.op_count(), b.op_count());
        assert_eq!(a.next_seq(), b.next_seq());
        assert_eq!(a.clock(), b.clock());
    }

    /// Base, then chunks in order, is the replica; a chunk applied again
    /// (compaction whose deletions did not happen) changes nothing.
    #[test]
    fn base_and_chunks_load_as_the_replica() {
        let mut a = me();
        a.create_visit(1_000, V, OP, LocationKind::Hotel).unwrap();
        let base = a.save();
        let mut mark = a.save_mark();
        let mut chunks = vec![];
        for i in 0..5u64 {
            a.note(2_000 + i, V, &format!("note {i}")).unwrap();
            chunks.push(a.save_chunk(&mark).unwrap());
            mark = a.save_mark();
        }
        assert_eq!(a.save_chunk(&mark), None, "nothing new, no chunk");
        let mut b = Replica::load(&base).unwrap();
        for c in &chunks {
            assert_eq!(b.load_chunk(c).unwrap(), 1);
        }
        same(&a, &b);
        // An interrupted compaction: the new base written, the chunks kept.
        let mut c = Replica::load(&a.save()).unwrap();
        for ch in &chunks {
            assert_eq!(c.load_chunk(ch).unwrap(), 0);
        }
        same(&a, &c);
        // Numbering goes on after a load from chunks.
        assert_eq!(b.note(9_000, V, "next").unwrap().id.seq, 9);
    }

    /// Remote ops (a pull), including ops held ahead of a gap and the gap
    /// filled later, each reach exactly one chunk.
    #[test]
    fn remote_ops_and_gaps_reach_one_chunk_each() {
        let mut other = Replica::new(ReplicaId::from_u128(2));
        let ops = other
            .create_visit(1_000, W, OP, LocationKind::CarWash)
            .unwrap();
        other
            .set(
                1_100,
                W,
                Target::Visit(VisitField::Postcode),
                Value::Text("OX1 1AA".into()),
            )
            .unwrap();
        let all: Vec<Op> = other.ops_since(&SaveMark::default()).cloned().collect();
        assert_eq!(all.len(), 4);
        let mut a = me();
        let base = a.save();
        let mut mark = a.save_mark();
        let mut chunks = vec![];
        // Seq 3 and 4 first (ahead of a gap), then 1 and 2.
        for batch in [&all[2..], &all[..2]] {
            a.apply(2_000, batch.to_vec());
            let since: Vec<OpId> = a.ops_since(&mark).map(|o| o.id).collect();
            assert_eq!(since, batch.iter().map(|o| o.id).collect::<Vec<_>>());
            chunks.push(a.save_chunk(&mark).unwrap());
            mark = a.save_mark();
        }
        assert_eq!(a.ops_since(&mark).count(), 0);
        assert_eq!(a.visits_since(&SaveMark::default()), [W].into());
        let mut b = Replica::load(&base).unwrap();
        for c in &chunks {
            b.load_chunk(c).unwrap();
        }
        same(&a, &b);
        assert_eq!(ops.len(), 3);
    }

    #[test]
    fn a_damaged_or_foreign_chunk_is_refused_whole() {
        let mut a = me();
        let mark = a.save_mark();
        a.create_visit(1_000, V, OP, LocationKind::NailBar).unwrap();
        let chunk = a.save_chunk(&mark).unwrap();
        for i in 0..chunk.len() {
            let mut bad = chunk.clone();
            bad[i] ^= 0x10;
            let mut b = me();
            assert!(b.load_chunk(&bad).is_err(), "byte {i} flipped");
            assert_eq!(b.op_count(), 0, "nothing applied");
        }
        assert!(matches!(
            me().load_chunk(&chunk[..chunk.len() - 1]),
            Err(LoadError::Corrupt { .. })
        ));
        assert!(matches!(
            me().load_chunk(&[]),
            Err(LoadError::Corrupt { .. })
        ));
        let mut stranger = Replica::new(ReplicaId::from_u128(3));
        assert!(matches!(
            stranger.load_chunk(&chunk),
            Err(LoadError::WrongReplica { .. })
        ));
        assert_eq!(stranger.op_count(), 0);
        // A full save is not a chunk.
        assert!(me().load_chunk(&a.save()).is_err());
    }
}
