//! What the browser test binaries share (`mod support;`): a database of its own per test.
//! (The JS tests' shared helpers are in `browser.mjs`, beside this file.)

use idb_session_store::IndexedDbSessionManager;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function deleteDb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = deleteDb)]
    async fn delete_db(name: &str);
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
