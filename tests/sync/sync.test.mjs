// Syncing through the real session-server (PostgreSQL when run by `make test-sync`) and real HTTP:
// each device is a headless-Chromium context of its own (its own IndexedDB), the built package in
// its page. What one device writes reaches the others; concurrent turns are all kept (one side as
// a conflict fork); a lost answer or a killed server neither doubles nor loses a turn; a delete
// stays a delete; one tab of a database syncs; a pushed turn costs the turn, not the history.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run, uniqueDb } from "../support/browser.mjs";
import { syncSite } from "../support/server.mjs";

const env = syncSite();

let owners = 0;
/** An owner of its own for a test, and its token: tests never see each other's sessions. */
function account() {
  const owner = `owner-${process.pid}-${++owners}`;
  return { url: env.server.url, token: env.server.token(owner) };
}

/** A device: a context of its own with one tab, its store open as `window.store` on `dbName`. */
async function device(dbName = uniqueDb("device")) {
  const { context, pages: [page] } = await env.site.tabs(1);
  await open(page, dbName);
  return { context, page, dbName };
}

function open(page, dbName) {
  return run(page, async ({ SessionStore }, _raw, dbName) => {
    window.store = await SessionStore.open(dbName);
  }, dbName);
}

/** Runs `fn(store, ...args)` in the device's page. */
function on(dev, fn, ...args) {
  return run(dev.page, async (_lib, _raw, source, args) => {
    const fn = (0, eval)(`(${source})`);
    return fn(window.store, ...args);
  }, fn.toString(), args);
}

/** One sync round; resolves with the report, or `{ error: code }`. */
function sync(dev, remote) {
  return on(dev, (store, remote) => store.sync(remote).catch((e) => ({ error: e.code, message: e.message })), remote);
}

/** Every session of the device, as a device-independent value: content, not local times. */
function contents(dev) {
  return on(dev, async (store) => {
    const out = [];
    for (const meta of await store.list()) {
      const s = await store.resume(meta.id);
      out.push({
        id: meta.id,
        name: meta.name,
        tags: [...meta.tags].sort(),
        agentName: meta.agentName,
        turnCount: meta.turnCount,
        totalTokens: meta.totalTokens,
        messages: s.messages,
        state: s.state,
      });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  });
}

const session = (id, name, messages, extra = {}) => ({
  metadata: { id, name, tags: [], agentName: "agent", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0, ...extra },
  messages,
  state: null,
});

test("create, append, fork, rewind, tag, rename and delete on one device reach another", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  const forked = await on(a, async (store, s1, s2, s3) => {
    await store.save(s1);
    await store.append(s1.metadata.id, [{ role: "user", content: "third" }], { tokens: 5, state: { cwd: "/x" } });
    await store.tag(s1.metadata.id, ["b"]);
    await store.rename(s1.metadata.id, "plan 2");
    const fork = await store.fork(s1.metadata.id, "copy");
    await store.save(s2);
    await store.rewind(s2.metadata.id, 2);
    await store.save(s3);
    await store.delete(s3.metadata.id);
    return fork.id;
  }, { ...session("s1", "plan", ["one", "two"], { tags: ["a"] }), state: { cwd: "/" } },
     session("s2", "long", ["x1", "x2", "x3", "x4"]), session("s3", "gone", ["never synced"]));
  const pushed = await sync(a, remote);
  assert.equal(pushed.conflicts, 0);
  assert.ok(pushed.pushed >= 3, JSON.stringify(pushed));
  assert.equal(await on(a, (store) => store.pendingSync()), 0);

  await on(b, (store) => {
    window.heard = [];
    store.watch((changes) => window.heard.push(...changes));
  });
  const pulled = await sync(b, remote);
  assert.equal(pulled.pulled, 3, JSON.stringify(pulled));
  const seen = await contents(b);
  assert.deepEqual(seen, await contents(a));
  assert.deepEqual(seen.map((s) => [s.id, s.name, s.tags, s.messages.length]), [
    ["s1", "plan 2", ["a", "b"], 3],
    ["s2", "long", [], 2],
    [forked, "copy", ["a", "b"], 3],
  ].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
  assert.deepEqual(seen.find((s) => s.id === "s1").state, { cwd: "/x" });
  const heard = await b.page.evaluate(() => window.heard.map((c) => `${c.kind} ${c.id}`).sort());
  assert.deepEqual(heard, ["saved s1", "saved s2", `saved ${forked}`].sort());

  // And back: the other device's writes reach the first.
  await on(b, async (store, forked) => {
    await store.append(forked, ["from b"], { tokens: 1 });
    await store.delete("s2");
  }, forked);
  assert.equal((await sync(b, remote)).pushed, 2);
  assert.equal((await sync(a, remote)).pulled, 2);
  assert.deepEqual(await contents(a), await contents(b));
  assert.deepEqual((await contents(a)).map((s) => s.id).sort(), ["s1", forked].sort());
  await a.context.close();
  await b.context.close();
});

test("turns appended on two devices at once are all kept, one side under a conflict fork", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  await on(a, (store, s) => store.save(s), session("chat", "chat", ["hello"]));
  await sync(a, remote);
  await sync(b, remote);
  await on(a, async (store) => {
    await store.append("chat", ["from a"], { tokens: 1 });
    await store.tag("chat", ["x"]);
  });
  await on(b, async (store) => {
    await store.append("chat", ["from b"], { tokens: 2 });
    await store.tag("chat", ["y"]);
  });
  assert.equal((await sync(a, remote)).conflicts, 0);
  assert.equal((await sync(b, remote)).conflicts, 1);
  await sync(a, remote);
  const [onA, onB] = [await contents(a), await contents(b)];
  assert.deepEqual(onA, onB);
  assert.equal(onA.length, 2);
  const kept = onA.find((s) => s.id === "chat");
  const copy = onA.find((s) => s.id !== "chat");
  assert.deepEqual(kept.messages, ["hello", "from a"]);
  assert.deepEqual(copy.messages, ["hello", "from b"]);
  assert.equal(copy.name, "chat (conflict)");
  assert.deepEqual(kept.tags, ["x", "y"]);

  // A rename on each: the last the server took wins, on both.
  await on(a, (store) => store.rename("chat", "named on a"));
  await on(b, (store) => store.rename("chat", "named on b"));
  await sync(a, remote);
  assert.equal((await sync(b, remote)).conflicts, 0);
  await sync(a, remote);
  assert.deepEqual(await contents(a), await contents(b));
  assert.equal((await contents(a)).find((s) => s.id === "chat").name, "named on b");
  await a.context.close();
  await b.context.close();
});

/** The session `id` as the server has it for `remote`'s owner, through the plain HTTP API. */
async function onServer(remote, id) {
  const answer = await fetch(`${remote.url}/v1/sessions/${id}`, { headers: { authorization: `Bearer ${remote.token}` } });
  return answer.status === 200 ? answer.json() : answer.status;
}

test("a push whose answer was lost is sent again and applied once", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  await on(a, (store, s) => store.save(s), session("lost", "lost", ["one"]));
  await sync(a, remote);
  await on(a, (store) => store.append("lost", ["two"], { tokens: 1 }));
  // Chromium itself sends a request again once when a kept-alive connection drops before any
  // answer: the proxy loses every answer until told to stop, so the store sees the loss too.
  const seen = env.server.requests.length;
  env.server.losePushAnswers(true);
  const failed = await sync(a, remote);
  env.server.losePushAnswers(false);
  assert.equal(failed.error, "UNAVAILABLE", JSON.stringify(failed));
  const lost = env.server.requests.slice(seen).filter((r) => r.lost);
  assert.ok(lost.length >= 1 && lost.every((r) => r.status === 200), JSON.stringify(lost));
  assert.equal(await on(a, (store) => store.pendingSync()), 1);
  const again = await sync(a, remote);
  assert.equal(again.error, undefined, JSON.stringify(again));
  assert.equal(await on(a, (store) => store.pendingSync()), 0);
  assert.deepEqual((await onServer(remote, "lost")).messages, ["one", "two"]);
  await sync(b, remote);
  assert.deepEqual(await contents(b), await contents(a));
  assert.deepEqual((await contents(b))[0].messages, ["one", "two"]);
  await a.context.close();
  await b.context.close();
});

test("writes made while the server is down survive a reload and reach it once it is back", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  await on(a, (store, s) => store.save(s), session("offline", "offline", ["one"]));
  await sync(a, remote);
  await env.server.stop();
  try {
    await on(a, async (store) => {
      await store.append("offline", ["two"], { tokens: 1 });
      await store.append("offline", ["three"], { tokens: 1 });
    });
    assert.equal((await sync(a, remote)).error, "UNAVAILABLE");
    await a.page.reload();
    await a.page.waitForFunction(() => document.title === "ready");
    await open(a.page, a.dbName);
    assert.equal(await on(a, (store) => store.pendingSync()), 1);
  } finally {
    await env.server.restart();
  }
  const report = await sync(a, remote);
  assert.equal(report.pushed, 1, JSON.stringify(report));
  assert.deepEqual((await onServer(remote, "offline")).messages, ["one", "two", "three"]);
  await sync(b, remote);
  assert.deepEqual(await contents(b), await contents(a));
  await a.context.close();
  await b.context.close();
});

test("the server killed while a push is under way loses and doubles nothing", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  const turns = 40;
  await on(a, async (store, turns) => {
    for (let i = 0; i < turns; i++) {
      await store.save({
        metadata: { id: `k${i}`, name: `k${i}`, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
        messages: Array.from({ length: 1000 }, (_, j) => ({ role: "user", content: `message ${j} `.repeat(20) })),
        state: null,
      });
    }
  }, turns);
  // Kill the server as soon as the first push reached it, then bring it back.
  const pushing = sync(a, remote);
  const seen = env.server.requests.length;
  while (!env.server.requests.slice(seen).some((r) => r.path.startsWith("/v1/sync/push"))) {
    await new Promise((r) => setTimeout(r, 2));
  }
  await env.server.stop();
  const first = await pushing;
  assert.equal(first.error, "UNAVAILABLE", JSON.stringify(first));
  await env.server.restart();
  const second = await sync(a, remote);
  assert.equal(second.error, undefined, JSON.stringify(second));
  assert.equal(await on(a, (store) => store.pendingSync()), 0);
  await sync(b, remote);
  const onB = await contents(b);
  assert.equal(onB.length, turns);
  assert.deepEqual(onB, await contents(a));
  await a.context.close();
  await b.context.close();
});

test("a deleted session stays deleted when a device holding an older copy syncs", async () => {
  const remote = account();
  const [a, b, c] = [await device(), await device(), await device()];
  await on(a, (store, s) => store.save(s), session("doomed", "doomed", ["one"]));
  await sync(a, remote);
  await sync(b, remote);
  await sync(c, remote);
  await on(b, (store) => store.delete("doomed"));
  await sync(b, remote);
  // Device c changed its older copy meanwhile, offline.
  await on(c, async (store) => {
    await store.append("doomed", ["two"], { tokens: 1 });
    await store.rename("doomed", "still here?");
  });
  const report = await sync(c, remote);
  assert.equal(report.error, undefined, JSON.stringify(report));
  await sync(a, remote);
  assert.equal(await onServer(remote, "doomed"), 404);
  for (const dev of [a, b, c]) assert.deepEqual(await contents(dev), []);
  assert.equal(await on(c, (store) => store.pendingSync()), 0);
  for (const dev of [a, b, c]) await dev.context.close();
});

test("a refused token is UNAUTHORIZED and keeps every change for the next round", async () => {
  const remote = account();
  const a = await device();
  await on(a, (store, s) => store.save(s), session("kept", "kept", ["one"]));
  const refused = await sync(a, { url: remote.url, token: "not-a-token" });
  assert.equal(refused.error, "UNAUTHORIZED", JSON.stringify(refused));
  assert.equal(await on(a, (store) => store.pendingSync()), 1);
  const bad = await on(a, (store) => store.sync({ url: "not a url", token: "t" }).catch((e) => e.code));
  assert.equal(bad, "INVALID_INPUT");
  assert.equal((await sync(a, remote)).pushed, 1);
  await a.context.close();
});

test("a pushed turn costs the turn, not the history, and a pull with nothing new is one small request", async () => {
  const remote = account();
  const a = await device();
  const long = Array.from({ length: 10_000 }, (_, i) => ({ role: "user", content: `message ${i}` }));
  await on(a, async (store, long) => {
    await store.save({
      metadata: { id: "short", name: "n", tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: long.slice(0, 10),
      state: null,
    });
    await store.save({
      metadata: { id: "longer", name: "n", tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
      messages: long,
      state: null,
    });
  }, long);
  await sync(a, remote);
  const pushOf = async (id) => {
    await on(a, (store, id) => store.append(id, [{ role: "assistant", content: "a reply" }], { tokens: 3 }), id);
    const seen = env.server.requests.length;
    await sync(a, remote);
    const pushes = env.server.requests.slice(seen).filter((r) => r.method === "POST" && r.path.startsWith("/v1/sync/push"));
    assert.equal(pushes.length, 1, JSON.stringify(env.server.requests.slice(seen)));
    return pushes[0].bytes;
  };
  const [short, longer] = [await pushOf("short"), await pushOf("longer")];
  assert.ok(short < 2048, `one turn pushed in ${short} bytes`);
  assert.ok(Math.abs(longer - short) <= 16, `the same turn at history 10 and 10,000: ${short} and ${longer} bytes`);

  const seen = env.server.requests.length;
  assert.deepEqual(await sync(a, remote), { pushed: 0, pulled: 0, conflicts: 0 });
  const idle = env.server.requests.slice(seen).filter((r) => r.method !== "OPTIONS");
  assert.deepEqual(idle.map((r) => [r.method, r.path.split("?")[0], r.status]), [["GET", "/v1/sync/pull", 200]]);
  await a.context.close();
});

test("one tab of a database syncs; another takes over when it closes", async () => {
  const remote = account();
  const dbName = uniqueDb("tabs");
  const { context, pages } = await env.site.tabs(2);
  const other = await device();
  for (const page of pages) {
    await open(page, dbName);
    await run(page, async (_lib, _raw, remote) => {
      window.rounds = [];
      window.stopSync = window.store.startSync({ ...remote, intervalMs: 300, onRound: (r) => window.rounds.push(r) });
    }, remote);
  }
  const rounds = () => Promise.all(pages.map((p) => p.evaluate(() => window.rounds.length)));
  for (const until = Date.now() + 10_000; Date.now() < until; ) {
    const [first, second] = await rounds();
    if (first + second >= 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [first, second] = await rounds();
  assert.ok((first > 0) !== (second > 0), `exactly one tab synced: ${first} and ${second} rounds`);
  const [leader, follower] = first > 0 ? pages : [pages[1], pages[0]];
  assert.deepEqual(await leader.evaluate(() => window.rounds.filter((r) => r.error)), []);

  // A write in the tab that does not sync is pushed by the one that does, soon.
  await run(follower, (_lib, _raw, s) => window.store.save(s), session("from-follower", "f", ["hi"]));
  const reached = async () => (await contents(other)).some((s) => s.id === "from-follower");
  const deadline = Date.now() + 5_000;
  while (!(await reached()) && Date.now() < deadline) {
    await sync(other, remote);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(await reached(), "the follower's write reached the other device");

  await leader.close();
  await follower.waitForFunction(() => window.rounds.length > 0, null, { timeout: 10_000 });
  await run(follower, () => window.stopSync());
  await context.close();
  await other.context.close();
});

test("startSync: a round that pulled starts no other; a write starts one soon", async () => {
  const remote = account();
  const [a, b] = [await device(), await device()];
  await on(a, (store, s) => store.save(s), session("from-a", "a", ["one", "two"]));
  assert.equal((await sync(a, remote)).pushed, 1);
  await run(b.page, async (_lib, _raw, remote) => {
    window.rounds = [];
    window.stopSync = window.store.startSync({ ...remote, intervalMs: 60_000, onRound: (r) => window.rounds.push(r) });
  }, remote);
  await b.page.waitForFunction(() => window.rounds.length >= 1, null, { timeout: 10_000 });
  // The pulled session's write is heard by b's own watchers; it must not wake b's syncing.
  await new Promise((r) => setTimeout(r, 1500));
  const afterPull = await b.page.evaluate(() => window.rounds.map((r) => r.report ?? r));
  assert.deepEqual(afterPull, [{ pushed: 0, pulled: 1, conflicts: 0 }]);
  // A write of the app's does, within the wake delay (250 ms) and a round trip.
  await on(b, (store, s) => store.save(s), session("from-b", "b", ["three"]));
  await b.page.waitForFunction(() => window.rounds.length >= 2, null, { timeout: 5_000 });
  await new Promise((r) => setTimeout(r, 1000));
  const rounds = await b.page.evaluate(() => window.rounds.map((r) => r.report ?? r));
  assert.deepEqual(rounds.slice(1), [{ pushed: 1, pulled: 0, conflicts: 0 }]);
  await run(b.page, () => window.stopSync());
  await a.context.close();
  await b.context.close();
});
