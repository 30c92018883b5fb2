#!/usr/bin/env bash
# Builds the npm package (--target web) of an earlier git revision into pkg-before/, for the
# benchmark's "before" column: `make bench BASELINE=rev`. Its own target directory keeps later
# builds of other revisions incremental.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT_DIR"
rev=${1:?usage: build-before.sh REVISION}
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"' EXIT
git worktree add --detach "$tree" "$rev" >/dev/null
rm -rf pkg-before
(cd "$tree" && CARGO_TARGET_DIR="$ROOT_DIR/target/before" \
  wasm-pack build --release --target web --out-dir "$ROOT_DIR/pkg-before" >/dev/null)
echo "pkg-before/: the package as of $(git rev-parse --short "$rev")" >&2
