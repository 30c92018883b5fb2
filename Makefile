# The single entry point: `make serve` builds the package and serves the playground,
# `make test` runs every test. Each target installs what it needs first (scripts/setup.sh).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ENV := source scripts/env.sh &&
PORT ?= 8080

.PHONY: setup build serve check test lint test-native test-browser test-smoke test-e2e test-package test-reliability bench clean
.PHONY: server test-server test-sync bench-server bench-sync bench-search test-browser-chrome test-browser-firefox test-browser-webkit
.PHONY: $(foreach s,smoke e2e reliability,$(addprefix test-$(s)-,chrome firefox webkit))

# What pkg/ is built from: it is rebuilt only when one of these changed.
PKG_SOURCES := $(shell find src -type f) Cargo.toml Cargo.lock scripts/package.mjs README.md LICENSE

setup:
	bash scripts/setup.sh

## pkg/: the npm package, optimized by wasm-opt: the --target web build (ES module for browsers
## without a bundler, and Vite) plus the --target bundler glue as the subpath
## `idb-session-store/bundler`, sharing one wasm (scripts/package.mjs).
build: pkg/package.json

pkg/package.json: $(PKG_SOURCES) | setup
	rm -rf pkg pkg-bundler
	$(ENV) wasm-pack build --release --target web --out-dir pkg
	$(ENV) wasm-pack build --release --target bundler --out-dir pkg-bundler
	$(ENV) node scripts/package.mjs

serve: build
	$(ENV) node scripts/serve.mjs --port $(PORT)

test: setup lint test-native test-server test-browser test-smoke test-e2e test-package test-reliability test-sync

## The fast loop: formatting, lints, native tests, and in headless Chromium the conformance suite
## and IndexedDB tests (tests/web.rs) and the store's unit tests, without the soak.
check: setup lint test-native
	$(ENV) WASM_BINDGEN_TEST_ONLY_WEB=1 CHROMEDRIVER=$$(command -v chromedriver) $(WASM_RUN) --lib --test web

lint:
	$(ENV) env -u RUSTUP_TOOLCHAIN cargo fmt --check
	$(ENV) cargo clippy --all-targets -- -D warnings
	$(ENV) cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
	$(ENV) env -u RUSTUP_TOOLCHAIN cargo fmt --check -p session-server
	$(ENV) cargo clippy -p session-server --all-targets -- -D warnings

## The conformance suite natively, against the in-memory store (and the README's Rust quick start).
test-native:
	$(ENV) cargo test

## session-server (server/): the conformance suite on SQLite and on a throwaway PostgreSQL that
## scripts/with-postgres.sh starts and stops, and the HTTP tests against the built binary.
test-server:
	$(ENV) scripts/with-postgres.sh cargo test -p session-server

## Builds session-server (the `server` profile: optimized for speed) and serves the API on
## 127.0.0.1:8787, on SQLite in ./session-data unless DATABASE_URL names PostgreSQL.
## SERVER_ARGS adds serve flags, e.g. SERVER_ARGS="--allow-origin http://127.0.0.1:8080".
server:
	$(ENV) cargo build --profile server -p session-server
	target/server/session-server serve $(SERVER_ARGS)

## The browser store syncing with session-server (optimized) on a throwaway PostgreSQL: first
## sync of 1,000 sessions, one turn pushed at history 10 and 10,000, an idle round.
## Search and filter timings (bench/search.mjs): queries at 1,000 and 10,000 sessions, append with search on and off.
bench-search: build
	$(ENV) $(JS_ENGINE_$(BENCH_BROWSER)) node bench/search.mjs

bench-sync: build
	$(ENV) cargo build --profile server -p session-server
	$(ENV) SESSION_SERVER_BIN=target/server/session-server scripts/with-postgres.sh node bench/sync.mjs

## The server over HTTP on SQLite and a throwaway PostgreSQL; prints the table in BENCHMARKS.md.
bench-server:
	$(ENV) scripts/with-postgres.sh cargo bench -p session-server --profile server --bench http

## In each engine of BROWSERS, headless: the conformance suite on both stores in a window and in a
## dedicated and a shared worker, the IndexedDB and facade tests, the store's unit tests, and the
## model-based soak (tests/soak.rs) of SOAK_OPS steps. The runner's limit is per test binary, so it
## is raised for the soak. WebKit (WebKitGTK's MiniBrowser) runs under xvfb-run behind
## scripts/webkit-webdriver.mjs, as wasm-pack knows no WebKit; all three through cargo test with
## the runner the engine's WebDriver server is named to. The crate keeps its JS in three
## modules (src/idb/requests.js, src/idb/sync/client.js, src/js/convert.js): the runner's server
## (tiny_http 0.12's task pool) can lose one of four or more connections a page opens at once
## (a notify lost while its threads hold kept-alive connections), and the test page then hangs.
## The test binaries add modules of their own (tests/web loads six at once), and in this project's
## runs a page still hung now and then (convert.js unanswered for 300 s): the runner script asks
## for a second page then.
BROWSERS ?= chrome firefox webkit
## 5,000 steps in each engine, or as many as fit in SOAK_SECONDS (1,000 at least): at 10,000 the
## three soaks took six and a half of the 25 minutes the whole `make test` may take (226 s of them
## in Chromium), and 5,000 took Chromium 71 to 132 s by seed. Firefox and WebKit run 5,000 in
## about 35 s. SOAK_OPS=100000 SOAK_SECONDS= for a longer one.
SOAK_OPS ?= 5000
SOAK_SECONDS ?= 25
WASM_TEST := WASM_BINDGEN_TEST_TIMEOUT=600 WASM_BINDGEN_TEST_ONLY_WEB=1 SOAK_OPS=$(SOAK_OPS) \
  SOAK_SECONDS=$(SOAK_SECONDS)
test-browser: $(addprefix test-browser-,$(BROWSERS))

## Each test binary through scripts/wasm-test-runner.sh, which runs wasm-bindgen-test-runner
## (headless) and, should the page hang loading its modules, once more.
WASM_RUN := env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(CURDIR)/scripts/wasm-test-runner.sh \
  cargo test --target wasm32-unknown-unknown

test-browser-chrome:
	$(ENV) $(WASM_TEST) CHROMEDRIVER=$$(command -v chromedriver) $(WASM_RUN)

test-browser-firefox:
	$(ENV) $(WASM_TEST) GECKODRIVER=$$(command -v geckodriver) $(WASM_RUN)

test-browser-webkit:
	$(ENV) $(WASM_TEST) xvfb-run -a node scripts/webkit-webdriver.mjs -- $(WASM_RUN)

## The JS tests run in each engine of BROWSERS, all on one build of pkg/: Chromium through
## Playwright, Firefox and WebKit over WebDriver (tests/support/webdriver.mjs; WebKit under
## xvfb-run, as MiniBrowser needs a display). TEST_BROWSER tells the tests which engine.
JS_ENGINE_chrome := TEST_BROWSER=chromium
JS_ENGINE_firefox := TEST_BROWSER=firefox
JS_ENGINE_webkit := TEST_BROWSER=webkit xvfb-run -a

## The built package driven through its JS API (and the README's JS quick start).
test-smoke: $(addprefix test-smoke-,$(BROWSERS))
$(addprefix test-smoke-,chrome firefox webkit): test-smoke-%: build
	$(ENV) $(JS_ENGINE_$*) node --test tests/smoke/

## The playground (www/) driven as a person would; screenshots in test-results/.
test-e2e: $(addprefix test-e2e-,$(BROWSERS))
$(addprefix test-e2e-,chrome firefox webkit): test-e2e-%: build
	$(ENV) $(JS_ENGINE_$*) node --test tests/e2e/

## `npm pack` of pkg/ installed into fresh apps (plain ESM page, Vite build and dev server, webpack 5) in a
## temporary directory, each run in headless Chromium; the example TypeScript checked against it.
test-package: build
	$(ENV) node --test tests/package/

## Ours against Dexie 4 and raw IndexedDB in one headless browser, BENCH_BROWSER (chrome, firefox
## or webkit); prints the table (see BENCHMARKS.md) and writes it to test-results/bench-<engine>.md.
## BASELINE=<git revision> adds the package as built from that revision, as the "before" column.
BENCH_BROWSER ?= chrome
bench: build
	$(if $(BASELINE),$(ENV) bash scripts/build-before.sh $(BASELINE))
	$(ENV) BENCH_BEFORE=$(if $(BASELINE),1,0) $(JS_ENGINE_$(BENCH_BROWSER)) node bench/run.mjs

## Syncing (tests/sync/): devices as headless-Chromium contexts, through the built package, real
## HTTP and session-server (debug build) on a throwaway PostgreSQL. One file at a time: each kills
## and restarts its server. The binary is the one test-server's build makes (`cargo build` would
## build it again with other features of its dependencies).
test-sync: build
	$(ENV) cargo test -p session-server --no-run
	$(ENV) scripts/with-postgres.sh node --test --test-concurrency=1 tests/sync/

## The threats in RELIABILITY.md, in each engine of BROWSERS through the built package: many
## tabs, crashes mid-save, schema upgrades, full disk, no IndexedDB, hostile input. One file at a
## time, so the crash timings are not disturbed by another browser.
test-reliability: $(addprefix test-reliability-,$(BROWSERS))
$(addprefix test-reliability-,chrome firefox webkit): test-reliability-%: build
	$(ENV) $(JS_ENGINE_$*) node --test --test-concurrency=1 tests/reliability/

clean:
	rm -rf target pkg pkg-bundler pkg-before test-results
