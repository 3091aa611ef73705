//! sync-core's integration tests, one binary (native and wasm32).
//!
//! On wasm32 the `#[test]` attribute is wasm-bindgen-test's; proptest and
//! chrono-tz are native-only, so modules using them are native-only and the
//! convergence checks also run over a fixed list of seeds on wasm32.

mod convergence;
mod fuzz;
mod hostile;
#[cfg(not(target_arch = "wasm32"))]
mod laws;
pub mod mutate;
mod returns;
mod scenarios;
mod snapshot;
#[cfg(not(target_arch = "wasm32"))]
mod status_laws;
mod summary;
pub mod world;
