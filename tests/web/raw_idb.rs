//! Raw IndexedDB access for tests that look behind the store's back.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/support/page.js")]
extern "C" {
    pub async fn layout(name: &str) -> JsValue;
    #[wasm_bindgen(js_name = putRaw)]
    pub async fn put_raw(name: &str, store: &str, key: JsValue, value: JsValue);
    #[wasm_bindgen(js_name = hideGetAllRecords)]
    pub fn hide_get_all_records();
    #[wasm_bindgen(js_name = restoreGetAllRecords)]
    pub fn restore_get_all_records();
    #[wasm_bindgen(js_name = openNewer)]
    pub async fn open_newer(name: &str, version: u32);
}
