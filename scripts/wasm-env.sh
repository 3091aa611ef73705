# shellcheck shell=bash
# Source this file (bash) to get a working wasm32-unknown-unknown toolchain:
#
#     source scripts/wasm-env.sh && cargo build --target wasm32-unknown-unknown $WASM_CARGO_ARGS
#
# Order of preference:
#   1. rustup's own wasm32-unknown-unknown target, if already installed;
#   2. a Debian toolchain already unpacked in .tools/rust-web by an earlier run;
#   3. `rustup target add wasm32-unknown-unknown` (45 s timeout; it hangs on
#      machines without access to static.rust-lang.org);
#   4. Debian's rustc-web + rust-web-src unpacked into .tools/rust-web
#      (apt-get download + dpkg -x, no system install), building std for wasm32
#      with cargo -Zbuild-std. Linked with rustup's rust-lld.
# In every case wasm-bindgen-cli, at the exact wasm-bindgen version of
# Cargo.lock, is installed into .tools/cargo and put on PATH.
#
# Exports: WASM_CARGO_ARGS, CARGO_TARGET_DIR (= target-wasm), PATH,
# CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER, and on the Debian route also
# RUSTC, RUSTDOC, RUSTC_BOOTSTRAP, LD_LIBRARY_PATH and
# CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER. Those replace the compiler for
# *every* cargo command in the sourcing shell, so source it from scripts (a
# subshell), not from an interactive shell you also use for native builds.
#
# Knobs: WASM_TOOLCHAIN=debian forces step 2/4 (to test that route on a machine
# that has the rustup target); WASM_DEBIAN_MIN (default 1.89: uuid 1.29 and
# postcard 1.2 in Cargo.lock need it) is the oldest rustc-web accepted without
# first running `apt-get update`.
# No `set -e` here: the file is sourced. Sourcing it returns non-zero on failure.

_wasm_log() { echo "wasm-env: $*" >&2; }

# Run a command as root (CI runs as root; elsewhere sudo, never prompting).
_wasm_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Version "A.B.C" -> integer A*1000+B, for comparisons.
_wasm_ver() { echo "$1" | awk -F'[.+~-]' '{ print $1 * 1000 + $2 }'; }

# Candidate version of a Debian package, or empty.
_wasm_candidate() {
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

# Step 4: unpack Debian's rustc-web into $1 (idempotent).
_wasm_debian_install() {
  local dest=$1 debs=$1.debs ver mm llvm min
  [ -f "$dest/.complete" ] && return 0
  command -v apt-get >/dev/null || { _wasm_log "no apt-get: cannot use the Debian fallback"; return 1; }
  min=${WASM_DEBIAN_MIN:-1.89}
  ver=$(_wasm_candidate rustc-web)
  # Missing or stale package lists (an old bookworm-security list offers
  # rustc-web 1.85; a fresh one 1.96): refresh them, once.
  if [ -z "$ver" ] || [ "$(_wasm_ver "$ver")" -lt "$(_wasm_ver "$min")" ]; then
    _wasm_log "rustc-web candidate '${ver:-none}' < $min: running apt-get update"
    _wasm_root apt-get update -qq >&2 || return 1
    ver=$(_wasm_candidate rustc-web)
  fi
  [ -n "$ver" ] || { _wasm_log "no rustc-web package in the apt sources"; return 1; }
  mm=$(echo "$ver" | awk -F'[.+~-]' '{ print $1 "." $2 }')
  # libstd-rust-web-X.Y depends on the matching libllvmN.
  llvm=$(apt-cache depends "libstd-rust-web-$mm" 2>/dev/null | grep -o 'libllvm[0-9]*' | head -n1)
  [ -n "$llvm" ] || { _wasm_log "cannot find the libllvm for libstd-rust-web-$mm"; return 1; }
  _wasm_log "downloading rustc-web $ver and $llvm into $dest"
  rm -rf "$dest" "$debs" && mkdir -p "$debs" || return 1
  # apt-get download writes to the current directory; warnings about the
  # unsandboxed download as root are harmless.
  (cd "$debs" && apt-get download -q rustc-web "libstd-rust-web-$mm" libstd-rust-web-dev \
      rust-web-src "$llvm" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' >&2
   exit "${PIPESTATUS[0]}") || { _wasm_log "apt-get download failed"; return 1; }
  local f
  for f in "$debs"/*.deb; do dpkg -x "$f" "$dest" || return 1; done
  # -Zbuild-std only needs library/; the compiler's own sources are ~370 MB.
  rm -rf "$debs" "$dest"/usr/src/rustc-*/src "$dest"/usr/src/rustc-*/compiler "$dest/usr/share/doc"
  [ -x "$dest/usr/bin/rustc" ] && [ -d "$dest/usr/lib/rustlib/src/rust/library" ] \
    || { _wasm_log "unpacked toolchain is incomplete"; return 1; }
  echo "$ver" >"$dest/.complete"
}

# wasm-bindgen-cli at the version pinned in Cargo.lock, into .tools/cargo.
_wasm_bindgen_install() {
  local root=$1 tools=$2 want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$root/Cargo.lock")
  [ -n "$want" ] || { _wasm_log "wasm-bindgen not found in Cargo.lock"; return 1; }
  have=$("$tools/cargo/bin/wasm-bindgen" --version 2>/dev/null | awk '{ print $2 }')
  [ "$have" = "$want" ] && [ -x "$tools/cargo/bin/wasm-bindgen-test-runner" ] && return 0
  _wasm_log "installing wasm-bindgen-cli $want into $tools/cargo (takes a few minutes)"
  # A native build with rustup's compiler: drop anything a previous source set.
  local install=(env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR -u LD_LIBRARY_PATH
    cargo install -q --root "$tools/cargo" wasm-bindgen-cli --version "$want")
  # --locked can fail when the registry lacks a version the crate's lock file
  # names (seen with a crates.io mirror here); then let cargo re-resolve.
  "${install[@]}" --locked >&2 || {
    _wasm_log "cargo install --locked failed; retrying without --locked"
    "${install[@]}" >&2
  } || { _wasm_log "cargo install wasm-bindgen-cli $want failed"; return 1; }
}

_wasm_env() {
  local root tools rweb lld host
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
  tools=$root/.tools
  rweb=$tools/rust-web
  mkdir -p "$tools" || return 1

  export CARGO_TARGET_DIR=$root/target-wasm
  # Sourced a second time in one shell: forget the Debian route's settings.
  if [ "${RUSTC:-}" = "$rweb/usr/bin/rustc" ]; then
    unset RUSTC RUSTDOC RUSTC_BOOTSTRAP CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER
  fi
  export WASM_CARGO_ARGS=""
  if [ "${WASM_TOOLCHAIN:-auto}" != debian ] \
      && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    _wasm_log "using rustup's wasm32-unknown-unknown target"
  elif [ "${WASM_TOOLCHAIN:-auto}" != debian ] && [ ! -f "$rweb/.complete" ] \
      && command -v rustup >/dev/null \
      && timeout 45 rustup target add wasm32-unknown-unknown >&2; then
    _wasm_log "installed rustup's wasm32-unknown-unknown target"
  else
    _wasm_log "using Debian's rustc-web from $rweb (cargo -Zbuild-std)"
    _wasm_debian_install "$rweb" || return 1
    # rust-lld comes with rustup's toolchain (Debian's rustc-web has none).
    host=$(rustc -vV | awk '/^host:/ { print $2 }')
    lld=$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld
    [ -x "$lld" ] || lld=$(command -v rust-lld) \
      || { _wasm_log "no rust-lld found (needed to link wasm32)"; return 1; }
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$lld
    export RUSTC=$rweb/usr/bin/rustc RUSTDOC=$rweb/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
    # librustc_driver and libLLVM live in usr/lib/<multiarch>, e.g. x86_64-linux-gnu.
    local libdir=$rweb/usr/lib/${host/-unknown/}
    case ":${LD_LIBRARY_PATH:-}:" in *":$libdir:"*) ;;
      *) export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ;; esac
    export WASM_CARGO_ARGS="-Zbuild-std=std,panic_abort"
  fi

  _wasm_bindgen_install "$root" "$tools" || return 1
  case ":$PATH:" in *":$tools/cargo/bin:"*) ;; *) export PATH=$tools/cargo/bin:$PATH ;; esac
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
}

# Called in an || list so that a caller's `set -e` does not abort half-way
# through: the functions above check their own errors. (`exit` if executed.)
# shellcheck disable=SC2317
_wasm_env || { _wasm_log "wasm32 toolchain setup failed"; return 1 2>/dev/null || exit 1; }
