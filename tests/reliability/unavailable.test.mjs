// No IndexedDB: where `indexedDB` is missing, throws, or refuses this origin (a sandboxed iframe
// without allow-same-origin), `SessionStore.open` rejects UNAVAILABLE with a message saying so.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

let site;

before(async () => {
  site = await startSite({ cors: true });
});

after(async () => {
  await site.close();
});

async function openWith(breakIt) {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, _raw, { breakIt, dbName }) => {
    (0, eval)(breakIt);
    return SessionStore.open(dbName).then(
      () => "resolved",
      (e) => `${e.name} ${e.code}: ${e.message}`,
    );
  }, { breakIt, dbName: uniqueDb("unavailable") });
  assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
  return r;
}

test("indexedDB deleted from the global object", async () => {
  const r = await openWith("delete globalThis.indexedDB; if ('indexedDB' in globalThis) throw new Error('still there');");
  assert.match(r, /^SessionError UNAVAILABLE: .*IndexedDB is not available in this context$/);
});

test("indexedDB is null", async () => {
  const r = await openWith("Object.defineProperty(globalThis, 'indexedDB', { value: null, configurable: true });");
  assert.match(r, /^SessionError UNAVAILABLE: .*IndexedDB is not available in this context$/);
});

test("reading indexedDB throws", async () => {
  const r = await openWith(`Object.defineProperty(globalThis, "indexedDB", { configurable: true,
    get() { throw new DOMException("denied by policy", "SecurityError"); } });`);
  assert.match(r, /^SessionError UNAVAILABLE: .*IndexedDB is refused in this context: denied by policy$/);
});

test("indexedDB.open throws", async () => {
  const r = await openWith(`indexedDB.open = () => { throw new DOMException("open refused", "SecurityError"); };`);
  assert.match(r, /^SessionError UNAVAILABLE: .*IndexedDB refused to open database ".*": open refused$/);
});

test("a sandboxed iframe without allow-same-origin", async () => {
  // The frame's origin is opaque, so its module and wasm loads are cross-origin (hence `cors`).
  const context = await site.newContext();
  const page = await site.tab(context);
  const r = await page.evaluate(async (base) => {
    const frame = document.createElement("iframe");
    frame.sandbox = "allow-scripts";
    frame.srcdoc = `<script type="module">
      const report = (m) => parent.postMessage(m, "*");
      try {
        const { default: init, SessionStore } = await import("${base}/pkg/idb_session_store.js");
        await init();
        await SessionStore.open("sandboxed").then(
          () => report("resolved"),
          (e) => report(e.name + " " + e.code + ": " + e.message));
      } catch (e) { report("setup failed: " + e); }
    </script>`;
    const answer = new Promise((resolve) => addEventListener("message", (e) => resolve(e.data), { once: true }));
    document.body.append(frame);
    return answer;
  }, site.base);
  assert.match(r, /^SessionError UNAVAILABLE: opening database "sandboxed" failed: UnavailableError: IndexedDB .*(refused|not available)/);
  console.log(`unavailable: sandboxed iframe -> ${r}`);
  assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
});
