// Crash mid-save: a large save is started, and the renderer is crashed (CDP Page.crash) or the page
// closed after a delay swept across the save's duration, counted from when the page says the
// save's writes began (its encoding runs first, synchronously, and is not what a crash can tear). Reopened in a new page, the session must
// be the old version or the new one, whole: metadata, messages and state of the same version.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

const POINTS = Number(process.env.CRASH_POINTS ?? 40);
const OLD_LEN = 1000;
const NEW_LEN = 40000;
let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** In the page: stores the old version, then starts saving the new one (resolving at once). */
async function startSave({ SessionStore }, _raw, { dbName, oldLen, newLen, wait }) {
  const version = (v, len) => ({
    metadata: { id: "big", name: `version ${v}`, tags: [`v${v}`], agentName: "crash-agent", createdAt: 1,
      updatedAt: 0, turnCount: len, totalTokens: len * 10 },
    messages: Array.from({ length: len }, (_, i) => ({ role: "user", content: `version ${v} message ${i} ${"x".repeat(400)}` })),
    state: { version: v },
  });
  const store = await SessionStore.open(dbName);
  await store.save(version(0, oldLen));
  const next = version(1, newLen);
  const saving = store.save(next); // encodes synchronously, then writes
  const writing = performance.now();
  window.saveStarted?.();
  if (wait) return await saving.then(() => performance.now() - writing);
  window.saving = saving;
  return null;
}

/** In a fresh page: what the store holds now. */
async function readBack({ SessionStore }, _raw, dbName) {
  const store = await SessionStore.open(dbName);
  const list = await store.list();
  const session = await store.resume("big");
  store.close();
  return { list, session };
}

function assertWhole({ list, session }, where) {
  const v = session.state.version;
  assert.ok(v === 0 || v === 1, `${where}: state ${JSON.stringify(session.state)}`);
  const len = v === 0 ? OLD_LEN : NEW_LEN;
  const { metadata: m, messages } = session;
  assert.deepEqual([m.name, m.tags, m.turnCount, m.totalTokens], [`version ${v}`, [`v${v}`], len, len * 10], where);
  assert.equal(messages.length, len, `${where}: torn message count`);
  messages.forEach((msg, i) => {
    if (msg.content !== `version ${v} message ${i} ${"x".repeat(400)}`) assert.fail(`${where}: message ${i} is torn`);
  });
  assert.deepEqual(list, [m], `${where}: list disagrees with resume`);
  return v;
}

test(`a crash at any of ${POINTS} points of a ${NEW_LEN}-message save leaves one whole version`, async () => {
  const context = await site.newContext();
  const calibrate = await site.tab(context);
  const ms = await run(calibrate, startSave, { dbName: uniqueDb("crash-cal"), oldLen: OLD_LEN, newLen: NEW_LEN, wait: true });
  await calibrate.close();
  const reader = await site.tab(context);
  const outcomes = { old: 0, new: 0 };
  const ways = { crash: 0, close: 0 };
  for (let i = 0; i < POINTS; i++) {
    const dbName = uniqueDb(`crash-${i}`);
    const way = i % 4 === 3 ? "close" : "crash";
    const delay = Math.round((i / POINTS) ** 3 * ms * 1.3); // denser early, where the write is in flight
    const page = await site.tab(context);
    const cdp = await context.newCDPSession(page);
    let signal;
    const started = new Promise((resolve) => (signal = resolve));
    await page.exposeFunction("saveStarted", () => signal());
    await run(page, startSave, { dbName, oldLen: OLD_LEN, newLen: NEW_LEN, wait: false });
    await started;
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (way === "crash") {
      const crashed = new Promise((resolve) => page.once("crash", resolve));
      cdp.send("Page.crash").catch(() => {}); // never answers: the renderer is gone
      await crashed;
    } else {
      await page.close();
    }
    ways[way]++;
    const v = assertWhole(await run(reader, readBack, dbName), `${way} after ${delay} ms (point ${i})`);
    outcomes[v === 0 ? "old" : "new"]++;
    if (!page.isClosed()) await page.close();
  }
  console.log(`crash: ${POINTS} points (${ways.crash} renderer crashes, ${ways.close} page closes) over a ` +
    `save writing for ${ms.toFixed(0)} ms; ${outcomes.old} left the old version, ${outcomes.new} the new, 0 torn`);
  // The sweep must straddle the commit, or it proves nothing about the moment that matters.
  assert.ok(outcomes.old > 0 && outcomes.new > 0, `every crash fell on one side: ${JSON.stringify(outcomes)}`);
  await context.close();
});
