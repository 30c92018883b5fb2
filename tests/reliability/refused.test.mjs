// A request refused partway through a write: the browser throws from the Nth `put` of a write
// (as Firefox's "cleanup" transaction does after a quota failure, and any engine may on a value it
// cannot store). The write rejects naming the error, and the database is exactly as before: the
// requests queued before the refused one are rolled back with it, never committed half.
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

/** The writes tried, each on a session "s" of 1,500 messages (two chunk records). (A delete makes no put.) */
const WRITES = {
  save: "(store, s) => store.save({ ...s, messages: s.messages.concat(s.messages).slice(0, 2100) })",
  append: "(store, s) => store.append('s', Array.from({ length: 300 }, (_, i) => ({ role: 'user', content: 'more ' + i })), { state: { n: 2 } })",
  fork: "(store) => store.fork('s')",
  rewind: "(store) => store.rewind('s', 700)",
  replaceLast: "(store) => store.replaceLast('s', { role: 'assistant', content: 'replaced' })",
};

for (const [name, write] of Object.entries(WRITES)) {
  test(`${name}: a put refused at any point leaves the database as it was`, async () => {
    const { context, pages: [page] } = await site.tabs(1);
    const r = await run(page, async ({ SessionStore }, raw, { write, label }) => {
      const op = (0, eval)(write);
      const session = {
        metadata: { id: "s", name: "s", tags: ["t"], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
        messages: Array.from({ length: 1500 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` })),
        state: { n: 1 },
      };
      const outcomes = [];
      // The Nth put throws, for N = 1 to 20 (the session's own records come first), then for N
      // doubling through the search index's puts (one per message written), until the write
      // makes fewer puts than N and succeeds.
      const tries = [...Array.from({ length: 20 }, (_, i) => i + 1), 40, 80, 160, 320, 640, 1280, 2560, 5120];
      for (const n of tries) {
        const dbName = `${label}-${n}`;
        const store = await SessionStore.open(dbName);
        await store.save(session);
        await store.save({ ...session, metadata: { ...session.metadata, id: "other", name: "other" } });
        const before = await raw.dumpText(dbName);
        const restore = raw.refusePut(n);
        const outcome = await op(store, session).then(() => "resolved", (e) => `${e.name} ${e.code}: ${e.message}`);
        restore();
        const same = (await raw.dumpText(dbName)) === before;
        // Usable afterwards: the same write goes through.
        const again = outcome === "resolved" ? "resolved" : await op(store, session).then(() => "resolved", (e) => e.message);
        store.close();
        outcomes.push({ n, outcome, same, again });
        if (outcome === "resolved") break;
      }
      return outcomes;
    }, { write, label: uniqueDb(`refused-${name}`) });
    const refused = r.filter((o) => o.outcome !== "resolved");
    assert.ok(refused.length >= 1, JSON.stringify(r));
    assert.equal(r.at(-1).outcome, "resolved", "the write made more puts than the test tried");
    for (const o of refused) {
      assert.match(o.outcome, /^SessionError STORAGE: .*InvalidStateError: refused by the test/, `put ${o.n}`);
      assert.equal(o.same, true, `put ${o.n} refused: the database changed`);
      assert.equal(o.again, "resolved", `put ${o.n} refused: the store did not recover`);
    }
    console.log(`refused: ${name} makes ${r.at(-2)?.n ?? 0} or more puts; each of ${refused.length} refused in turn left the database as it was`);
    assert.deepEqual(page.uncaughtErrors, []);
    await context.close();
  });
}
