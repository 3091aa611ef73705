#!/usr/bin/env bash
# Times the shared benchmark script (tests/src/script.rs) through sync-core
# compiled to wasm32 under Node, against the same script natively, and prints
# the ratios (target: wasm at most 2x native). Not a test: it only prints.
# Also writes target/wasm-bench.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

echo "== native (release)" >&2
native1=$(cargo run -q --release -p tests --example script -- 1 301)
native1000=$(cargo run -q --release -p tests --example script -- 1000 5)

(
  source scripts/wasm-env.sh
  # shellcheck disable=SC2086
  cargo build -q -p client-wasm --lib --features bench --target wasm32-unknown-unknown \
    --profile wasm-release $WASM_CARGO_ARGS
  rm -rf target-wasm/bench-pkg
  wasm-bindgen --target nodejs --out-dir target-wasm/bench-pkg \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/client_wasm.wasm"
)
echo "== wasm32 under Node $(node --version)" >&2
node - "$root/target-wasm/bench-pkg/client_wasm.js" "$native1" "$native1000" <<'JS'
const [glue, n1, n1000] = process.argv.slice(2);
const m = require(glue);
function median(visits, runs) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(JSON.parse(m.benchScript(visits)));
  const pick = (k) => all.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs / 2)];
  return { visits, edit_us: pick("edit_us"), merge_us: pick("merge_us"),
           delta_bytes: all[0].delta_bytes, record_bytes: all[0].record_bytes };
}
const rows = [[JSON.parse(n1), median(1, 301)], [JSON.parse(n1000), median(1000, 5)]];
const out = {};
for (const [nat, w] of rows) {
  const r = { native: nat, wasm: w,
    edit_ratio: w.edit_us / nat.edit_us, merge_ratio: w.merge_us / nat.merge_us };
  out[`visits_${w.visits}`] = r;
  console.log(`${String(w.visits).padStart(5)} visit(s): edit ${nat.edit_us.toFixed(3)} µs native, ` +
    `${w.edit_us.toFixed(3)} µs wasm (${r.edit_ratio.toFixed(2)}x); merge ${nat.merge_us.toFixed(1)} µs native, ` +
    `${w.merge_us.toFixed(1)} µs wasm (${r.merge_ratio.toFixed(2)}x); target <= 2x`);
}
require("fs").writeFileSync("target/wasm-bench.json", JSON.stringify(out, null, 2));
JS
