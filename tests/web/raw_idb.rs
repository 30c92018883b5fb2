//! Raw IndexedDB access for tests that look behind the store's back.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const opened = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});
export async function layout(name) {
  const db = await opened(indexedDB.open(name));
  const sessions = db.transaction("sessions").objectStore("sessions");
  const out = {
    version: db.version,
    stores: [...db.objectStoreNames],
    keyPath: sessions.keyPath,
    indexes: [...sessions.indexNames],
    indexKeyPath: sessions.index("updated_at").keyPath,
    tag: [sessions.index("tag").keyPath, sessions.index("tag").multiEntry],
    agent: sessions.index("agent").keyPath,
  };
  const words = db.transaction("words").objectStore("words");
  out.words = [words.keyPath, [...words.indexNames], words.index("word").keyPath, words.index("word").multiEntry];
  db.close();
  return JSON.stringify(out);
}
export async function putRaw(name, store, key, value) {
  const db = await opened(indexedDB.open(name));
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).put(value, key);
  await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onabort = () => reject(tx.error); });
  db.close();
}
let hidden = null;
export function hideGetAllRecords() {
  hidden = Object.getOwnPropertyDescriptor(IDBIndex.prototype, "getAllRecords") ?? null;
  if (hidden) delete IDBIndex.prototype.getAllRecords;
}
export function restoreGetAllRecords() {
  if (hidden) Object.defineProperty(IDBIndex.prototype, "getAllRecords", hidden);
}
export async function openNewer(name, version) {
  const db = await opened(indexedDB.open(name, version));
  db.close();
}
"#)]
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
