#!/usr/bin/env bash
# Runs every test the project has, on a fresh machine: formatting and lints,
# the native workspace tests (unit, property, integration), sync-core's and
# client-wasm's tests on wasm32 under Node, and the end-to-end tests of the
# field app and admin pages in Debian's Chromium. Installs what it needs (see
# scripts/wasm-env.sh and scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "rustfmt"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
cargo fmt --all -- --check

step "clippy"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
cargo clippy --workspace --all-targets --locked -- -D warnings

step "native tests"
cargo test --workspace --locked

step "wasm32 tests (Node)"
scripts/wasm-test.sh

step "end-to-end tests (Chromium, playwright-core)"
scripts/e2e.sh

step "all tests passed"
