// Many tabs: several pages of one origin race a random mix of save, tag, rename, fork, rewind and
// delete on one database. Each tab logs what was acknowledged; the end state must be exactly what
// the store's semantics allow for those logs:
// - private sessions (one tab each): replaying that tab's log on a model gives every session,
//   whole, and their relative list order;
// - shared sessions (every tab): every acknowledged tag survives, in each tab's order; the name is
//   the last rename of some tab; messages are the initial ones cut to the smallest acknowledged
//   rewind; a tab reads its own writes;
// - doomed sessions: one tab deletes each mid-race; any call that starts after that delete was
//   acknowledged fails NOT_FOUND, and none is resurrected.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

const TABS = 3;
const OPS_PER_TAB = Number(process.env.TABS_OPS ?? 700);
const SHARED = 3;
let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** Messages of private session version `v` of tab `tab`: regenerated here to check them. */
const messages = (tab, v, len) =>
  Array.from({ length: len }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `tab ${tab} v${v} #${i}` }));
const SHARED_MESSAGES = Array.from({ length: 100 }, (_, i) => ({ role: "user", content: `shared #${i} 𝄞` }));

/** One tab's part of the race, run in its page. Returns its log of acknowledged outcomes. */
async function tabWork({ SessionStore }, _raw, { dbName, tab, ops, seed, shared, doomed, sharedMessages }) {
  let s = seed >>> 0;
  const rand = (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const now = () => performance.timeOrigin + performance.now();
  const messagesOf = (v, len) =>
    Array.from({ length: len }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `tab ${tab} v${v} #${i}` }));
  const store = await SessionStore.open(dbName);
  const log = [];
  const mine = [];
  let version = 0;
  let counter = 0;
  const call = async (entry, fn) => {
    entry.start = now();
    try {
      entry.value = await fn();
      entry.ok = true;
    } catch (e) {
      entry.ok = false;
      entry.error = { name: e.name, code: e.code, message: e.message };
    }
    entry.end = now();
    log.push(entry);
    return entry;
  };
  const deleteAt = Math.floor(ops / 3) + rand(Math.floor(ops / 3));
  for (let i = 0; i < ops; i++) {
    const pick = (list) => list[rand(list.length)];
    const roll = rand(100);
    if (i === deleteAt) {
      const id = doomed[tab];
      await call({ kind: "doomed", op: "delete", id }, () => store.delete(id));
    } else if (roll < 16 || mine.length === 0) {
      const id = mine.length > 0 && rand(3) > 0 ? pick(mine) : `tab${tab}-s${counter++}`;
      const v = ++version;
      const len = rand(90);
      const save = { id, v, len, name: rand(4) ? `tab ${tab} v${v}` : null, tags: rand(2) ? ["p0", `v${v}`] : [] };
      const e = await call({ kind: "private", op: "save", ...save }, () => store.save({
        metadata: { id, name: save.name, tags: save.tags, agentName: `agent ${tab}`, createdAt: 1000 + v,
          updatedAt: 0, turnCount: len, totalTokens: v },
        messages: messagesOf(v, len), state: { tab, v },
      }));
      if (e.ok && !mine.includes(id)) mine.push(id);
    } else if (roll < 24) {
      const id = pick(mine);
      const tags = Array.from({ length: rand(3) }, () => `p${rand(6)}`);
      await call({ kind: "private", op: "tag", id, tags }, () => store.tag(id, tags));
    } else if (roll < 30) {
      const id = pick(mine);
      const name = `tab ${tab} name ${counter++}`;
      await call({ kind: "private", op: "rename", id, name }, () => store.rename(id, name));
    } else if (roll < 36) {
      const id = pick(mine);
      const n = rand(100);
      await call({ kind: "private", op: "rewind", id, n }, () => store.rewind(id, n));
    } else if (roll < 40) {
      const id = pick(mine);
      const name = rand(2) ? `fork ${counter++}` : null;
      const e = await call({ kind: "private", op: "fork", id, name }, () => store.fork(id, name));
      if (e.ok) mine.push(e.value.id);
    } else if (roll < 45 && mine.length > 2) {
      const id = pick(mine);
      const e = await call({ kind: "private", op: "delete", id }, () => store.delete(id));
      if (e.ok) mine.splice(mine.indexOf(id), 1);
    } else if (roll < 63) {
      const id = pick(shared);
      const tags = [`tab${tab}-${counter++}`];
      if (rand(3) === 0) tags.push(`tab${tab}-${counter++}`);
      await call({ kind: "shared", op: "tag", id, tags }, () => store.tag(id, tags));
    } else if (roll < 70) {
      const id = pick(shared);
      const name = `tab${tab}-name${counter++}`;
      await call({ kind: "shared", op: "rename", id, name }, () => store.rename(id, name));
    } else if (roll < 76) {
      const id = pick(shared);
      const n = sharedMessages.length - 10 - rand(40) - Math.floor((40 * i) / ops);
      await call({ kind: "shared", op: "rewind", id, n }, () => store.rewind(id, n));
    } else if (roll < 82) {
      const id = pick(shared);
      await call({ kind: "shared", op: "read", id }, () => store.resume(id));
    } else if (roll < 86) {
      // A fork of a session others change: its content is observed once, then it is private.
      const id = pick(rand(2) ? shared : doomed);
      const name = `fork of ${id} by tab ${tab} #${counter++}`;
      const e = await call({ kind: doomed.includes(id) ? "doomed" : "shared", op: "fork", id, name },
        async () => {
          const meta = await store.fork(id, name);
          return { meta, observed: await store.resume(meta.id) };
        });
      if (e.ok) mine.push(e.value.meta.id);
    } else {
      const id = pick(doomed);
      const op = ["tag", "rename", "rewind", "read"][rand(4)];
      const fn = {
        tag: () => store.tag(id, [`tab${tab}-doomed${counter++}`]),
        rename: () => store.rename(id, `tab ${tab} doomed ${counter++}`),
        rewind: () => store.rewind(id, 50),
        read: () => store.resume(id),
      }[op];
      await call({ kind: "doomed", op, id }, fn);
    }
  }
  store.close();
  return log;
}

/** Replays one tab's acknowledged private operations on a model of the store's semantics. */
function replay(tab, log) {
  const model = new Map();
  let writes = 0;
  const written = (id) => (model.get(id).lastWrite = ++writes);
  for (const e of log) {
    const where = `tab ${tab} ${e.op} ${e.id}`;
    if (e.kind === "private") {
      assert.equal(e.ok, true, `${where} failed: ${JSON.stringify(e.error)}`);
    }
    if (e.kind === "private" && e.op === "save") {
      model.set(e.id, {
        metadata: { id: e.id, name: e.name, tags: e.tags, agentName: `agent ${tab}`, createdAt: 1000 + e.v,
          turnCount: e.len, totalTokens: e.v },
        messages: messages(tab, e.v, e.len), state: { tab, v: e.v },
      });
      written(e.id);
    } else if (e.kind === "private" && e.op === "tag") {
      const tags = model.get(e.id).metadata.tags;
      for (const t of e.tags) if (!tags.includes(t)) tags.push(t);
      written(e.id);
    } else if (e.kind === "private" && e.op === "rename") {
      model.get(e.id).metadata.name = e.name;
      written(e.id);
    } else if (e.kind === "private" && e.op === "rewind") {
      const s = model.get(e.id);
      s.messages = s.messages.slice(0, e.n);
      s.metadata.turnCount = s.messages.length;
      const { updatedAt, ...got } = e.value.metadata;
      assert.deepEqual({ ...e.value, metadata: got }, { metadata: s.metadata, messages: s.messages, state: s.state },
        `${where}: the rewound session returned`);
      written(e.id);
    } else if (e.kind === "private" && e.op === "fork") {
      const source = structuredClone(model.get(e.id));
      const name = e.name ?? (source.metadata.name === null ? null : `${source.metadata.name} (fork)`);
      Object.assign(source.metadata, { id: e.value.id, name, createdAt: e.value.createdAt });
      model.set(e.value.id, { ...source, lastWrite: 0 });
      written(e.value.id);
    } else if (e.kind === "private" && e.op === "delete") {
      model.delete(e.id);
    } else if (e.op === "fork" && e.ok) {
      const { updatedAt, ...metadata } = e.value.observed.metadata;
      model.set(metadata.id, { ...e.value.observed, metadata });
      written(metadata.id);
    }
  }
  return model;
}

test(`${TABS} tabs racing ${TABS * OPS_PER_TAB} operations lose nothing and resurrect nothing`, async () => {
  const dbName = uniqueDb("tabs");
  const { context, pages } = await site.tabs(TABS + 1);
  const [setup, ...tabs] = pages;
  const shared = Array.from({ length: SHARED }, (_, i) => `shared-${i}`);
  const doomed = Array.from({ length: TABS }, (_, i) => `doomed-${i}`);
  const initial = await run(setup, async ({ SessionStore }, _raw, { dbName, shared, doomed, sharedMessages }) => {
    const store = await SessionStore.open(dbName);
    const out = {};
    for (const id of [...shared, ...doomed]) {
      out[id] = await store.save({
        metadata: { id, name: `initial ${id}`, tags: ["initial"], agentName: "shared-agent", createdAt: 5,
          updatedAt: 0, turnCount: sharedMessages.length, totalTokens: 7 },
        messages: sharedMessages, state: { id },
      });
    }
    store.close();
    return out;
  }, { dbName, shared, doomed, sharedMessages: SHARED_MESSAGES });

  const started = Date.now();
  console.log(`tabs: seed ${started} (the interleaving across tabs is the browser's, not the seed's)`);
  const logs = await Promise.all(tabs.map((page, tab) => run(page, tabWork, {
    dbName, tab, ops: OPS_PER_TAB, seed: started + tab * 7919, shared, doomed, sharedMessages: SHARED_MESSAGES,
  })));
  const seconds = (Date.now() - started) / 1000;
  const all = logs.flat();
  assert.equal(all.length, TABS * OPS_PER_TAB);

  const final = await run(setup, async ({ SessionStore }, raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const list = await store.list();
    const sessions = {};
    for (const m of list) sessions[m.id] = await store.resume(m.id);
    store.close();
    return { list, sessions };
  }, dbName);
  const listed = final.list.map((m) => m.id);
  assert.equal(new Set(listed).size, listed.length, "list repeats a session");
  const strip = ({ updatedAt, ...rest }) => rest;

  // Private sessions: exactly the model of each tab's acknowledged log, and in its write order.
  const expectedIds = new Set(shared);
  logs.forEach((log, tab) => {
    const model = replay(tab, log);
    for (const [id, want] of model) {
      expectedIds.add(id);
      const got = final.sessions[id];
      assert.ok(got, `tab ${tab}: session ${id} was lost`);
      const { lastWrite, ...session } = want;
      assert.deepEqual({ ...got, metadata: strip(got.metadata) }, session, `tab ${tab}: session ${id}`);
    }
    const order = listed.filter((id) => model.has(id));
    const byWrite = [...model.keys()].sort((a, b) => model.get(b).lastWrite - model.get(a).lastWrite);
    assert.deepEqual(order, byWrite, `tab ${tab}: list order is not the order of its writes`);
  });
  assert.deepEqual(listed.filter((id) => !expectedIds.has(id)), [], "sessions nobody kept (resurrected?)");

  // Shared sessions: every acknowledged tag, the last rename of some tab, the smallest rewind.
  for (const id of shared) {
    const got = final.sessions[id];
    assert.ok(got, `shared session ${id} was lost`);
    const acked = all.filter((e) => e.kind === "shared" && e.id === id && e.op !== "fork");
    for (const e of acked) assert.equal(e.ok, true, `shared ${e.op} ${id} failed: ${JSON.stringify(e.error)}`);
    const tags = acked.filter((e) => e.op === "tag").flatMap((e) => e.tags);
    assert.deepEqual([...got.metadata.tags].sort(), ["initial", ...tags].sort(), `tags of ${id}`);
    for (const log of logs) {
      const mine = log.filter((e) => e.kind === "shared" && e.id === id && e.op === "tag").flatMap((e) => e.tags);
      const positions = mine.map((t) => got.metadata.tags.indexOf(t));
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `tag order of ${id}`);
    }
    const lastRenames = logs.map((log) => log.filter((e) => e.kind === "shared" && e.id === id && e.op === "rename").at(-1))
      .filter(Boolean).map((e) => e.name);
    if (lastRenames.length > 0) assert.ok(lastRenames.includes(got.metadata.name), `name of ${id}: ${got.metadata.name}`);
    else assert.equal(got.metadata.name, `initial ${id}`);
    const keep = Math.min(SHARED_MESSAGES.length, ...acked.filter((e) => e.op === "rewind").map((e) => e.n));
    assert.deepEqual(got.messages, SHARED_MESSAGES.slice(0, keep), `messages of ${id}`);
    assert.equal(got.metadata.turnCount, keep);
    assert.deepEqual(got.state, { id });
    assert.deepEqual(strip(got.metadata), { ...strip(initial[id]), name: got.metadata.name, tags: got.metadata.tags,
      turnCount: keep });
  }

  // Every read and every fork of a shared session saw a whole version, and a tab its own writes.
  for (const [tab, log] of logs.entries()) {
    const myTags = new Map(shared.map((id) => [id, []]));
    for (const e of log) {
      if (e.kind === "shared" && e.op === "tag") myTags.get(e.id).push(...e.tags);
      if (!(e.kind === "shared" && (e.op === "read" || e.op === "fork"))) continue;
      assert.equal(e.ok, true, `tab ${tab} ${e.op} ${e.id}: ${JSON.stringify(e.error)}`);
      const seen = e.op === "read" ? e.value : e.value.observed;
      assert.deepEqual(seen.messages, SHARED_MESSAGES.slice(0, seen.messages.length), `torn ${e.op} of ${e.id}`);
      assert.equal(seen.metadata.turnCount, seen.messages.length, `torn ${e.op} of ${e.id}`);
      assert.deepEqual(seen.state, { id: e.id });
      if (e.op === "read") {
        for (const t of myTags.get(e.id)) assert.ok(seen.metadata.tags.includes(t), `tab ${tab} lost its own tag ${t}`);
      } else {
        assert.equal(seen.metadata.name, e.name);
      }
    }
  }

  // Doomed sessions: deleted once, then NOT_FOUND for every call that starts later; never back.
  let afterDelete = 0;
  for (const [tab, id] of doomed.entries()) {
    assert.equal(final.sessions[id], undefined, `${id} was resurrected`);
    const deletes = all.filter((e) => e.kind === "doomed" && e.id === id && e.op === "delete");
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0].ok, true, `tab ${tab} could not delete ${id}: ${JSON.stringify(deletes[0].error)}`);
    for (const e of all.filter((e) => e.kind === "doomed" && e.id === id && e.op !== "delete")) {
      if (e.start > deletes[0].end) {
        afterDelete++;
        assert.equal(e.ok ? "ok" : e.error.code, "NOT_FOUND", `${e.op} of ${id} after its delete`);
      } else if (e.end < deletes[0].start) {
        assert.equal(e.ok, true, `${e.op} of ${id} before its delete: ${JSON.stringify(e.error)}`);
      } else {
        assert.ok(e.ok || e.error.code === "NOT_FOUND", `${e.op} of ${id} during its delete: ${JSON.stringify(e.error)}`);
      }
      if (e.ok && e.op === "read") {
        assert.deepEqual(e.value.messages, SHARED_MESSAGES.slice(0, e.value.messages.length), `torn read of ${id}`);
      }
    }
  }
  assert.ok(afterDelete > 20, `too few calls after deletes (${afterDelete}) to show none resurrects`);
  for (const page of pages) assert.deepEqual(page.uncaughtErrors, []);
  const counts = {};
  for (const e of all) counts[`${e.kind} ${e.op}`] = (counts[`${e.kind} ${e.op}`] ?? 0) + 1;
  console.log(`tabs: ${all.length} operations from ${TABS} tabs in ${seconds.toFixed(1)} s, ` +
    `${final.list.length} sessions at the end, ${afterDelete} calls after deletes; ${JSON.stringify(counts)}`);
  await context.close();
});
