// Turns that carry state and replies that stream, through the built package's JS API in headless
// Chromium: append() with a state, replaceLast() while a reply streams, and a reload in the
// middle of it keeping what had streamed.
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

test("append() carries the turn's state; replaceLast() streams a reply into the last message", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const grab = (p) => p.then((v) => v, (e) => `${e.code}: ${e.message}`);
    const id = crypto.randomUUID();
    await store.save({
      metadata: { id, name: "agent", tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: [],
      state: { cwd: "/" },
    });
    const emptyReplace = await grab(store.replaceLast(id, "x"));
    const turn = await store.append(id, [{ role: "user", content: "hi" }, { role: "assistant", content: "" }],
      { tokens: 2, state: { cwd: "/tmp", step: 1 } });
    const streamed = [];
    let reply = "";
    for (const piece of ["Hel", "lo", ", wor", "ld 😀"]) {
      reply += piece;
      streamed.push(await store.replaceLast(id, { role: "assistant", content: reply }, { tokens: 1 }));
    }
    const done = await store.replaceLast(id, { role: "assistant", content: reply, final: true }, { state: { cwd: "/tmp", step: 2 } });
    const back = await store.resume(id);
    const refused = {
      unknownOption: await grab(store.append(id, [], { tokens: 1, model: "x" })),
      functionState: await grab(store.append(id, [], { state: () => 1 })),
      badMessage: await grab(store.replaceLast(id, { when: new Date() })),
      missing: await grab(store.replaceLast("no-such-session", "x")),
      negativeTokens: await grab(store.replaceLast(id, "x", { tokens: -1 })),
    };
    const after = await store.resume(id);
    store.close();
    return { emptyReplace, turn, streamed, done, back, refused, unchanged: JSON.stringify(after) === JSON.stringify(back) };
  }, uniqueDb("turns"));
  assert.match(r.emptyReplace, /^INVALID_INPUT: session ".*" has no message to replace$/);
  assert.equal(r.turn.turnCount, 1);
  assert.equal(r.turn.totalTokens, 2);
  assert.deepEqual(r.streamed.map((m) => [m.turnCount, m.totalTokens]), [[1, 3], [1, 4], [1, 5], [1, 6]]);
  assert.equal(r.done.totalTokens, 6);
  assert.deepEqual(r.back.messages, [
    { role: "user", content: "hi" },
    { role: "assistant", content: "Hello, world 😀", final: true },
  ]);
  assert.deepEqual(r.back.state, { cwd: "/tmp", step: 2 });
  assert.deepEqual(r.back.metadata, r.done);
  assert.match(r.refused.unknownOption, /^INVALID_INPUT: append options has unknown field "model"/);
  assert.match(r.refused.functionState, /^INVALID_INPUT: state is a function/);
  assert.match(r.refused.badMessage, /^INVALID_INPUT: message\.when is a Date/);
  assert.match(r.refused.missing, /^NOT_FOUND/);
  assert.match(r.refused.negativeTokens, /^INVALID_INPUT: tokens must be a whole number/);
  assert.equal(r.unchanged, true, "a refused call changed the session");
  assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
});

test("a reload in the middle of a streamed reply keeps what had streamed", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const dbName = uniqueDb("reload-stream");
  const id = await run(page, async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const id = crypto.randomUUID();
    await store.save({
      metadata: { id, name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: [],
      state: null,
    });
    await store.append(id, [{ role: "user", content: "tell me" }, { role: "assistant", content: "" }]);
    // A reply streaming a few characters at a time, each persisted; the page goes away mid-way.
    let reply = "";
    (async () => {
      for (let i = 0; ; i++) {
        reply += `${i} `;
        await store.replaceLast(id, { role: "assistant", content: reply });
        window.streamed = reply;
      }
    })();
    while ((window.streamed ?? "").length < 40) await new Promise((r) => setTimeout(r, 5));
    return id;
  }, dbName);
  const streamedBefore = await page.evaluate(() => window.streamed);
  await page.reload();
  await page.waitForFunction(() => document.title === "ready");
  const back = await run(page, async ({ SessionStore }, _raw, dbName, id) => {
    const store = await SessionStore.open(dbName);
    const session = await store.resume(id);
    store.close();
    return session;
  }, dbName, id);
  const kept = back.messages[1].content;
  assert.equal(back.messages.length, 2);
  assert.ok(kept.startsWith(streamedBefore), `lost what had streamed: ${JSON.stringify({ kept, streamedBefore })}`);
  assert.match(kept, /^(\d+ )+$/, "a torn reply");
  await context.close();
});
