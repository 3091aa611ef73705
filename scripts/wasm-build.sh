#!/usr/bin/env bash
# Build client-wasm for the browser: cargo (profile wasm-release) ->
# wasm-opt -Oz if available -> wasm-bindgen --target web into
# client-wasm/www/pkg, where the field app (and the server, at /pkg/) finds it.
# Also writes www/pkg/build.js, a digest of the app's files that the service
# worker imports: a new build changes it, so phones fetch the new shell.
# Prints the module's raw and gzip -9 sizes. Extra arguments go to cargo build.
#
# On the Debian route (std built by cargo -Zbuild-std) panics are compiled as
# "immediate-abort": a bare trap, no panic message or formatting code, about a
# quarter smaller. Set WASM_IMMEDIATE_ABORT=0 to keep the profile's plain
# panic = "abort" (panic messages reach the console; useful when debugging).
# WASM_OPT=0 skips wasm-opt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wasm-env.sh

crate=client_wasm
out=client-wasm/www/pkg
triple=wasm32-unknown-unknown
log() { echo "wasm-build: $*" >&2; }

# shellcheck disable=SC2206  # WASM_CARGO_ARGS is a word list, maybe empty
args=($WASM_CARGO_ARGS)
if [ ${#args[@]} -gt 0 ] && [ "${WASM_IMMEDIATE_ABORT:-1}" != 0 ]; then
  # No panic_abort crate needed with immediate-abort; RUSTC_BOOTSTRAP=1 (set by
  # wasm-env.sh) lets cargo accept the -Z flag and the profile value.
  args=(-Zbuild-std=std -Zpanic-immediate-abort
        --config 'profile.wasm-release.panic="immediate-abort"')
fi
cargo build -p client-wasm --lib --target "$triple" --profile wasm-release "${args[@]}" "$@"

raw=$CARGO_TARGET_DIR/$triple/wasm-release/$crate.wasm
wasm=$out/${crate}_bg.wasm
bindgen() { rm -rf "$out" && wasm-bindgen --target web --out-name "$crate" --out-dir "$out" "$1"; }
# Does the generated module load? Imports the JS glue in Node and runs initSync.
smoke() {
  command -v node >/dev/null || return 0
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { pathToFileURL } from "node:url";
    const glue = await import(pathToFileURL(process.argv[1]));
    glue.initSync({ module: readFileSync(process.argv[2]) });' "$PWD/$out/$crate.js" "$PWD/$wasm" >&2
}

# wasm-opt: Debian 12's binaryen (108). Install it when we can do so quietly.
if [ "${WASM_OPT:-1}" != 0 ] && ! command -v wasm-opt >/dev/null \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing Debian's binaryen for wasm-opt"
  timeout 180 apt-get install -y -qq --no-install-recommends binaryen >&2 \
    || log "could not install binaryen"
fi
# wasm-opt runs on cargo's output, *before* wasm-bindgen: binaryen 108 rewrites
# the export of wasm-bindgen's externref table to the funcref table (even with
# no passes), giving a module that fails at init. binaryen 108 also predates
# rustc's default wasm features, hence the --enable flags.
opt=""
if [ "${WASM_OPT:-1}" != 0 ] && command -v wasm-opt >/dev/null; then
  opt=${raw%.wasm}.opt.wasm
  wasm-opt -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
      --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
      "$raw" -o "$opt" || { log "wasm-opt failed: keeping the un-optimised module"; opt=""; }
else
  log "no wasm-opt: module not optimised further"
fi
if [ -n "$opt" ]; then
  if ! bindgen "$opt"; then
    log "wasm-bindgen failed on the wasm-opt output: using the un-optimised module"; opt=""
  elif ! smoke; then
    # Blame wasm-opt only if the un-optimised module does load.
    if bindgen "$raw" && smoke; then
      log "optimised module fails to load under Node: using the un-optimised one"; opt=""
    else
      log "warning: module does not initialise under Node (browser-only start code?)"
      bindgen "$opt"
    fi
  fi
fi
if [ -z "$opt" ]; then
  bindgen "$raw"
  smoke || log "warning: module does not initialise under Node"
fi
log "cargo output $(wc -c <"$raw") bytes${opt:+, after wasm-opt -Oz $(wc -c <"$opt")}"

# gzip -9 copies of the module and its glue, served as they are by the server
# to browsers that accept gzip (about a quarter smaller than on-the-fly gzip).
find "$out" -type f \( -name '*.wasm' -o -name '*.js' \) ! -name build.js -exec gzip -9 -k -f -n {} +

# The build id: a digest of every shell file (the service worker's cache name).
build=$(cd client-wasm/www && find . -path ./admin -prune -o -type f ! -name build.js ! -name '*.gz' -print \
  | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
# …and the module's files (the JS glue imports snippets under hashed paths),
# for the service worker to cache.
files=$(cd "$out" && find . -type f ! -name build.js ! -name '*.d.ts' ! -name '*.gz' | LC_ALL=C sort \
  | sed "s|^\./|'/pkg/|; s|\$|',|" | tr -d '\n')
echo "self.AIDANT_BUILD = '$build'; self.AIDANT_PKG = [${files%,}];" >"$out/build.js"
log "build id $build"

echo "$wasm: $(wc -c <"$wasm") bytes raw, $(gzip -9c "$wasm" | wc -c) bytes gzip -9"
