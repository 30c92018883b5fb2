// Full disk: with the origin's quota made small (Chromium: CDP Storage.overrideQuotaForOrigin;
// Firefox: the profile's fixed storage limit, a preference), a save that does not fit rejects with
// QUOTA_EXCEEDED, and the database is exactly as before: every earlier session intact and
// readable, including one the failed save tried to replace. WebKit cannot be given a quota here
// (see RELIABILITY.md), so there the test is skipped, saying why.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE, run, startSite, uniqueDb } from "../support/browser.mjs";

const QUOTA = 4 * 1024 * 1024;
/** Why WebKit cannot run this test. */
const NO_WEBKIT_QUOTA = "WebKitGTK's MiniBrowser takes no quota setting, and its automation sessions keep IndexedDB " +
  "in memory with no limit met before 2 GB (RELIABILITY.md)";
let site;

before(async () => {
  // Chromium tells pages a static quota (usage + 10 GiB) whatever the real one is, so that sites
  // cannot detect incognito mode; without that feature, estimate() reports the quota in force.
  site = await startSite({ args: ["--disable-features=StaticStorageQuota"] });
});

after(async () => {
  await site.close();
});

test("a save that does not fit rejects QUOTA_EXCEEDED and loses nothing",
  { skip: ENGINE === "webkit" && NO_WEBKIT_QUOTA }, fillPastQuota);

/** Fills the origin to near its quota, saves what does not fit, and checks nothing was lost. */
async function fillPastQuota() {
  let context;
  let page;
  if (ENGINE === "chromium") {
    ({ context, pages: [page] } = await site.tabs(1));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: site.base, quotaSize: QUOTA });
  } else {
    // The limit is in KiB, for all of the profile's storage; estimate() reports it as the quota.
    context = await site.newContext({ prefs: { "dom.quotaManager.temporaryStorage.fixedLimit": QUOTA / 1024 } });
    page = await site.tab(context);
  }
  // Firefox compresses what it stores (snappy), so its sessions are made of text that does not compress.
  const incompressible = ENGINE === "firefox";
  const r = await run(page, async ({ SessionStore }, raw, { dbName, quota, incompressible }) => {
    const grab = (p) => p.then(() => "resolved", (e) => `${e.name} ${e.code}: ${e.message}`);
    const filler = (text, size) => (incompressible ? text + raw.noise(size - text.length) : text.padEnd(size, "z"));
    const session = (id, count, size) => ({
      metadata: { id, name: `session ${id}`, tags: ["quota"], agentName: "a", createdAt: 0, updatedAt: 0,
        turnCount: count, totalTokens: 0 },
      messages: Array.from({ length: count }, (_, i) => ({ role: "user", content: filler(`${id} ${i} `, size) })),
      state: { id },
    });
    const store = await SessionStore.open(dbName);
    const kept = {};
    for (let i = 0; i < 10; i++) {
      const s = session(`small-${i}`, 40, 500);
      await store.save(s);
      kept[s.metadata.id] = s;
    }
    const estimate = await SessionStore.estimate();
    const before = await raw.dumpText(dbName);
    const listBefore = await store.list();
    // 8 MB of messages where 4 MB is all there is: as a new session, then replacing an old one.
    // One after the other on one connection: in Firefox, the write after a quota failure is where
    // the connection would refuse puts (src/idb/mod.rs, after_quota_failure).
    const tooBigNew = await grab(store.save(session("too-big", 2000, 4096)));
    const tooBigReplace = await grab(store.save(session("small-3", 2000, 4096)));
    const after = await raw.dumpText(dbName);
    const listAfter = await store.list();
    const back = {};
    for (const id of Object.keys(kept)) back[id] = await store.resume(id);
    const missing = await grab(store.resume("too-big"));
    // Still usable afterwards: a save that fits goes through.
    const small = await grab(store.save(session("small-after", 2, 10)));
    store.close();
    return { estimate, quota, tooBigNew, tooBigReplace, same: before === after, listBefore, listAfter, kept, back,
      missing, small };
  }, { dbName: uniqueDb("quota"), quota: QUOTA, incompressible });
  assert.equal(r.estimate.quota, QUOTA, `estimate() does not reflect the quota: ${JSON.stringify(r.estimate)}`);
  assert.ok(r.estimate.usage > 0 && r.estimate.usage <= QUOTA, JSON.stringify(r.estimate));
  assert.match(r.tooBigNew, /^SessionError QUOTA_EXCEEDED: saving session "too-big" failed: QuotaExceededError/);
  console.log(`quota: ${QUOTA} bytes; usage ${r.estimate.usage} before the refused saves; ${r.tooBigNew}`);
  assert.match(r.tooBigReplace, /^SessionError QUOTA_EXCEEDED: saving session "small-3"/);
  assert.equal(r.same, true, "a refused save changed the stored records");
  assert.deepEqual(r.listAfter, r.listBefore);
  for (const [id, saved] of Object.entries(r.kept)) {
    assert.deepEqual(r.back[id].messages, saved.messages, id);
    assert.deepEqual(r.back[id].state, saved.state, id);
    assert.equal(r.back[id].metadata.name, saved.metadata.name, id);
  }
  assert.match(r.missing, /NOT_FOUND/);
  assert.equal(r.small, "resolved");
  assert.deepEqual(page.uncaughtErrors, []);
  await context.close();
}
