//! What the browser test binaries share (`mod support;`): a database of its own per test, and
//! the conformance suite run on both stores.
//! (The JS tests' shared helpers are in `browser.mjs`, beside this file.)

use idb_session_store::IndexedDbSessionManager;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/support/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = deleteDb)]
    async fn delete_db(name: &str);
}

/// Runs `$case`s of the conformance suite (`for_each_case!(conformance_on_both_stores)`) as
/// browser tests against both stores: the in-memory one, and IndexedDB on a database of its own.
/// The test binary says where they run (a window, a dedicated or a shared worker).
#[allow(unused_macros)] // the soak shares this module and runs no suite
macro_rules! conformance_on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            use super::conformance;
            use idb_session_store::InMemorySessionManager;
            use wasm_bindgen_test::wasm_bindgen_test;
            $(
                #[wasm_bindgen_test]
                async fn $case() {
                    conformance::$case(&InMemorySessionManager::new()).await;
                }
            )*
        }
        mod indexed_db {
            use super::conformance;
            use super::support::TempDb;
            use wasm_bindgen_test::wasm_bindgen_test;
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

/// A database no other test uses, named after the test that made it; [`TempDb::remove`]
/// deletes it.
pub struct TempDb {
    pub name: String,
}

impl TempDb {
    pub fn new(test: &str) -> Self {
        TempDb {
            name: format!("test-{test}-{}", uuid::Uuid::new_v4()),
        }
    }

    /// A new connection to the database.
    pub async fn open(&self) -> IndexedDbSessionManager {
        IndexedDbSessionManager::open(&self.name)
            .await
            .expect("open")
    }

    pub async fn remove(self) {
        delete_db(&self.name).await;
    }
}
