//! Cross-crate tests and benchmarks for Aidant.
//!
//! * [`script`]: the peer-comparison scenario (one visit record, two devices,
//!   concurrent edits, sync both ways), engine-neutral, with a timing driver
//!   that takes the clock as a function so a wasm build can reuse it.
//! * [`sync_core_engine`]: sync-core's adapter for that script.
//!
//! The automerge and yrs adapters live with the bench
//! (`cargo bench -p tests --bench peers`, `benches/peers/`), so this crate
//! builds for wasm32 without them.

pub mod script;
pub mod sync_core_engine;
