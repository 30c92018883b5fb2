// Schema upgrades: a database written by schema version 1 or 2 (the committed fixtures) opens
// with every session unchanged, version 3's tagKeys added to each record, and the search index
// built in the background, reporting progress; an old connection steps aside when another tab
// asks for a newer version; and an open that stays blocked rejects UNAVAILABLE, saying why.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

const ROOT = new URL("../../", import.meta.url);
/** The schema version of this code. */
const VERSION = 3;
let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

for (const old of [1, 2]) {
  test(`a schema-version-${old} database opens with every session unchanged, and is indexed for search`, async () => {
    const fixture = JSON.parse(await readFile(new URL(`tests/fixtures/v${old}-database.json`, ROOT), "utf8"));
    assert.equal(fixture.version, old);
    assert.ok(fixture.api.list.length >= 5, "the fixture shrank");
    const { context, pages: [page] } = await site.tabs(1);
    const r = await run(page, async ({ SessionStore }, raw, { dbName, fixture }) => {
      const { writeDump } = await import("/tests/fixtures/write-dump.js");
      await writeDump(dbName, fixture);
      const progress = [];
      const store = await SessionStore.open(dbName, { onIndexProgress: (...p) => progress.push(p) });
      const indexed = await store.whenIndexed();
      const list = await store.list();
      const sessions = {};
      for (const m of list) sessions[m.id] = await store.resume(m.id);
      const hits = await store.search("QUESTION 148");
      const tagged = await store.list({ tag: "production" });
      store.close();
      const dumpAfterOpen = await raw.dumpDatabase(dbName);
      // What the word blocks cover, per session: [first message, messages] of each block.
      const covered = {};
      const db = await raw.req(indexedDB.open(dbName));
      const blocks = db.transaction("words").objectStore("words");
      const [keys, values] = [await raw.req(blocks.getAllKeys()), await raw.req(blocks.getAll())];
      keys.forEach(([id, start], i) => (covered[id] ??= []).push([start, values[i].e.length]));
      db.close();
      // The write clock carries on from the stored one: a new write sorts first.
      const again = await SessionStore.open(dbName);
      await again.tag(list.at(-1).id, ["after upgrade"]);
      const order = (await again.list()).map((m) => m.id);
      again.close();
      return { list, sessions, dumpAfterOpen, covered, order, progress, indexed, hits, tagged };
    }, { dbName: uniqueDb(`v${old}`), fixture });
    assert.deepEqual(r.list, fixture.api.list, `list() differs from what version ${old} returned`);
    assert.deepEqual(r.sessions, fixture.api.sessions, `a session differs from what version ${old} returned`);
    const { stores } = r.dumpAfterOpen;
    assert.equal(r.dumpAfterOpen.version, VERSION);
    for (const name of ["chunks", "states", "synced", "deletions", "sync"]) {
      const want = fixture.stores[name] ?? { keyPath: null, autoIncrement: false, indexes: [], keys: [], values: [] };
      assert.deepEqual(stores[name], want, `opening changed the ${name} store`);
    }
    // Each session record is as it was, with one [tag, updatedAt, seq] per tag added.
    assert.deepEqual(stores.sessions.keys, fixture.stores.sessions.keys);
    stores.sessions.values.forEach((record, i) => {
      const { tagKeys, ...rest } = record;
      assert.deepEqual(rest, fixture.stores.sessions.values[i], "a session record changed");
      const want = record.metadata.tags.map((t) => [t, record.metadata.updatedAt, record.seq]);
      assert.deepEqual(tagKeys ?? [], want, `tagKeys of ${record.metadata.id}`);
    });
    // Every message has its words, in blocks of up to 32 covering each once; every session has
    // its mark, and progress went to the end.
    for (const m of fixture.api.list) {
      const blocks = r.covered[m.id] ?? [];
      let next = 0;
      for (const [start, length] of blocks) {
        assert.ok(start === next && length >= 1 && length <= 32, `${m.id}: block [${start}, +${length}) after ${next}`);
        next += length;
      }
      assert.equal(next, r.sessions[m.id].messages.length, `${m.id}: the blocks cover ${next} messages`);
    }
    assert.deepEqual(stores.indexed.keys, [...fixture.stores.sessions.keys].sort());
    const n = fixture.api.list.length;
    assert.deepEqual(r.indexed, { indexed: n, total: n });
    assert.deepEqual(r.progress.at(0), [0, n]);
    assert.deepEqual(r.progress.at(-1), [n, n]);
    const fork = fixture.api.list.find((m) => m.name === "branch").id;
    assert.deepEqual(r.hits.slice(0, 2).map((h) => [h.id, h.messageIndex]).sort(),
      [[fork, 148], ["long-history", 148]].sort());
    assert.deepEqual(r.tagged, r.list.filter((m) => m.tags.includes("production")));
    assert.ok(r.tagged.length >= 2);
    const ids = fixture.api.list.map((m) => m.id);
    assert.deepEqual(r.order, [ids.at(-1), ...ids.slice(0, -1)]);
    await context.close();
  });
}

test("an old connection closes when another tab opens a newer version", async () => {
  const dbName = uniqueDb("versionchange");
  const { context, pages: [oldTab, newTab] } = await site.tabs(2);
  await run(oldTab, async ({ SessionStore }, _raw, dbName) => {
    window.store = await SessionStore.open(dbName);
    await window.store.save({ metadata: { id: "kept", name: "n", tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
      turnCount: 1, totalTokens: 0 }, messages: ["hello"], state: null });
  }, dbName);
  const upgraded = await run(newTab, async (_lib, raw, { dbName, version }) => {
    const started = performance.now();
    let blocked = false;
    const request = indexedDB.open(dbName, version);
    request.onblocked = () => (blocked = true);
    const db = await raw.req(request);
    const out = { version: db.version, blocked, ms: performance.now() - started };
    const tx = db.transaction("sessions");
    out.kept = await raw.req(tx.objectStore("sessions").get("kept"));
    db.close();
    return out;
  }, { dbName, version: VERSION + 1 });
  assert.equal(upgraded.version, VERSION + 1);
  assert.equal(upgraded.blocked, false, "the old tab blocked the upgrade instead of closing");
  assert.equal(upgraded.kept.metadata.name, "n");
  const later = await run(oldTab, async ({ SessionStore }, _raw, dbName) => {
    const grab = (p) => p.then(() => "resolved", (e) => `${e.name} ${e.code}: ${e.message}`);
    return {
      list: await grab(window.store.list()),
      resume: await grab(window.store.resume("kept")),
      tag: await grab(window.store.tag("kept", ["x"])),
      reopen: await grab(SessionStore.open(dbName)),
    };
  }, dbName);
  for (const op of ["list", "resume", "tag"]) {
    assert.match(later[op], /^SessionError CLOSED: .*another tab opened a newer version.*reload/, op);
  }
  // This code knows up to version 3: a database already at version 4 is refused, saying so.
  assert.match(later.reopen, /^SessionError UNAVAILABLE: .*VersionError/);
  for (const page of [oldTab, newTab]) assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
});

/** URL path of the adapter wasm-pack copied into pkg/ (src/idb/requests.js). */
async function adapterPath() {
  const snippets = new URL("pkg/snippets/", ROOT);
  for (const dir of await readdir(snippets)) {
    if (existsSync(new URL(`${dir}/src/idb/requests.js`, snippets))) return `/pkg/snippets/${dir}/src/idb/requests.js`;
  }
  throw new Error("pkg/snippets/*/src/idb/requests.js not found: run make build");
}

// The library is at schema version 3, so its own open can never be blocked (blocking needs a
// connection at a lower version); the path is exercised through the real adapter it opens with,
// asking for version 4 while another page holds a version-3 connection and ignores versionchange.
test("an open blocked by a tab that will not close rejects UNAVAILABLE, saying why", async () => {
  const dbName = uniqueDb("blocked");
  const adapter = await adapterPath();
  const { context, pages: [holder, opener] } = await site.tabs(2);
  await run(holder, async ({ SessionStore }, raw, dbName) => {
    const store = await SessionStore.open(dbName);
    await store.save({ metadata: { id: "kept", name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
      turnCount: 0, totalTokens: 0 }, messages: [], state: null });
    store.close();
    window.held = await raw.req(indexedDB.open(dbName, 3)); // no onversionchange: it never steps aside
  }, dbName);
  const r = await run(opener, async ({ SessionStore }, _raw, { dbName, adapter }) => {
    const { openDatabase } = await import(adapter);
    let gaveUp = false;
    let upgrades = 0;
    // Like the library's upgrade closure, which is dropped once the open has failed.
    const upgrade = () => {
      if (gaveUp) throw new Error("the upgrade callback is gone");
      upgrades++;
    };
    const started = performance.now();
    const error = await openDatabase(dbName, 4, upgrade, 1000).then(() => null, (e) => e);
    gaveUp = true;
    return { ms: performance.now() - started, name: error?.name, message: error?.message, upgrades };
  }, { dbName, adapter });
  assert.equal(r.name, "UnavailableError", JSON.stringify(r));
  assert.match(r.message, /blocked: another tab holds an older connection and did not close it within 1000 ms/);
  assert.ok(r.ms >= 1000 && r.ms < 4000, `rejected after ${r.ms} ms`);
  assert.equal(r.upgrades, 0);
  // The holder finally lets go: the abandoned open must neither upgrade nor keep a connection.
  const after = await run(holder, async ({ SessionStore }, raw, dbName) => {
    window.held.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const db = await raw.req(indexedDB.open(dbName));
    const version = db.version;
    db.close();
    const store = await SessionStore.open(dbName);
    const kept = await store.resume("kept");
    store.close();
    return { version, kept: kept.metadata.id };
  }, dbName);
  assert.deepEqual(after, { version: VERSION, kept: "kept" });
  for (const page of [holder, opener]) assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
});
