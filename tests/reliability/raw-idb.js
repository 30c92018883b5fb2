// Raw IndexedDB access for the reliability tests, in the page, bypassing the store: dump every
// object store exactly (layout, keys, values) and write a fixture with the frozen v1 layout; text
// that does not compress, for filling a quota; and a put the browser refuses, for failing a write.

/**
 * Makes the `n`th `IDBObjectStore.prototype.put` from now throw InvalidStateError (as Firefox's
 * cleanup transaction does after a quota failure); returns the function that puts `put` back.
 */
export function refusePut(n) {
  const put = IDBObjectStore.prototype.put;
  let calls = 0;
  IDBObjectStore.prototype.put = function (...args) {
    if (++calls === n) throw new DOMException("refused by the test", "InvalidStateError");
    return put.apply(this, args);
  };
  return () => {
    IDBObjectStore.prototype.put = put;
  };
}

let noiseSeed = 1;
/**
 * `n` characters of pseudo-random text, different on every call (a seeded generator): Firefox
 * compresses what it stores, so a quota is filled only by text like this.
 */
export function noise(n) {
  let out = "";
  while (out.length < n) {
    noiseSeed = (Math.imul(noiseSeed, 1103515245) + 12345) >>> 0;
    out += noiseSeed.toString(36);
  }
  return out.slice(0, n);
}

export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
}

/** Every object store of database `name`, raw: layout, keys and values, in key order. */
export async function dumpDatabase(name) {
  const db = await req(indexedDB.open(name));
  try {
    const names = [...db.objectStoreNames];
    const out = { version: db.version, stores: {} };
    if (names.length === 0) return out;
    const tx = db.transaction(names, "readonly");
    const pending = names.map((n) => {
      const store = tx.objectStore(n);
      const indexes = [...store.indexNames].map((i) => {
        const index = store.index(i);
        return { name: i, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry };
      });
      return Promise.all([req(store.getAllKeys()), req(store.getAll())]).then(([keys, values]) => {
        out.stores[n] = { keyPath: store.keyPath, autoIncrement: store.autoIncrement, indexes, keys, values };
      });
    });
    await Promise.all(pending);
    return out;
  } finally {
    db.close();
  }
}

/** The same dump as one string, for byte-for-byte comparison. */
export async function dumpText(name) {
  return JSON.stringify(await dumpDatabase(name));
}
