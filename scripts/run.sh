#!/usr/bin/env bash
# Runs the product: builds the field client (wasm module + app shell into
# client-wasm/www/pkg) and the server (release), then `aidant serve` with the
# arguments given (see `aidant serve --help`). With --demo, first fills an
# empty database with a synthetic week of action (`aidant demo`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/wasm-build.sh >&2
cargo build --release --locked -p server --bin aidant

demo=0 db=${AIDANT_DB:-data/aidant.sqlite3} args=()
while [ $# -gt 0 ]; do
  case $1 in
    --demo) demo=1 ;;
    --db) db=$2; args+=("$1" "$2"); shift ;;
    --db=*) db=${1#--db=}; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$(dirname "$db")"
if [ "$demo" = 1 ]; then
  target/release/aidant demo --db "$db" || echo "run.sh: demo data not added (see above)" >&2
fi
exec target/release/aidant serve "${args[@]}"
