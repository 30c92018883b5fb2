// The sync benchmark (`make bench-sync`): the built package in headless Chromium syncing with
// session-server (the `server` profile build, on a throwaway PostgreSQL) over real HTTP, through
// the tests' proxy, which counts the bytes of each request. Neither Dexie nor raw IndexedDB syncs,
// so these rows have no columns to compare with; each is BENCH_ROUNDS (default 5) fresh devices,
// printed as the median and the spread (min-max), with the bytes pushed where they matter.
import { run, startSite, uniqueDb } from "../tests/support/browser.mjs";
import { startServer } from "../tests/support/server.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUICK = process.env.BENCH_QUICK === "1";
const FIRST = QUICK ? { sessions: 50, messages: 50 } : { sessions: 1000, messages: 50 };
const LONG = QUICK ? 1000 : 10_000;
const REPEAT = 20;

const site = await startSite();
const server = await startServer(site.base);
const { context, pages: [page] } = await site.tabs(1);
const rows = {};
const record = (row, value) => (rows[row] ??= []).push(value);

/** In the page: `fn(store, remote, ...args)` on a fresh device (a database of its own). */
const onDevice = (dbName, remote, fn, ...args) =>
  run(page, async ({ SessionStore }, _raw, dbName, remote, source, args) => {
    const store = await SessionStore.open(dbName);
    try {
      return await (0, eval)(`(${source})`)(store, remote, ...args);
    } finally {
      store.close();
    }
  }, dbName, remote, fn.toString(), args);

const session = (id, messages) => ({
  metadata: { id, name: id, tags: [], agentName: "bench", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
  messages: Array.from({ length: messages }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i} of ${id}: ${"lorem ipsum ".repeat(8)}` })),
  state: { cwd: "/home/user" },
});

const pushedBytes = (since) => server.requests.slice(since)
  .filter((r) => r.method === "POST").reduce((sum, r) => sum + r.bytes, 0);

for (let round = 0; round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
  const remote = { url: server.url, token: server.token(`bench-${process.pid}-${round}`) };
  const [a, b] = [uniqueDb("bench-sync-a"), uniqueDb("bench-sync-b")];

  // 1. The first sync of a device holding 1,000 sessions x 50 messages, then another device's first pull.
  const sessions = Array.from({ length: FIRST.sessions }, (_, i) => session(`s${i}`, FIRST.messages));
  await onDevice(a, remote, async (store, _remote, sessions) => {
    for (const s of sessions) await store.save(s);
  }, sessions);
  let seen = server.requests.length;
  const push = await onDevice(a, remote, async (store, remote) => {
    const t = performance.now();
    await store.sync(remote);
    return performance.now() - t;
  });
  record(`first sync, pushing ${FIRST.sessions} sessions x ${FIRST.messages} messages (ms)`, push);
  record(`  its bytes pushed (MB)`, pushedBytes(seen) / 1e6);
  const pull = await onDevice(b, remote, async (store, remote) => {
    const t = performance.now();
    await store.sync(remote);
    return performance.now() - t;
  });
  record(`first sync, pulling them on another device (ms)`, pull);

  // 2. One appended turn pushed, at history 10 and 10,000 (median of REPEAT per round).
  for (const history of [10, LONG]) {
    const id = `h${history}`;
    await onDevice(a, remote, (store, _remote, s) => store.save(s), session(id, history));
    await onDevice(a, remote, (store, remote) => store.sync(remote));
    seen = server.requests.length;
    const times = await onDevice(a, remote, async (store, remote, id, repeat) => {
      const times = [];
      for (let i = 0; i < repeat; i++) {
        await store.append(id, [{ role: "user", content: `turn ${i}` }, { role: "assistant", content: `reply ${i}` }], { tokens: 12 });
        const t = performance.now();
        await store.sync(remote);
        times.push(performance.now() - t);
      }
      return times.sort((x, y) => x - y)[times.length >> 1];
    }, id, REPEAT);
    record(`one appended turn pushed, history ${history.toLocaleString("en")} (ms per sync)`, times);
    record(`  its bytes pushed, history ${history.toLocaleString("en")}`, pushedBytes(seen) / REPEAT);
  }

  // 3. A round with nothing new: one pull.
  seen = server.requests.length;
  const idle = await onDevice(b, remote, async (store, remote, repeat) => {
    await store.sync(remote); // what the rows above pushed
    const times = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await store.sync(remote);
      times.push(performance.now() - t);
    }
    return times.sort((x, y) => x - y)[times.length >> 1];
  }, REPEAT);
  record(`a sync with nothing new (ms)`, idle);
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
console.log(`\nSync with session-server (PostgreSQL), ${ROUNDS} rounds, headless Chromium; median (min-max)\n`);
console.log("| row | ours |\n| --- | --- |");
for (const [row, xs] of Object.entries(rows)) {
  console.log(`| ${row} | ${fmt(median(xs))} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}) |`);
}
await context.close();
await server.close();
await site.close();
