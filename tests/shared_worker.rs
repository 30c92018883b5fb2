//! The conformance suite against both stores inside a shared worker, where agents run off the page's
//! main thread: IndexedDB, the store and its change channel must work there as in a window.
#![cfg(target_arch = "wasm32")]

#[path = "conformance/mod.rs"]
mod conformance;
#[macro_use]
mod support;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_shared_worker);

conformance::for_each_case!(conformance_on_both_stores);
