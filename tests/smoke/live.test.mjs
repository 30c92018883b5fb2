// Live changes through the built package's JS API in a headless browser: two pages (tabs) on one
// database, each write of one reaching the other's watch() listener once it committed; a write
// that rolled back (a full disk: Chromium's quota set through CDP, Firefox's by a preference)
// reaching no one; a worker's writes reaching a page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE, run, startSite, uniqueDb } from "../support/browser.mjs";

let site;

before(async () => {
  // Without a static quota, a quota override holds (for the rolled-back write).
  site = await startSite({ args: ["--disable-features=StaticStorageQuota"] });
});

after(async () => {
  await site.close();
});

/** In `page`: opens `dbName` as `window.store` and records what its watch() hears, with times. */
function listen(page, dbName) {
  return run(page, async ({ SessionStore }, _raw, dbName) => {
    window.store = await SessionStore.open(dbName);
    window.heard = [];
    window.stop = window.store.watch((changes) => {
      window.heard.push({ at: performance.timeOrigin + performance.now(), changes });
    });
  }, dbName);
}

const takeHeard = (page) => page.evaluate(() => window.heard.splice(0));

test("a write in one tab reaches the other tab's watch listener, after it committed", async () => {
  const { context, pages: [writer, watcher] } = await site.tabs(2);
  const dbName = uniqueDb("watch");
  await listen(watcher, dbName);
  await listen(writer, dbName);
  const done = await run(writer, async () => {
    const store = window.store;
    const id = crypto.randomUUID();
    const out = {};
    out.save = await store.save({
      metadata: { id, name: "live", tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: [{ role: "user", content: "hi" }],
      state: null,
    });
    out.append = await store.append(id, [{ role: "assistant", content: "" }], { tokens: 1, state: { step: 1 } });
    out.replaceLast = await store.replaceLast(id, { role: "assistant", content: "hello" });
    out.fork = await store.fork(id);
    out.rewind = (await store.rewind(id, 1)).metadata;
    await store.tag(id, ["seen"]);
    await store.rename(id, "renamed");
    out.renamed = (await store.resume(id)).metadata;
    await store.delete(out.fork.id);
    const file = await store.export({ ids: [id] });
    await store.delete(id);
    await store.import(file);
    out.imported = (await store.list())[0];
    // Failures report nothing.
    await store.tag("no-such-session", ["x"]).catch(() => {});
    await store.replaceLast(id, "x", { tokens: -1 }).catch(() => {});
    return { id, ...out };
  });
  // Every write is heard once, in order, as one batch, by the other tab and by the writer itself.
  await watcher.waitForFunction((n) => window.heard.length >= n, 10);
  await new Promise((r) => setTimeout(r, 200)); // nothing more is coming
  const id = done.id;
  const saved = (metadata) => [{ kind: "saved", id: metadata.id, metadata }];
  const expected = [
    saved(done.save), saved(done.append), saved(done.replaceLast), saved(done.fork), saved(done.rewind),
    null, saved(done.renamed), [{ kind: "deleted", id: done.fork.id }], [{ kind: "deleted", id }],
    saved(done.imported),
  ];
  for (const page of [watcher, writer]) {
    const heard = (await takeHeard(page)).map((h) => h.changes);
    assert.equal(heard.length, 10, JSON.stringify(heard, null, 1));
    heard.forEach((changes, i) => {
      if (expected[i] === null) {
        // The tag: its metadata as stored then (the rename came after it).
        assert.deepEqual(changes.map((c) => [c.kind, c.id, c.metadata.tags]), [["saved", id, ["seen"]]]);
      } else {
        assert.deepEqual(changes, expected[i], `write ${i}`);
      }
    });
  }

  // Latency: 60 appends, each timed from its call to the other tab's listener.
  const calls = await run(writer, async (_lib, _raw, id) => {
    const store = window.store;
    await store.save({
      metadata: { id, name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: [],
      state: null,
    });
    const calls = [];
    for (let i = 0; i < 60; i++) {
      calls.push(performance.timeOrigin + performance.now());
      await store.append(id, [i]);
    }
    return calls;
  }, id);
  await watcher.waitForFunction(() => window.heard.length >= 61);
  const heardAt = (await takeHeard(watcher)).slice(1).map((h) => h.at);
  const latencies = heardAt.map((at, i) => at - calls[i]).sort((a, b) => a - b);
  const median = latencies[latencies.length >> 1];
  console.log(`# live: 60 appends in one tab heard in the other: median ${median.toFixed(2)} ms from the call, ` +
    `min ${latencies[0].toFixed(2)}, max ${latencies.at(-1).toFixed(2)}`);
  assert.ok(latencies.every((l) => l > 0), "heard before the write was made");

  // Stopped listeners hear nothing more.
  await watcher.evaluate(() => window.stop());
  await run(writer, async (_lib, _raw, id) => window.store.rename(id, "after stop"), id);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await takeHeard(watcher), []);
  assert.deepEqual(watcher.uncaughtErrors, []);
  assert.deepEqual(writer.uncaughtErrors, []);
  await context.close();
});

// The write is rolled back by a full disk where the engine can be given a quota; WebKitGTK cannot
// (RELIABILITY.md, Full disk), so there the browser refuses one of its puts instead.
test("a write that rolled back reaches no listener", async () => {
  const how = ENGINE === "webkit" ? "refused put" : "quota";
  let context;
  let writer;
  let watcher;
  let cdp;
  if (ENGINE === "chromium") {
    ({ context, pages: [writer, watcher] } = await site.tabs(2));
    cdp = await context.newCDPSession(writer);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: site.base, quotaSize: 4 * 1024 * 1024 });
  } else if (ENGINE === "firefox") {
    // Firefox: a 4 MiB limit for the profile's storage (in KiB), and text that does not compress.
    context = await site.newContext({ prefs: { "dom.quotaManager.temporaryStorage.fixedLimit": 4096 } });
    [writer, watcher] = [await site.tab(context), await site.tab(context)];
  } else {
    ({ context, pages: [writer, watcher] } = await site.tabs(2));
  }
  const dbName = uniqueDb("rollback");
  await listen(watcher, dbName);
  await listen(writer, dbName);
  const r = await run(writer, async (_lib, raw, { incompressible, how }) => {
    const session = (id, count, size) => ({
      metadata: { id, name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: Array.from({ length: count }, (_, i) => (incompressible ? `${i} ${raw.noise(size)}`.slice(0, size) : `${i} `.padEnd(size, "z"))),
      state: null,
    });
    const restore = how === "refused put" ? raw.refusePut(2) : () => {};
    const tooBig = await window.store.save(session("too-big", 2000, 4096)).then(() => "saved", (e) => e.code);
    restore();
    const small = await window.store.save(session("small", 2, 10));
    return { tooBig, small };
  }, { incompressible: ENGINE === "firefox", how });
  assert.equal(r.tooBig, how === "quota" ? "QUOTA_EXCEEDED" : "STORAGE");
  await watcher.waitForFunction(() => window.heard.length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  for (const page of [watcher, writer]) {
    const heard = (await takeHeard(page)).map((h) => h.changes);
    assert.deepEqual(heard, [[{ kind: "saved", id: "small", metadata: r.small }]]);
  }
  if (cdp) await cdp.send("Storage.overrideQuotaForOrigin", { origin: site.base });
  await context.close();
});

test("a worker's writes reach a page's listener", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const dbName = uniqueDb("worker");
  await listen(page, dbName);
  const fromWorker = await run(page, async (_lib, _raw, dbName) => {
    const source = `
      import init, { SessionStore } from "${location.origin}/pkg/idb_session_store.js";
      await init();
      const store = await SessionStore.open(${JSON.stringify(dbName)});
      const saved = await store.save({
        metadata: { id: "from-worker", name: null, tags: [], agentName: "worker", createdAt: 0, updatedAt: 0,
          turnCount: 0, totalTokens: 0 },
        messages: ["hi from a worker"],
        state: null,
      });
      postMessage(saved);`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
    window.worker = worker;
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
  }, dbName);
  // The worker lives on until the page heard it: a write's post to other connections leaves up
  // to 16 ms after its commit, and a worker terminated before then takes it along (README).
  await page.waitForFunction(() => window.heard.length >= 1);
  await page.evaluate(() => window.worker.terminate());
  const heard = (await takeHeard(page)).map((h) => h.changes);
  assert.deepEqual(heard, [[{ kind: "saved", id: "from-worker", metadata: fromWorker }]]);
  await context.close();
});

test("a listener that throws is reported, and the store and other listeners carry on", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const reported = [];
    window.addEventListener("error", (e) => {
      reported.push(e.message);
      e.preventDefault();
    });
    const heard = [];
    store.watch(() => {
      throw new Error("listener bug");
    });
    store.watch((changes) => heard.push(changes.length));
    const saved = await store.save({
      metadata: { id: "x", name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: [],
      state: null,
    });
    const notAFunction = await Promise.resolve().then(() => store.watch("nope")).then(() => "ok", (e) => `${e.name} ${e.code}`);
    store.close();
    return { saved: saved.id, heard, reported, notAFunction };
  }, uniqueDb("throwing"));
  assert.equal(r.saved, "x");
  assert.deepEqual(r.heard, [1]);
  assert.equal(r.reported.length, 1);
  assert.match(r.reported[0], /listener bug/);
  assert.equal(r.notAFunction, "SessionError INVALID_INPUT");
  await context.close();
});
