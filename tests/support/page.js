// The JS the wasm test binaries call, in one module: the test runner's server can leave one of
// the modules a page loads at once unanswered (see the Makefile), so the tests add one, not three.

// Test databases (tests/support/mod.rs).
export function deleteDb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

// Breaking JSON.stringify to reach the facade's bug path (tests/web/facade.rs).
let original = null;
export function breakStringify() {
  original = JSON.stringify;
  JSON.stringify = () => { throw new TypeError("a bug in the encoder"); };
}
export function mendStringify() {
  JSON.stringify = original;
}

// Raw IndexedDB: the layout a database has, records written behind the store, engines without getAllRecords (tests/web/raw_idb.rs).
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
