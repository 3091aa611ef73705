//! Tests that must run alone in their process, apart from `tests/it`: the
//! peak heap of decoding (a counting global allocator sees every thread's
//! allocations) and how the cost of `apply` grows (timings need a quiet
//! process). Every test here takes [`ALONE`] first, so they also run one at
//! a time. Native only: wasm32 has neither the allocator nor a clock here.
#![cfg(not(target_arch = "wasm32"))]

mod costs;
mod decode_memory;
#[allow(dead_code)] // shared with tests/it, which uses all of it
#[path = "../it/mutate.rs"]
mod mutate;
#[allow(dead_code)]
#[path = "../it/world.rs"]
mod world;

use std::sync::Mutex;

/// Held by every test of this binary for its whole run.
static ALONE: Mutex<()> = Mutex::new(());

/// Counts heap bytes (`peak_alloc`: a hand-written `GlobalAlloc` needs the
/// `unsafe` our lints forbid in our own code).
#[global_allocator]
static ALLOC: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;
