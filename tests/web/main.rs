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
#[path = "../support/mod.rs"]
mod support;

use idb_session_store::InMemorySessionManager;
use support::TempDb;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! browser_tests {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            use super::*;
            $(
                #[wasm_bindgen_test]
                async fn $case() {
                    conformance::$case(&InMemorySessionManager::new()).await;
                }
            )*
        }
        mod indexed_db {
            use super::*;
            $(
                #[wasm_bindgen_test]
                async fn $case() {
                    let db = TempDb::new(stringify!($case));
                    let store = db.open().await;
                    conformance::$case(&store).await;
                    store.close();
                    db.remove().await;
                }
            )*
        }
    };
}

conformance::for_each_case!(browser_tests);
