//! In a real browser (`wasm-pack test --headless --chrome`): the conformance suite against both
//! stores, then what only IndexedDB has ([`idb`]: persistence across connections, several
//! connections racing, atomic writes, the on-disk layout, closing), and the JS facade's agreement
//! with the Rust API ([`facade`]).
#![cfg(target_arch = "wasm32")]

#[path = "../conformance/mod.rs"]
mod conformance;
mod facade;
mod idb;
mod raw_idb;
#[macro_use]
#[path = "../support/mod.rs"]
mod support;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

conformance::for_each_case!(conformance_on_both_stores);
