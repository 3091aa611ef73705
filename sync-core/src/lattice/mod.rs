//! Small lattice types that compose into a visit record. Each is a state-based
//! CRDT: applying an op is commutative and idempotent, and `merge` is the join
//! (commutative, associative, idempotent). None of them reads a clock.

mod mvreg;
mod orset;
mod status;
mod vecmap;

pub use mvreg::{MvRegister, Version};
pub use orset::OrSet;
pub use status::StatusRegister;
pub use vecmap::{VecMap, VecSet};
