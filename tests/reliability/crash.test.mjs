// Crash mid-save: a large save is started, and the renderer is crashed (CDP Page.crash) or the page
// closed at points swept from just before the save's start to past its end (see LEAD). Reopened
// in a new page, the session must be the old version or the new one, whole: metadata, messages
// and state of the same version. Firefox and WebKit have no CDP: there the renderer crash is a
// SIGKILL of the browser's web content processes (the IndexedDB back end lives in another process
// in all three engines, as Chromium's does in its browser process).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE, run, startSite, uniqueDb } from "../support/browser.mjs";

const POINTS = Number(process.env.CRASH_POINTS ?? 40);
const OLD_LEN = 1000;
// WebKit saves 10,000 messages: there a window closed mid-save of a larger one stalls the next
// page's IndexedDB, whatever its database, for seconds (3.2 s at 40,000; RELIABILITY.md), and its
// sweep of 40 points took 150 s at 40,000, 86 at 30,000, 45 at 20,000 and 23 at 10,000.
const NEW_LEN = ENGINE === "webkit" ? 10000 : 40000;
let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** In the page: stores the old version, and keeps the new one and the store for timeSave or startSaveIn. */
async function prepareSave({ SessionStore }, _raw, { dbName, oldLen, newLen }) {
  const version = (v, len) => ({
    metadata: { id: "big", name: `version ${v}`, tags: [`v${v}`], agentName: "crash-agent", createdAt: 1,
      updatedAt: 0, turnCount: len, totalTokens: len * 10 },
    messages: Array.from({ length: len }, (_, i) => ({ role: "user", content: `version ${v} message ${i} ${"x".repeat(400)}` })),
    state: { version: v },
  });
  window.store = await SessionStore.open(dbName);
  await window.store.save(version(0, oldLen));
  window.next = version(1, newLen);
}

/**
 * In the page, after prepareSave: saves the new version; resolves with how long its encoding (done
 * synchronously, in the call) and its writes took, in ms.
 */
async function timeSave() {
  const start = performance.now();
  const saving = window.store.save(window.next);
  const writing = performance.now();
  await saving;
  return { encode: writing - start, write: performance.now() - writing };
}

/** In the page, after prepareSave: starts saving the new version `lead` ms from now (0: now); returns at once. */
function startSaveIn(_lib, _raw, lead) {
  const start = () => (window.saving = window.store.save(window.next));
  if (lead > 0) setTimeout(start, lead);
  else start();
}

/** Has `page` start the save `lead` ms from now, returning as soon as the page was told. */
function beginSave(page, lead) {
  if (ENGINE === "chromium") return run(page, startSaveIn, lead);
  return page.start(`(lead) => (${startSaveIn})(null, null, lead)`, [lead]); // one round trip, not run's two
}

// The page starts the save LEAD ms after it is told to, so that the sweep can begin before the
// save does: a save is out of the page's hands within a few milliseconds of its writes starting
// (a crash any later leaves the new version whole), no more than a round trip to the browser
// and back (in one CI run all 40 points of a sweep from the writes' start fell after it). EARLY
// points fall in the 20 ms before the save's start; the rest from just before its writes start
// (after its encoding) to 1.5 times past its end, denser early, where the write is in flight.
// (Not in WebKit, which delays timers in windows not in front, past the close: there the save
// starts at once, and has encoded when beginSave returns.)
const LEAD = ENGINE === "webkit" ? 0 : 40;
const EARLY = LEAD > 0 ? Math.floor(POINTS / 4) : 0;
function delayOf(i, { encode, write }) {
  if (i < EARLY) return Math.round(-20 + (20 * i) / EARLY);
  const writesStart = LEAD > 0 ? encode : 0;
  const [from, to] = [writesStart * 0.9, (writesStart + write) * 1.5];
  return Math.round(from + ((i - EARLY) / (POINTS - EARLY)) ** 3 * (to - from));
}

/** What the sweep covered, for the log. */
const sweep = ({ encode, write }) => `${POINTS} points from ${EARLY ? "20 ms before the save" : "its writes' start"} ` +
  `to 1.5 × its end, over a save encoding for ${encode.toFixed(0)} ms and writing for ${write.toFixed(0)} ms`;

/** In a fresh page: what the store holds now. */
async function readBack({ SessionStore }, _raw, dbName) {
  const store = await SessionStore.open(dbName);
  const list = await store.list();
  const session = await store.resume("big");
  store.close();
  return { list, session };
}

/** Reads back `dbName` in `reader`, saying where in the sweep a read that fails was. */
async function readAfter(reader, dbName, where) {
  try {
    return await run(reader, readBack, dbName);
  } catch (e) {
    e.message = `${where}: ${e.message}`;
    throw e;
  }
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

test(`a crash at any of ${POINTS} points of a ${NEW_LEN}-message save leaves one whole version`,
  { skip: ENGINE !== "chromium" && "CDP Page.crash is Chromium's; the other engines run the next test" }, async () => {
  const context = await site.newContext();
  const calibrate = await site.tab(context);
  await run(calibrate, prepareSave, { dbName: uniqueDb("crash-cal"), oldLen: OLD_LEN, newLen: NEW_LEN });
  const took = await run(calibrate, timeSave);
  await calibrate.close();
  const reader = await site.tab(context);
  const outcomes = { old: 0, new: 0 };
  const ways = { crash: 0, close: 0 };
  for (let i = 0; i < POINTS; i++) {
    const dbName = uniqueDb(`crash-${i}`);
    const way = i % 4 === 3 ? "close" : "crash";
    const delay = delayOf(i, took);
    const page = await site.tab(context);
    const cdp = await context.newCDPSession(page);
    await run(page, prepareSave, { dbName, oldLen: OLD_LEN, newLen: NEW_LEN });
    await beginSave(page, LEAD);
    await new Promise((resolve) => setTimeout(resolve, LEAD + delay));
    if (way === "crash") {
      const crashed = new Promise((resolve) => page.once("crash", resolve));
      cdp.send("Page.crash").catch(() => {}); // never answers: the renderer is gone
      await crashed;
    } else {
      await page.close();
    }
    ways[way]++;
    const where = `${way} after ${delay} ms (point ${i})`;
    const v = assertWhole(await readAfter(reader, dbName, where), where);
    outcomes[v === 0 ? "old" : "new"]++;
    if (!page.isClosed()) await page.close();
  }
  console.log(`crash: ${sweep(took)} (${ways.crash} renderer crashes, ${ways.close} page closes): ` +
    `${outcomes.old} left the old version, ${outcomes.new} the new, 0 torn`);
  // The sweep must straddle the commit, or it proves nothing about the moment that matters.
  assert.ok(outcomes.old > 0 && outcomes.new > 0, `every crash fell on one side: ${JSON.stringify(outcomes)}`);
  await context.close();
});

/**
 * Kills the web content processes `context`'s browser started after the session began: those of
 * its pages (not the parent, network or storage process, nor the processes of the session's own
 * first window, whose loss ends a WebKit automation session).
 */
async function killRenderers(context) {
  const renderer = ENGINE === "firefox" ? / -contentproc .* tab$/ : /WebKitWebProcess/;
  const victims = (await context.processes()).filter((p) => renderer.test(p.cmdline) && !context.baseline.has(p.pid));
  assert.ok(victims.length > 0, `no web content process among ${JSON.stringify(await context.processes())}`);
  for (const p of victims) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return victims.length;
}

test(`a killed web content process or a closed window at any of ${POINTS} points of a ${NEW_LEN}-message save leaves one whole version`,
  {
    skip: ENGINE === "chromium" && "Chromium runs the test above (CDP Page.crash)",
  }, async () => {
  // No preallocated processes: a page's process is then one started after the session began.
  const context = await site.newContext({ prefs: { "dom.ipc.processPrelaunch.enabled": false } });
  const calibrate = await site.tab(context);
  await run(calibrate, prepareSave, { dbName: uniqueDb("crash-cal"), oldLen: OLD_LEN, newLen: NEW_LEN });
  const took = await run(calibrate, timeSave);
  await calibrate.close();
  const ways = { kill: 0, close: 0 };
  let killed = 0;
  const points = [];
  const slow = [];
  for (let i = 0; i < POINTS; i++) {
    const pointStart = Date.now();
    const dbName = uniqueDb(`crash-${i}`);
    // WebKit's WebDriver ends the session when one of its pages' processes dies, and its
    // sessions keep IndexedDB in memory: nothing would be left to read, so WebKit only closes.
    const way = ENGINE === "webkit" || i % 4 === 3 ? "close" : "kill";
    const delay = delayOf(i, took);
    const page = await site.tab(context);
    await run(page, prepareSave, { dbName, oldLen: OLD_LEN, newLen: NEW_LEN });
    await beginSave(page, LEAD);
    await new Promise((resolve) => setTimeout(resolve, LEAD + delay));
    if (way === "kill") killed += await killRenderers(context);
    await page.close().catch(() => {}); // a crashed window may refuse to close cleanly
    ways[way]++;
    points.push({ dbName, where: `${way} after ${delay} ms (point ${i})` });
    const spent = Date.now() - pointStart;
    if (spent > 15000) slow.push(`point ${i} (${way} after ${delay} ms): ${spent} ms`);
  }
  // Read back once the sweep is over, in one page: nothing else writes these databases, and the
  // sweep's points then follow each other without a reader's page between them.
  const outcomes = { old: 0, new: 0 };
  const reader = await site.tab(context);
  for (const { dbName, where } of points) {
    const v = assertWhole(await readAfter(reader, dbName, where), where);
    outcomes[v === 0 ? "old" : "new"]++;
  }
  console.log(`crash: ${sweep(took)} (${ways.kill} kills of ${killed} web content processes, ${ways.close} window ` +
    `closes): ${outcomes.old} left the old version, ${outcomes.new} the new, 0 torn` +
    (slow.length ? `; points over 15 s: ${slow.join("; ")}` : ""));
  assert.ok(outcomes.old > 0 && outcomes.new > 0, `every crash fell on one side: ${JSON.stringify(outcomes)}`);
  await context.close();
});
