#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping each step that is already done:
# a Rust toolchain that targets wasm32, wasm-bindgen-cli (the version Cargo.toml pins), wasm-pack,
# the npm tools (wasm-opt from binaryen, playwright-core, typescript), Chromium and ChromeDriver,
# and PostgreSQL (for session-server's tests).
# On a machine where `rustup target add wasm32-unknown-unknown` works, that is used; where its
# download server is out of reach, Debian's rustc-web is used with a wasm32 std built from source.
set -euo pipefail
source "$(dirname "$0")/env.sh"
GECKODRIVER_VERSION=0.37.1
cd "$ROOT_DIR"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

wasm_toolchain_ready() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return 0
  rustup toolchain list 2>/dev/null | grep -q '^debian-web' \
    && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1 \
    && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libtest-*.rlib >/dev/null 2>&1
}

# Builds Debian rustc-web's wasm32 standard library from its sources into its sysroot, once.
debian_wasm_toolchain() {
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm rust-web-clippy lld-22
  local lib=/usr/lib/rustlib/wasm32-unknown-unknown/lib
  if ! ls "$lib"/libtest-*.rlib >/dev/null 2>&1; then
    log "building the wasm32 standard library from /usr/lib/rustlib/src (about 1.5 minutes)"
    local tmp
    tmp=$(mktemp -d)
    mkdir -p "$tmp/src"
    printf '[package]\nname = "wasm32-std-seed"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "src/lib.rs"\n' >"$tmp/Cargo.toml"
    printf '#![no_std]\n' >"$tmp/src/lib.rs"
    (cd "$tmp" && env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      RUSTFLAGS=-Zforce-unstable-if-unmarked /usr/bin/cargo build -q --release \
      --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort,panic_unwind,test)
    as_root mkdir -p "$lib"
    as_root cp "$tmp"/target/wasm32-unknown-unknown/release/deps/*.rlib "$lib"/
    as_root rm -f "$lib"/libwasm32_std_seed-*.rlib
    rm -rf "$tmp"
  fi
  rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
}

if [ "${1:-}" = --debian-toolchain ]; then
  # Exercise the fallback route even where rustup works (to check it before a fresh machine needs it).
  debian_wasm_toolchain
  exit 0
fi
if ! wasm_toolchain_ready; then
  log "trying rustup target add wasm32-unknown-unknown"
  if ! timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    log "rustup cannot download the target here; using Debian's rustc-web"
    debian_wasm_toolchain
  fi
fi
source "$ROOT_DIR/scripts/env.sh"
log "rust toolchain: $(rustc --version) (${RUSTUP_TOOLCHAIN:-rustup default})"

# Rust tools: one install at a time is all two cores take well.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  cargo install -q --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! command -v wasm-pack >/dev/null 2>&1; then
  log "cargo install wasm-pack (a few minutes)"
  cargo install -q wasm-pack --version 0.13.1
fi

# The three browser engines the tests run in, headless, with their WebDriver servers: Chromium
# (chromedriver), Firefox ESR (geckodriver, from crates.io) and WebKitGTK's MiniBrowser
# (WebKitWebDriver; it needs a display, which xvfb-run gives it).
apt_install chromium chromium-driver firefox-esr webkit2gtk-driver xvfb
if [ "$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}')" != "$GECKODRIVER_VERSION" ]; then
  log "cargo install geckodriver $GECKODRIVER_VERSION (about a minute and a half)"
  cargo install -q --force geckodriver --version "$GECKODRIVER_VERSION"
fi

# PostgreSQL for session-server's tests (scripts/with-postgres.sh runs a throwaway server).
apt_install postgresql

# npm tools: wasm-opt (binaryen), playwright-core, typescript; versions fixed by package-lock.json.
if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "ready"
