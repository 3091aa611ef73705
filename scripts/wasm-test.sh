#!/usr/bin/env bash
# Run sync-core's and client-wasm's tests compiled for wasm32-unknown-unknown,
# under Node.js via wasm-bindgen-test-runner (the cargo "runner" set by wasm-env.sh).
# Extra arguments go to cargo test, e.g.:  scripts/wasm-test.sh -- merge_
#
# Only #[wasm_bindgen_test] functions run on wasm; plain #[test]s compile but
# are skipped. Doctests are left out by default: cargo compiles them for wasm32
# but the runner never executes their main(), so they would "pass" whatever
# they assert (run them natively). Pass your own target selection (--doc,
# --test NAME, ...) to override.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wasm-env.sh

select=(--lib --tests)
for a in "$@"; do
  case $a in
    --) break ;;
    --lib | --doc | --tests | --test | --test=* | --bins | --bin | --bin=* | --all-targets \
      | --examples | --example | --example=* | --benches | --bench | --bench=*) select=() ;;
  esac
done

# --target must be explicit (required by -Zbuild-std anyway).
# shellcheck disable=SC2086  # WASM_CARGO_ARGS is a word list, maybe empty
exec cargo test -p sync-core -p client-wasm --target wasm32-unknown-unknown $WASM_CARGO_ARGS "${select[@]}" "$@"
