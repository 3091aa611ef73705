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
# (on_postgres:: needs the PostgreSQL cluster: it runs in the next step)
cargo test --workspace --locked -- --skip on_postgres::

# The same server integration tests again with the data in PostgreSQL (a
# throwaway cluster, see scripts/pg.sh), except those about the SQLite file
# itself: tampering with it, its backups and migrations, a full disk
# (SQLite's page limit), and the commands that take only --db.
step "server integration tests on PostgreSQL"
scripts/pg.sh cargo test -p server --test it --locked -- \
    --skip audit:: --skip backup:: \
    --skip hostile::a_full_disk_answers_storage_full --skip failing_disk:: \
    --skip returns::a_database_from_before_returns \
    --skip demo_week:: --skip exports::the_command_line_exports
# On PostgreSQL too: group commit in savepoints (db/group.rs), a push's ops
# inserted a chunk to a statement (ledger.rs), long reads fetched a few
# hundred rows at a time (db/sql.rs).
scripts/pg.sh cargo test -p server --lib --locked -- db::group db::sql ledger::

step "wasm32 tests (Node)"
scripts/wasm-test.sh

step "end-to-end tests (Chromium, playwright-core)"
scripts/e2e.sh

step "all tests passed"
