#!/usr/bin/env bash
# End-to-end tests of the field app and the admin pages in Debian's Chromium,
# driven by playwright-core (tests/e2e). Installs what it needs: the chromium
# Debian package (as root, or with sudo -n), the npm packages pinned in
# tests/e2e/package-lock.json; builds the server and the wasm client. Runs the
# Node unit tests in tests/e2e/unit/ first. The storage benchmark is run by
# hand: node tests/e2e/phone-storage.bench.mjs.
# Screenshots land in target/e2e-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "e2e: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  log "installing Debian's chromium"
  pkgs=(chromium fonts-dejavu-core fonts-noto-color-emoji)
  as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 \
    || { as_root apt-get update -qq >&2 && as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2; }
fi
command -v node >/dev/null || {
  log "installing Node.js"
  as_root apt-get install -y -qq --no-install-recommends nodejs npm >&2
}
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >&2)

cargo build -p server --bin aidant --locked
scripts/wasm-build.sh

# Node unit tests of the field app's modules that need no browser (the
# vault's key derivation, wrapping and encryption, under Node's WebCrypto;
# the incremental storage over the wasm Store, hence after its build).
node --test tests/e2e/unit/

node --test --test-concurrency=1 tests/e2e/*.test.mjs
