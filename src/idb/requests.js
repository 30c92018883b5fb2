// Promise adapters for IndexedDB events. Only the event-to-promise plumbing lives here; what is
// read and written, and in which transaction, is decided by the Rust code that calls these.
import { blockLength, cutBlock, eachHolding } from "../js/convert.js";

/** Resolves with the request's result, rejects with its DOMException. */
export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves when the transaction commits; rejects with the error that aborted it. */
export function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () =>
      reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
  });
}

function unavailable(message) {
  const error = new Error(message);
  error.name = "UnavailableError";
  return error;
}

/**
 * Opens database `name` at `version`, calling `upgrade(db, tx, oldVersion)` inside the upgrade
 * transaction. Rejects with an `UnavailableError` when IndexedDB is missing or refused, or when
 * the open stays blocked by another connection for `blockedMs`.
 */
export function openDatabase(name, version, upgrade, blockedMs) {
  return new Promise((resolve, reject) => {
    let factory;
    try {
      factory = globalThis.indexedDB;
    } catch (e) {
      reject(unavailable(`IndexedDB is refused in this context: ${e && e.message}`));
      return;
    }
    if (!factory) {
      reject(unavailable("IndexedDB is not available in this context"));
      return;
    }
    let req;
    try {
      req = factory.open(name, version);
    } catch (e) {
      reject(unavailable(`IndexedDB refused to open database "${name}": ${e && e.message}`));
      return;
    }
    let settled = false;
    let upgradeError = null;
    let timer = null;
    const settle = (fn, value) => {
      if (settled) return false;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      fn(value);
      return true;
    };
    req.onupgradeneeded = (event) => {
      try {
        upgrade(req.result, req.transaction, event.oldVersion);
      } catch (e) {
        upgradeError = e;
        req.transaction.abort();
      }
    };
    req.onblocked = () => {
      if (timer === null && !settled) {
        timer = setTimeout(() => {
          settle(reject, unavailable(
            `opening database "${name}" at version ${version} is blocked: another tab holds an ` +
            `older connection and did not close it within ${blockedMs} ms`));
        }, blockedMs);
      }
    };
    req.onsuccess = () => {
      // An open that succeeds after we gave up must not keep the database locked.
      if (!settle(resolve, req.result)) req.result.close();
    };
    req.onerror = (event) => {
      event.preventDefault();
      settle(reject, upgradeError ?? req.error);
    };
  });
}

/**
 * The metadata objects of the session records in `index`, last key first: skips `offset`,
 * returns at most `limit`, or all of them when `limit` is undefined. A page is one request where
 * the browser takes a direction for getAll (IndexedDB 3.0), else one cursor walk; it never reads
 * more than `offset + limit` records.
 */
export function metadataNewestFirst(index, offset, limit) {
  const metadata = (records) => records.map((record) => record.metadata);
  if (limit === undefined) return request(index.getAll()).then((all) => metadata(all.reverse()));
  if (limit === 0) return Promise.resolve([]);
  if ("getAllRecords" in index) {
    return request(index.getAll({ query: null, count: offset + limit, direction: "prev" })).then((all) =>
      metadata(all.slice(offset)),
    );
  }
  return new Promise((resolve, reject) => {
    const out = [];
    let skipped = offset === 0;
    const req = index.openCursor(null, "prev");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve(out);
      if (!skipped) {
        skipped = true;
        cursor.advance(offset);
        return;
      }
      out.push(cursor.value.metadata);
      if (out.length === limit) resolve(out);
      else cursor.continue();
    };
  });
}

/** Resolves with the highest key of `index` (the write clock), or undefined when it is empty. */
export function highestKey(index) {
  return request(index.openKeyCursor(null, "prev")).then((cursor) => (cursor ? cursor.key : undefined));
}

/** Resolves with `[key, value]` of the last record of `store` within `range`, or undefined. */
export function lastEntry(store, range) {
  return request(store.openCursor(range, "prev")).then((cursor) => (cursor ? [cursor.primaryKey, cursor.value] : undefined));
}

/**
 * Replaces each record of `store` by `rewrite(record)`, by a cursor that runs on in the
 * transaction (an upgrade's) after this returns; an error aborts the transaction.
 */
export function rewriteRecords(store, rewrite) {
  const req = store.openCursor();
  req.onsuccess = () => {
    const cursor = req.result;
    if (!cursor) return;
    cursor.update(rewrite(cursor.value));
    cursor.continue();
  };
}

/**
 * The metadata objects of the session records of `index` within `range`, last key first, those
 * of agent `agent` only if it is given: skips `offset` of them, returns at most `limit`. One
 * cursor walk, which reads no record past the page (and, without `agent`, none before it).
 */
export function metadataInRange(index, range, offset, limit, agent) {
  if (limit === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const out = [];
    let skip = offset;
    let advanced = agent !== undefined || offset === 0;
    const req = index.openCursor(range, "prev");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve(out);
      if (!advanced) {
        advanced = true;
        skip = 0;
        cursor.advance(offset);
        return;
      }
      const metadata = cursor.value.metadata;
      if (agent === undefined || metadata.agentName === agent) {
        if (skip > 0) skip--;
        else out.push(metadata);
      }
      if (out.length === limit) resolve(out);
      else cursor.continue();
    };
  });
}

/**
 * The `[id, start]` keys of `words` blocks, each once, as three arrays: the distinct ids, and per
 * block the place of its id among them and its first message; so that wasm reads each id once
 * and the rest in bulk.
 */
export function splitBlockKeys(keys) {
  const ids = [];
  const place = new Map();
  const seen = new Set();
  const [session, start] = [[], []];
  for (const [id, at] of keys) {
    let p = place.get(id);
    if (p === undefined) place.set(id, (p = ids.push(id) - 1));
    const key = `${p} ${at}`;
    if (seen.has(key)) continue; // a block holding two words of the prefix
    seen.add(key);
    session.push(p);
    start.push(at);
  }
  return [ids, Uint32Array.from(session), Float64Array.from(start)];
}

/**
 * The messages holding a word that starts with each of `prefixes`, of the `words` blocks
 * `blocks` keyed `keys` (`[id, start]`; a block may come twice, from two words of a prefix):
 * `[ids, blocks read, per message the place of its session in ids, its index, its keys]`.
 */
function messagesIn(keys, blocks, prefixes) {
  const ids = [];
  const place = new Map();
  const seen = new Set();
  const [session, index, words] = [[], [], []];
  blocks.forEach((block, n) => {
    const [id, start] = keys[n];
    let p = place.get(id);
    if (p === undefined) place.set(id, (p = ids.push(id) - 1));
    const key = `${p} ${start}`;
    if (seen.has(key)) return;
    seen.add(key);
    eachHolding(block, prefixes, (j, keysOf) => {
      session.push(p);
      index.push(start + j);
      words.push(keysOf());
    });
  });
  return [ids, seen.size, Uint32Array.from(session), Float64Array.from(index), words];
}

/** The messages of the `words` blocks that `index` lists within `range` holding each of `prefixes`, as messagesIn. */
export function messagesHolding(index, range, prefixes) {
  return Promise.all([request(index.getAllKeys(range)), request(index.getAll(range))]).then(([keys, blocks]) =>
    messagesIn(keys, blocks, prefixes));
}

/**
 * The messages holding a word that starts with each of `prefixes` of the `words` blocks keyed
 * `keys` in `store`, read in that order (eight at a time) until `enough` are found; each block's
 * messages last first. Resolves with `[per message the place of its block in keys, its index]`.
 */
export async function firstHolding(store, keys, prefixes, enough) {
  const [block, index] = [[], []];
  for (let at = 0; at < keys.length && index.length < enough; at += 8) {
    const some = keys.slice(at, at + 8);
    const read = await Promise.all(some.map((key) => request(store.get(key))));
    read.forEach((b, n) => {
      if (b === undefined) return;
      const found = [];
      eachHolding(b, prefixes, (j) => found.push(j));
      for (const j of found.reverse()) {
        block.push(at + n);
        index.push(some[n][1] + j);
      }
    });
  }
  return [Uint32Array.from(block), Float64Array.from(index)];
}

/** Block `b` cut to its first `n` messages (`n` ≥ 1), or undefined if it holds no more. */
export function blockCut(b, n) {
  return blockLength(b) > n ? cutBlock(b, n) : undefined;
}

/**
 * How many entries `index` holds within `range`, or `cap` if at least that many: a key cursor
 * skips `cap` of them first, so a range far larger than `cap` is not counted whole (an infinite
 * `cap` counts all).
 */
export function countUpTo(index, range, cap) {
  if (!Number.isFinite(cap)) return request(index.count(range));
  return new Promise((resolve, reject) => {
    const req = index.openKeyCursor(range);
    let skipped = false;
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (cursor && !skipped) {
        skipped = true;
        cursor.advance(cap);
      } else if (cursor) {
        resolve(cap);
      } else {
        const count = index.count(range);
        count.onsuccess = () => resolve(count.result);
        count.onerror = () => reject(count.error);
      }
    };
  });
}

/**
 * Session ids newest first, a few at a time: a cursor walking `index` within `range` (all of it
 * if null) backwards. With `agent`, only that agent's sessions (the cursor then reads records).
 */
export class NewestFirst {
  constructor(index, range, agent) {
    Object.assign(this, { index, range, agent, req: null, done: false });
  }

  /** The next `n` ids (fewer at the end). */
  next(n) {
    if (this.done) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const ids = [];
      if (this.req === null) {
        const open = this.agent === undefined ? "openKeyCursor" : "openCursor";
        this.req = this.index[open](this.range, "prev");
      } else {
        this.req.result.continue();
      }
      this.req.onerror = () => reject(this.req.error);
      this.req.onsuccess = () => {
        const cursor = this.req.result;
        if (!cursor) {
          this.done = true;
          return resolve(ids);
        }
        if (this.agent === undefined || cursor.value.metadata.agentName === this.agent) ids.push(cursor.primaryKey);
        if (ids.length === n) resolve(ids);
        else cursor.continue();
      };
    });
  }
}

/**
 * `[keys, blocks]` of session `id` in `store` (`words`): in one request where the engine has
 * getAllRecords (Chromium 141 and later), else in two.
 */
function wordsOf(store, id) {
  const range = IDBKeyRange.bound([id, 0], [id, Infinity]);
  if (typeof store.getAllRecords === "function") {
    return request(store.getAllRecords({ query: range })).then((all) => [all.map((r) => r.key), all.map((r) => r.value)]);
  }
  return Promise.all([request(store.getAllKeys(range)), request(store.getAll(range))]);
}

/**
 * The next `n` sessions of `walker` (a NewestFirst) and, of their `words` blocks in `store`
 * (read for all the sessions at once), the messages holding a word that starts with each of
 * `prefixes`: `[ids, blocks read, per message the place of its session in ids, its index, its
 * keys]`.
 */
export async function nextHolding(walker, store, n, prefixes) {
  const ids = await walker.next(n);
  const read = await Promise.all(ids.map((id) => wordsOf(store, id)));
  const [keys, blocks] = [read.flatMap(([k]) => k), read.flatMap(([, b]) => b)];
  const [found, ...rest] = messagesIn(keys, blocks, prefixes);
  // Sessions without blocks are not in found: the places are into ids, every session walked.
  const place = new Map(ids.map((id, p) => [id, p]));
  const session = Uint32Array.from(rest[1], (p) => place.get(found[p]));
  return [ids, rest[0], session, rest[2], rest[3]];
}
