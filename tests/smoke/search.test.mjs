// Search through the built package's JS API, in each engine's own Intl.Segmenter: Chinese,
// Japanese, Korean and Thai text, accents, and match offsets that point at the words; a store
// opened with search off (search rejects, writes leave their sessions to be indexed) and a later
// open with search on indexing them in the background while writes go on; list filters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** In the page: session metadata of agent `agentName` with `tags`. */
const META = `(id, agentName = "a", tags = []) => ({ id, name: null, tags, agentName, createdAt: 0, updatedAt: 0,
  turnCount: 0, totalTokens: 0 })`;

test("search() finds words in any script and points at them", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, { dbName, META }) => {
    const meta = (0, eval)(META);
    const store = await SessionStore.open(dbName);
    const messages = [
      { role: "user", content: "我们今天讨论搜索引擎的设计" },
      { role: "assistant", content: [{ type: "text", text: "全文検索を実装します。" }] },
      { role: "user", content: "테스트입니다" },
      { role: "user", content: "สวัสดีครับ ยินดีต้อนรับ" },
      { role: "user", content: "Ünïcödé ÇAFÉ 😀 naïve" },
    ];
    await store.save({ metadata: meta("scripts"), messages, state: null });
    const found = {};
    for (const q of ["搜索", "検索", "테스트", "สวัสดี", "cafe", "unicode naive"]) {
      found[q] = (await store.search(q)).map((h) => ({ i: h.messageIndex, snippet: h.snippet,
        matched: h.matches.map(([s, e]) => h.snippet.slice(s, e)) }));
    }
    const grab = (p) => p.then((v) => v, (e) => `${e.code}: ${e.message}`);
    const refused = {
      empty: await grab(store.search("")),
      notString: await grab(store.search(42)),
      unknownOption: await grab(store.search("x", { sort: "new" })),
      limit: await grab(store.search("x", { limit: 0 })),
      tag: await grab(store.search("x", { tag: "" })),
    };
    store.close();
    return { found, refused };
  }, { dbName: uniqueDb("search-scripts"), META });
  const one = (q, i, matched) => assert.deepEqual(r.found[q].map((h) => [h.i, h.matched]), [[i, matched]], q);
  one("搜索", 0, ["搜索"]);
  one("検索", 1, ["検索"]);
  one("테스트", 2, ["테스트입니다"]);
  one("สวัสดี", 3, ["สวัสดี"]);
  one("cafe", 4, ["ÇAFÉ"]);
  one("unicode naive", 4, ["Ünïcödé", "naïve"]);
  assert.equal(r.found["搜索"][0].snippet, "我们今天讨论搜索引擎的设计");
  assert.match(r.refused.empty, /^INVALID_INPUT: .*no word/);
  assert.match(r.refused.notString, /^INVALID_INPUT: query must be a string/);
  assert.match(r.refused.unknownOption, /^INVALID_INPUT: search options has unknown field "sort"/);
  assert.match(r.refused.limit, /^INVALID_INPUT: search limit must be from 1 to 1000, got 0/);
  assert.match(r.refused.tag, /^INVALID_INPUT: tag filter must not be empty/);
  assert.deepEqual(page.uncaughtErrors ?? [], []);
  await context.close();
});

test("with search off, search() rejects; a later open with search on indexes in the background while writes go on", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, { dbName, META }) => {
    const meta = (0, eval)(META);
    const SESSIONS = 200;
    // Written by a connection with search on, then changed by one with it off.
    const on = await SessionStore.open(dbName);
    await on.save({ metadata: meta("first"), messages: [{ role: "user", content: "alpha" }], state: null });
    on.close();
    const off = await SessionStore.open(dbName, { search: false });
    const offSearch = await off.search("alpha").then(() => "resolved", (e) => `${e.code}: ${e.message}`);
    await off.append("first", [{ role: "user", content: "bravo" }]);
    for (let i = 0; i < SESSIONS; i++) {
      const messages = Array.from({ length: 20 }, (_, j) => ({ role: "user", content: `session ${i} line ${j} charlie` }));
      await off.save({ metadata: meta(`s${i}`), messages, state: null });
    }
    off.close();
    const progress = [];
    const started = performance.now();
    const store = await SessionStore.open(dbName, { onIndexProgress: (done, total) => progress.push([done, total]) });
    // A write while indexing runs does not wait for it to finish.
    await store.append("s0", [{ role: "user", content: "delta" }]);
    const wroteAt = performance.now() - started;
    const progressWhenWritten = progress.at(-1);
    const indexed = await store.whenIndexed();
    const indexedAt = performance.now() - started;
    const hits = {};
    for (const q of ["alpha", "bravo", "delta", "199 charlie"]) hits[q] = (await store.search(q, { limit: 1000 })).length;
    store.close();
    return { offSearch, progress, progressWhenWritten, indexed, hits, wroteAt, indexedAt };
  }, { dbName: uniqueDb("search-off"), META });
  assert.match(r.offSearch, /^UNAVAILABLE: search is off for database ".*": it was opened with search: false/);
  assert.deepEqual(r.indexed, { indexed: 201, total: 201 });
  assert.deepEqual(r.progress[0], [0, 201], "the first session was changed with search off: it is to index again");
  assert.deepEqual(r.progress.at(-1), [201, 201]);
  assert.ok(r.progress.length > 2, `progress reported ${r.progress.length} times`);
  assert.ok(r.progressWhenWritten === undefined || r.progressWhenWritten[0] < 201,
    `the write waited for indexing to end (${r.wroteAt} ms; indexed after ${r.indexedAt} ms)`);
  assert.ok(r.wroteAt < r.indexedAt, `write ${r.wroteAt} ms, indexing ended ${r.indexedAt} ms`);
  assert.deepEqual(r.hits, { alpha: 1, bravo: 1, delta: 1, "199 charlie": 20 });
  await context.close();
});

test("list() filters by tag and agent, newest first, in pages", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, { dbName, META }) => {
    const meta = (0, eval)(META);
    const store = await SessionStore.open(dbName);
    for (let i = 0; i < 10; i++) {
      await store.save({ metadata: meta(`s${i}`, i % 2 ? "writer" : "coder", i % 3 ? ["work"] : ["work", "urgent"]),
        messages: [], state: null });
    }
    const ids = async (options) => (await store.list(options)).map((m) => m.id);
    const out = {
      urgent: await ids({ tag: "urgent" }),
      coderPage: await ids({ agentName: "coder", offset: 1, limit: 2 }),
      both: await ids({ tag: "urgent", agentName: "writer" }),
      none: await ids({ tag: "nope" }),
      refused: await store.list({ tag: 1 }).then(() => "resolved", (e) => `${e.code}: ${e.message}`),
    };
    store.close();
    return out;
  }, { dbName: uniqueDb("filters"), META });
  assert.deepEqual(r.urgent, ["s9", "s6", "s3", "s0"]);
  assert.deepEqual(r.coderPage, ["s6", "s4"]);
  assert.deepEqual(r.both, ["s9", "s3"]);
  assert.deepEqual(r.none, []);
  assert.match(r.refused, /^INVALID_INPUT: tag must be a string/);
  await context.close();
});
