#!/usr/bin/env bash
# The cargo runner of the wasm tests (make test-browser-*): wasm-bindgen-test-runner on one test
# binary, run once more if its test page never got past "Loading scripts...". The runner's server
# (tiny_http 0.12) now and then leaves one of the modules a page loads at once unanswered (the
# browser gives up on it after 300 s); that is the harness, not a test, so a second page is asked
# for, and the first failure stays in the log. Any other failure is the test's, reported as is.
# The soak keeps WASM_BINDGEN_TEST_TIMEOUT; every other binary gets WASM_PAGE_TIMEOUT (300 s).
set -uo pipefail
case "$1" in
  *soak-*) ;;
  *) export WASM_BINDGEN_TEST_TIMEOUT="${WASM_PAGE_TIMEOUT:-300}" ;;
esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
  wasm-bindgen-test-runner "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [ "$status" -eq 0 ] || ! grep -q "Loading scripts\.\.\." "$log"; then
    exit "$status"
  fi
  echo "wasm-test-runner: $(basename "$1"): the test page never loaded its scripts (attempt $attempt of 2)" >&2
done
exit "$status"
