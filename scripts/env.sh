# Sourced by the Makefile and the other scripts: selects the Rust toolchain that can build
# wasm32 on this machine and puts the project's tools on PATH. Changes nothing on disk.

# The wasm-bindgen version the crate pins (`wasm-bindgen = "=X"` in Cargo.toml); the CLI must match.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml" | head -n 1)
export WASM_BINDGEN_VERSION

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT_DIR
export PATH="$HOME/.cargo/bin:$ROOT_DIR/node_modules/.bin:$PATH"

# A rustup toolchain with the wasm32 target wins; otherwise the Debian toolchain linked by setup.sh.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  :
elif rustup toolchain list 2>/dev/null | grep -q '^debian-web' \
  && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1; then
  export RUSTUP_TOOLCHAIN=debian-web
fi
