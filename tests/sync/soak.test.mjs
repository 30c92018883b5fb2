// Model-based sync soak: DEVICES stores (each its own database, so its own device id) in one page
// do SYNC_SOAK_OPS seeded random writes and syncs against the real session-server; then every
// device syncs until a whole pass changes nothing. Every device and the server must then hold
// the same sessions, and the documented rules must hold: a deleted session is nowhere; no turn
// is lost but those a rewind, replaceLast or delete took away where it was done (or appended to
// a session deleted elsewhere); none is doubled within a session; tags added to a session are all on it; its name is one somebody gave it.
// Seed: SYNC_SOAK_SEED (default: the time), printed to rerun a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run, uniqueDb } from "../support/browser.mjs";
import { syncSite } from "../support/server.mjs";

const OPS = Number(process.env.SYNC_SOAK_OPS ?? 1000);
const SEED = Number(process.env.SYNC_SOAK_SEED ?? Date.now() % 1_000_000);
const DEVICES = 3;

const env = syncSite();

/** In the page: the random writes and syncs, then syncing until quiet; returns what was done and what each device holds. */
async function soak(lib, _raw, { dbNames, remote, ops, seed }) {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n) => Math.floor(random() * n);
  const stores = [];
  for (const name of dbNames) stores.push(await lib.SessionStore.open(name));
  const appended = []; // [id, message]
  const removed = []; // messages a rewind, replaceLast or delete took away
  const deleted = new Set();
  const tagged = []; // [id, tag]
  const named = {}; // id -> names given
  const counts = {};
  let next = 0;
  const message = (d) => `d${d}-m${next++}`;
  const name = (id, n) => ((named[id] ??= []).push(n), n);
  for (let step = 0; step < ops; step++) {
    const d = below(stores.length);
    const store = stores[d];
    const list = await store.list();
    // Mostly the newest few sessions, so that devices often change the same one between syncs.
    const pick = list.length ? list[below(random() < 0.7 ? Math.min(list.length, 4) : list.length)] : null;
    const roll = below(100);
    const bounds = [[10, "create"], [42, "append"], [52, "tag"], [59, "rename"], [65, "fork"],
      [70, "rewind"], [74, "replaceLast"], [79, "delete"], [100, "sync"]];
    let kind = bounds.find(([bound]) => roll < bound)[1];
    if (!pick && kind !== "sync") kind = "create";
    counts[kind] = (counts[kind] ?? 0) + 1;
    switch (kind) {
      case "create": {
        const id = `s-${seed}-${next++}`;
        const messages = Array.from({ length: 1 + below(3) }, () => message(d));
        await store.save({
          metadata: { id, name: name(id, `chat ${id}`), tags: [], agentName: "soak", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
          messages,
          state: { step },
        });
        for (const m of messages) appended.push([id, m]);
        break;
      }
      case "append": {
        const messages = Array.from({ length: 1 + below(2) }, () => message(d));
        await store.append(pick.id, messages, { tokens: 1, state: random() < 0.5 ? { step } : undefined });
        for (const m of messages) appended.push([pick.id, m]);
        break;
      }
      case "tag": {
        const tag = `t${below(6)}`;
        await store.tag(pick.id, [tag]);
        tagged.push([pick.id, tag]);
        break;
      }
      case "rename":
        await store.rename(pick.id, name(pick.id, `name ${next++}`));
        break;
      case "fork": {
        const fork = await store.fork(pick.id, `fork ${next++}`);
        name(fork.id, fork.name);
        break;
      }
      case "rewind": {
        const keep = below(pick.turnCount + 1);
        removed.push(...(await store.resume(pick.id)).messages.slice(keep));
        await store.rewind(pick.id, keep);
        break;
      }
      case "replaceLast":
        if (pick.turnCount === 0) break;
        removed.push(...(await store.resume(pick.id)).messages.slice(-1));
        await store.replaceLast(pick.id, message(d), { tokens: 1 });
        break;
      case "delete":
        removed.push(...(await store.resume(pick.id)).messages);
        await store.delete(pick.id);
        deleted.add(pick.id);
        break;
      case "sync":
        counts.conflicts = (counts.conflicts ?? 0) + (await store.sync(remote)).conflicts;
        break;
    }
  }
  let passes = 0;
  const rounds = { pushed: 0, pulled: 0, conflicts: 0 };
  for (;;) {
    passes++;
    let changed = 0;
    for (const store of stores) {
      const report = await store.sync(remote);
      for (const k of Object.keys(rounds)) rounds[k] += report[k];
      changed += report.pushed + report.pulled + report.conflicts;
    }
    if (changed === 0 || passes === 6) break;
  }
  const contents = [];
  for (const store of stores) {
    const out = [];
    for (const meta of await store.list()) {
      const s = await store.resume(meta.id);
      out.push({ id: meta.id, name: meta.name, tags: [...meta.tags].sort(), turnCount: meta.turnCount, messages: s.messages, state: s.state });
    }
    contents.push(out.sort((a, b) => (a.id < b.id ? -1 : 1)));
    contents.pending = (contents.pending ?? 0) + (await store.pendingSync());
  }
  const pending = contents.pending;
  for (const store of stores) store.close();
  return { contents, pending, passes, rounds, counts, appended, removed, deleted: [...deleted], tagged, named };
}

/** Every session the server holds for the token, in the same shape. */
async function onServer(remote) {
  const headers = { authorization: `Bearer ${remote.token}` };
  const list = await (await fetch(`${remote.url}/v1/sessions`, { headers })).json();
  const out = [];
  for (const meta of list) {
    const s = await (await fetch(`${remote.url}/v1/sessions/${meta.id}`, { headers })).json();
    out.push({ id: meta.id, name: meta.name, tags: [...meta.tags].sort(), turnCount: meta.turn_count, messages: s.messages, state: s.state });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

test(`${DEVICES} devices, ${OPS} random writes and syncs, end equal to each other, the server and the rules`, async () => {
  const remote = { url: env.server.url, token: env.server.token(`soak-${process.pid}`) };
  const { context, pages: [page] } = await env.site.tabs(1);
  const dbNames = Array.from({ length: DEVICES }, (_, i) => uniqueDb(`soak-device-${i}`));
  const started = Date.now();
  const r = await run(page, soak, { dbNames, remote, ops: OPS, seed: SEED });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`# sync soak: seed ${SEED}, ${OPS} operations ${JSON.stringify(r.counts)}, ${r.passes} final passes ` +
    `${JSON.stringify(r.rounds)}, ${r.contents[0].length} sessions, ${seconds} s`);
  const rerun = `(rerun with SYNC_SOAK_SEED=${SEED})`;
  assert.ok(r.passes < 6, `syncing went quiet ${rerun}`);
  assert.equal(r.pending, 0, rerun);
  for (let d = 1; d < DEVICES; d++) assert.deepEqual(r.contents[d], r.contents[0], `device ${d} and device 0 ${rerun}`);
  const final = r.contents[0];
  assert.deepEqual(await onServer(remote), final, `the server and the devices ${rerun}`);

  const byId = new Map(final.map((s) => [s.id, s]));
  for (const id of r.deleted) assert.ok(!byId.has(id), `deleted ${id} is back ${rerun}`);
  const everywhere = new Set(final.flatMap((s) => s.messages));
  const removed = new Set(r.removed);
  for (const [id, m] of r.appended) {
    // A delete anywhere wins over turns appended elsewhere meanwhile.
    if (removed.has(m) || r.deleted.includes(id)) continue;
    assert.ok(everywhere.has(m), `${m} appended to ${id} was lost ${rerun}`);
  }
  for (const s of final) {
    assert.equal(new Set(s.messages).size, s.messages.length, `a message doubled in ${s.id} ${rerun}`);
  }
  for (const [id, tag] of r.tagged) {
    if (byId.has(id)) assert.ok(byId.get(id).tags.includes(tag), `tag ${tag} of ${id} lost ${rerun}`);
  }
  for (const s of final) {
    const given = r.named[s.id] ?? [];
    const ok = given.includes(s.name) || (s.name ?? "").endsWith(" (conflict)");
    assert.ok(ok, `${s.id} is named ${JSON.stringify(s.name)}, which nobody gave it ${rerun}`);
  }
  assert.ok(final.length > 0, rerun);
  await context.close();
});
