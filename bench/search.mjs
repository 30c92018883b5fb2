// The search benchmark (`make bench-search`): the built package in a headless browser (the engine
// TEST_BROWSER names, Chromium by default). Databases of 100, 1,000 and 10,000 sessions x 50
// messages (imported, so indexed in the import's transactions) of 12-word messages over a
// 20,000-word vocabulary; per round: a one-word, a three-word and a rare-word query at 1,000 and
// 10,000 sessions, the first page filtered by tag at all three sizes, and appends to a 10-message session with search on and off
// (interleaved, the noise control: on/on#2). Dexie and raw IndexedDB have no search: the "scan"
// column is what apps do without an index, every message read and tested in JS (Dexie's
// filter), at 1,000 sessions. Last, the index's size against the messages', at 1,000 sessions.
import { run, startSite, uniqueDb } from "../tests/support/browser.mjs";
import { median, spread } from "./stats.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUICK = process.env.BENCH_QUICK === "1";
const SIZES = QUICK ? [100, 1000] : [1000, 10_000];
const site = await startSite();
const { pages: [page] } = await site.tabs(1);
const rows = {};
const record = (row, value) => (rows[row] ??= []).push(value);

/** In the page: makes database `dbName` with `count` sessions, through import. */
const fill = (dbName, count) => run(page, async ({ SessionStore }, _raw, dbName, count) => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  // Word w of the vocabulary: a pronounceable made-up word; Zipf-like choice, so some are common.
  const syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "be", "do", "fu", "ga"];
  const word = (w) => { let s = ""; do { s += syll[w % 12]; w = Math.floor(w / 12); } while (w > 0); return s; };
  const pick = () => word(Math.floor(20000 ** rand()) - 1);
  const lines = [JSON.stringify({ format: "idb-session-store", version: 1, sessions: count })];
  for (let i = 0; i < count; i++) {
    const messages = Array.from({ length: 50 }, (_, j) => ({ role: j % 2 ? "assistant" : "user",
      content: Array.from({ length: 12 }, pick).join(" ") }));
    lines.push(JSON.stringify({ metadata: { id: `s${i}`, name: `session ${i}`, tags: [i % 100 === 0 ? "rare" : "common"],
      agent_name: "bench", created_at: 1, updated_at: 1, turn_count: 50, total_tokens: 0 }, messages, state: null }));
  }
  const store = await SessionStore.open(dbName);
  await store.import(new Blob([lines.join("\n") + "\n"]));
  store.close();
}, dbName, count);

const time = (dbName, source, args, repeat = 5) => run(page, async ({ SessionStore }, _raw, dbName, source, args, repeat) => {
  const store = await SessionStore.open(dbName);
  await store.whenIndexed();
  const fn = (0, eval)(`(${source})`);
  await fn(store, ...args); // warm
  const started = performance.now();
  let out;
  for (let i = 0; i < repeat; i++) out = await fn(store, ...args);
  const ms = (performance.now() - started) / repeat;
  store.close();
  return { ms, out };
}, dbName, source.toString(), args, repeat);

const dbs = {};
// The tag filter's first page is also read at 100 sessions (the smallest size).
const TAG_SIZES = [100, ...SIZES.filter((n) => n !== 100)];
for (const count of TAG_SIZES) {
  dbs[count] = uniqueDb(`search-${count}`);
  const started = Date.now();
  await fill(dbs[count], count);
  process.stderr.write(`filled ${count} sessions in ${Date.now() - started} ms\n`);
}
// The words queried (counts at 10,000 sessions, 500,000 messages): "kaka" (a prefix of others) is
// in 22,360 messages, "lo" and "mi" in about half; "rumimi" in 574, too few for the newest-first
// walk, so its query reads every message holding it. (The generator, in floating point, repeats:
// it draws 4,440 distinct words of the 20,000.)
const ONE = "kaka";
const THREE = "kaka lo mi";
const RARE = "rumimi";
for (let round = 0; round <= ROUNDS; round++) {
  const keep = round > 0;
  const put = (row, value) => keep && record(row, value);
  for (const count of SIZES) {
    const one = await time(dbs[count], (s, q) => s.search(q).then((h) => h.length), [ONE]);
    put(`one-word query, ${count} sessions x 50 (ms)`, one.ms);
    const three = await time(dbs[count], (s, q) => s.search(q).then((h) => h.length), [THREE]);
    put(`three-word query, ${count} sessions x 50 (ms)`, three.ms);
    const rare = await time(dbs[count], (s, q) => s.search(q).then((h) => h.length), [RARE]);
    put(`rare one-word query, ${count} sessions x 50 (ms)`, rare.ms);
    // A row of a query that finds nothing would measure nothing.
    for (const [q, r] of [[ONE, one], [THREE, three], [RARE, rare]]) {
      if (r.out !== 20) throw new Error(`"${q}" found ${r.out} hits at ${count} sessions, not a full page of 20`);
    }
  }
  for (const count of TAG_SIZES) {
    // "common" tags 99 of every 100 sessions: a full page at every size.
    const page = await time(dbs[count], (s) => s.list({ tag: "common", limit: 20 }).then((l) => l.length), []);
    if (page.out !== 20) throw new Error(`the tag's first page held ${page.out} sessions at ${count}`);
    put(`first page of 20 filtered by a tag, ${count} sessions (ms)`, page.ms);
  }
  const small = SIZES[0];
  const scan = await time(dbs[small], async (s, q) => {
    // What an app without an index does: every session resumed, every message tested.
    let hits = 0;
    for (const m of await s.list()) for (const msg of (await s.resume(m.id)).messages) if (msg.content.includes(q)) hits++;
    return hits;
  }, [ONE], 1);
  put(`scan without an index (resume all, test each message), ${small} sessions (ms)`, scan.ms);
  for (const [label, search] of [["on", true], ["off", false], ["on#2", true]]) {
    const r = await run(page, async ({ SessionStore }, _raw, dbName, search) => {
      const store = await SessionStore.open(dbName, { search });
      const id = crypto.randomUUID();
      const msg = (i) => ({ role: i % 2 ? "assistant" : "user", content: `turn ${i}: the build failed because the harness could not find the fixture, so read the log and rerun` });
      await store.save({ metadata: { id, name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0,
        totalTokens: 0 }, messages: Array.from({ length: 10 }, (_, i) => msg(i)), state: null });
      const started = performance.now();
      for (let i = 0; i < 50; i++) await store.append(id, [msg(2 * i), msg(2 * i + 1)], { tokens: 1 });
      const ms = (performance.now() - started) / 50;
      store.close();
      return ms;
    }, uniqueDb("append"), search);
    put(`append a turn (2 messages), search ${label} (ms)`, r);
  }
}
const sizes = await run(page, async ({ SessionStore }, raw, dbName) => {
  const db = await raw.req(indexedDB.open(dbName));
  const tx = db.transaction(["words", "chunks"]);
  const [words, chunks] = await Promise.all([raw.req(tx.objectStore("words").getAll()), raw.req(tx.objectStore("chunks").getAll())]);
  db.close();
  return { words: words.reduce((n, r) => n + JSON.stringify(r.w).length, 0), messages: chunks.reduce((n, c) => n + c.length, 0) };
}, dbs[SIZES[0]]);
const version = await site.version();
await site.close();

const lines = ["| workload | ours |", "| --- | --- |"];
for (const [row, values] of Object.entries(rows)) {
  lines.push(`| ${row} | ${median(values).toFixed(median(values) < 10 ? 2 : 1)} ±${(100 * spread(values)).toFixed(0)}% |`);
}
const on = median(rows["append a turn (2 messages), search on (ms)"]);
lines.push("", `append with search on / off: ${(on / median(rows["append a turn (2 messages), search off (ms)"])).toFixed(2)} ` +
  `(control on / on#2: ${(on / median(rows["append a turn (2 messages), search on#2 (ms)"])).toFixed(2)})`);
lines.push(`index at ${SIZES[0]} sessions: word keys ${(sizes.words / 1e6).toFixed(1)} MB (JSON) against messages ` +
  `${(sizes.messages / 1e6).toFixed(1)} MB (JSON), ${(sizes.words / sizes.messages).toFixed(2)}x, before IndexedDB's own index entries`);
lines.push(`Medians of ${ROUNDS} rounds after a warm-up round, ± half the min-max spread; ${version}.`);
console.log(lines.join("\n"));
