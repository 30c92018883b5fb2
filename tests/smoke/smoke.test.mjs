// The built package (pkg/) driven through its JS API in headless Chromium, as an app would use
// it: every method, every error code, hostile input, exactness, reloads, the README's JS quick
// start, and the TypeScript types.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { ENGINE, openPage, run, startSite, TEST_PAGE, uniqueDb } from "../support/browser.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let site;
let page;

before(async () => {
  site = await startSite();
  page = await openPage(site, TEST_PAGE, { ready: true });
});

after(async () => {
  assert.deepEqual(page.uncaughtErrors, [], "the page threw");
  await site.close();
});

/** Runs `fn(lib, raw, dbName, arg)` in the page against a database of its own. */
const inPage = (fn, arg) => run(page, fn, uniqueDb("smoke"), arg);

test("every method works through the JS API", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const id = crypto.randomUUID();
    const session = {
      metadata: { id, name: "smoke", tags: ["a"], agentName: "agent", createdAt: 0, updatedAt: 0,
        turnCount: 3, totalTokens: 120 },
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello", tool_calls: [{ name: "ls", arguments: { path: "/" } }] },
        { role: "user", content: "bye" },
      ],
      state: { cwd: "/home/user" },
    };
    const saved = await store.save(session);
    const list1 = await store.list();
    const resumed = await store.resume(id);
    const fork = await store.fork(id, "branch");
    const forkDefault = await store.fork(id);
    const rewound = await store.rewind(id, 1);
    const tagged = await store.tag(id, ["b", "a", "c"]);
    const renamed = await store.rename(id, "renamed");
    const afterEdits = await store.resume(id);
    const deleted = await store.delete(fork.id);
    const list2 = await store.list();
    store.close();
    return { saved, list1, resumed, fork, forkDefault, rewound, tagged, renamed, afterEdits, deleted,
      list2: list2.map((m) => m.id), id, session };
  });
  const { saved, session, id } = r;
  assert.equal(saved.id, id);
  assert.ok(saved.createdAt > 1.7e12 && saved.createdAt === saved.updatedAt);
  assert.deepEqual({ ...saved, createdAt: 0, updatedAt: 0 }, session.metadata);
  assert.deepEqual(r.list1, [saved]);
  assert.deepEqual(r.resumed, { ...session, metadata: saved });
  assert.notEqual(r.fork.id, id);
  assert.equal(r.fork.name, "branch");
  assert.equal(r.forkDefault.name, "smoke (fork)");
  assert.deepEqual(r.rewound.messages, session.messages.slice(0, 1));
  assert.equal(r.rewound.metadata.turnCount, 1);
  assert.equal(r.tagged, undefined);
  assert.equal(r.renamed, undefined);
  assert.equal(r.deleted, undefined);
  assert.deepEqual(r.afterEdits.metadata.tags, ["a", "b", "c"]);
  assert.equal(r.afterEdits.metadata.name, "renamed");
  assert.deepEqual(r.afterEdits.messages, session.messages.slice(0, 1));
  assert.deepEqual(r.list2, [id, r.forkDefault.id]);
});

test("failures reject with a SessionError carrying a code", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const grab = (p) => p.then(
      () => ({ ok: true }),
      (e) => ({ isError: e instanceof Error, name: e.name, code: e.code, message: e.message }),
    );
    const missing = "missing-id";
    const out = {
      resume: await grab(store.resume(missing)),
      delete: await grab(store.delete(missing)),
      fork: await grab(store.fork(missing, null)),
      rewind: await grab(store.rewind(missing, 0)),
      tag: await grab(store.tag(missing, ["x"])),
      rename: await grab(store.rename(missing, "x")),
      badOpen: await grab(SessionStore.open("")),
    };
    store.close();
    out.closed = await grab(store.list());
    out.closedSave = await grab(store.resume("x"));
    return out;
  });
  for (const op of ["resume", "delete", "fork", "rewind", "tag", "rename"]) {
    const e = r[op];
    assert.equal(e.isError, true, op);
    assert.equal(e.name, "SessionError", op);
    assert.equal(e.code, "NOT_FOUND", op);
    assert.match(e.message, /missing-id/, op);
  }
  assert.equal(r.badOpen.code, "INVALID_INPUT");
  assert.equal(r.closed.code, "CLOSED");
  assert.match(r.closed.message, /close\(\)/);
  assert.equal(r.closedSave.code, "CLOSED");
});

test("bad input is refused with INVALID_INPUT and stores nothing", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const good = () => ({
      metadata: { id: "good", name: "n", tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
        turnCount: 0, totalTokens: 0 },
      messages: [{ role: "user", content: "x" }],
      state: {},
    });
    await store.save(good());
    const dump = async () => JSON.stringify([await store.list(), await store.resume("good")]);
    const before = await dump();
    const cyclic = good();
    cyclic.state.self = cyclic.state;
    const sparse = good();
    sparse.messages = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const withGetter = good();
    Object.defineProperty(withGetter.state, "boom", { enumerable: true, get() { throw new Error("getter threw"); } });
    const variants = {
      "not an object": 42,
      "null": null,
      "an array": [],
      "a string": "session",
      "no metadata": { messages: [], state: null },
      "empty id": (() => { const s = good(); s.metadata.id = ""; return s; })(),
      "numeric id": (() => { const s = good(); s.metadata.id = 7; return s; })(),
      "id over 512 bytes": (() => { const s = good(); s.metadata.id = "x".repeat(513); return s; })(),
      "turnCount a string": (() => { const s = good(); s.metadata.turnCount = "3"; return s; })(),
      "turnCount negative": (() => { const s = good(); s.metadata.turnCount = -1; return s; })(),
      "turnCount fractional": (() => { const s = good(); s.metadata.turnCount = 1.5; return s; })(),
      "turnCount too big": (() => { const s = good(); s.metadata.turnCount = 2 ** 32; return s; })(),
      "totalTokens unsafe": (() => { const s = good(); s.metadata.totalTokens = 2 ** 53; return s; })(),
      "createdAt negative": (() => { const s = good(); s.metadata.createdAt = -5; return s; })(),
      "createdAt NaN": (() => { const s = good(); s.metadata.createdAt = NaN; return s; })(),
      "tags not an array": (() => { const s = good(); s.metadata.tags = "a"; return s; })(),
      "tag not a string": (() => { const s = good(); s.metadata.tags = [1]; return s; })(),
      "duplicate tags": (() => { const s = good(); s.metadata.tags = ["a", "a"]; return s; })(),
      "empty name": (() => { const s = good(); s.metadata.name = ""; return s; })(),
      "unknown metadata field": (() => { const s = good(); s.metadata.extra = 1; return s; })(),
      "unknown session field": (() => { const s = good(); s.extra = 1; return s; })(),
      "missing state": (() => { const s = good(); delete s.state; return s; })(),
      "messages not an array": (() => { const s = good(); s.messages = { 0: "a" }; return s; })(),
      "cyclic state": cyclic,
      "BigInt": (() => { const s = good(); s.state.n = 10n; return s; })(),
      "NaN": (() => { const s = good(); s.messages[0].n = NaN; return s; })(),
      "Infinity": (() => { const s = good(); s.messages[0].n = Infinity; return s; })(),
      "negative zero": (() => { const s = good(); s.messages[0].n = -0; return s; })(),
      "function": (() => { const s = good(); s.messages[0].f = () => 1; return s; })(),
      "symbol": (() => { const s = good(); s.messages[0].s = Symbol("s"); return s; })(),
      "undefined in array": (() => { const s = good(); s.messages.push(undefined); return s; })(),
      "sparse array": sparse,
      "Date": (() => { const s = good(); s.state.when = new Date(0); return s; })(),
      "Map": (() => { const s = good(); s.state.m = new Map([["a", 1]]); return s; })(),
      "typed array": (() => { const s = good(); s.state.bytes = new Uint8Array(2); return s; })(),
      "class instance": (() => { const s = good(); s.state.p = new (class Point { x = 1; })(); return s; })(),
      "throwing getter": withGetter,
      "lone surrogate in content": (() => { const s = good(); s.messages[0].content = "a\uD800b"; return s; })(),
      "lone surrogate in key": (() => { const s = good(); s.state["k\uDC00"] = 1; return s; })(),
      "replacing good with bad": (() => { const s = good(); s.messages = [NaN]; return s; })(),
    };
    const results = {};
    for (const [label, value] of Object.entries(variants)) {
      try {
        await store.save(value);
        results[label] = "accepted";
      } catch (e) {
        results[label] = `${e.name} ${e.code}: ${e.message}`;
      }
    }
    const calls = {
      "resume(42)": () => store.resume(42),
      "resume('')": () => store.resume(""),
      "resume(lone surrogate)": () => store.resume("\uD800"),
      "rewind(-1)": () => store.rewind("good", -1),
      "rewind(1.5)": () => store.rewind("good", 1.5),
      "rewind('2')": () => store.rewind("good", "2"),
      "rewind(NaN)": () => store.rewind("good", NaN),
      "tag(not array)": () => store.tag("good", "x"),
      "tag([1])": () => store.tag("good", [1]),
      "tag([''])": () => store.tag("good", [""]),
      "rename('')": () => store.rename("good", ""),
      "rename(null)": () => store.rename("good", null),
      "fork(name 5)": () => store.fork("good", 5),
      "fork('')": () => store.fork("good", ""),
    };
    for (const [label, call] of Object.entries(calls)) {
      try {
        await call();
        results[label] = "accepted";
      } catch (e) {
        results[label] = `${e.name} ${e.code}: ${e.message}`;
      }
    }
    const afterAll = await dump();
    store.close();
    return { results, unchanged: before === afterAll };
  });
  for (const [label, outcome] of Object.entries(r.results)) {
    assert.match(outcome, /^SessionError INVALID_INPUT: ./, `${label}: ${outcome}`);
  }
  assert.ok(Object.keys(r.results).length >= 50, "the corpus shrank");
  assert.equal(r.unchanged, true, "a refused call changed the store");
  // Messages name what was wrong.
  assert.match(r.results["NaN"], /messages\[0\]\.n/);
  // The engine's JSON.stringify words it: "circular" in V8, "cyclic" in SpiderMonkey and JavaScriptCore.
  assert.match(r.results["cyclic state"], ENGINE === "chromium" ? /circular/i : /cyclic/i);
  assert.match(r.results["turnCount fractional"], /turnCount/);
  assert.match(r.results["Date"], /Date/);
  assert.match(r.results["rewind(-1)"], /turnIndex/);
});

test("values come back exactly as saved", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const messages = [
      JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"x": 1}}'),
      { content: "nul \u0000 astral 𝄞 emoji 😀 rtl \u202e" },
      [0, -1, 1.5, 1e300, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 64],
      null, true, "plain string",
      { big: "x".repeat(1 << 20) },
      { undefinedProperty: undefined, kept: 1 },
    ];
    const session = {
      metadata: { id: "exact 🚀", name: null, tags: ["𝄞", " "], agentName: "", createdAt: 1,
        updatedAt: 0, turnCount: 4294967295, totalTokens: Number.MAX_SAFE_INTEGER },
      messages, state: "just a string",
    };
    await store.save(session);
    const back = await store.resume("exact 🚀");
    store.close();
    const first = back.messages[0];
    return {
      same: JSON.stringify(back.messages) === JSON.stringify(messages),
      protoIsData: Object.getPrototypeOf(first) === Object.prototype && Object.hasOwn(first, "__proto__"),
      polluted: {}.polluted === undefined ? "no" : "yes",
      omitted: Object.hasOwn(back.messages[7], "undefinedProperty"),
      meta: back.metadata,
      state: back.state,
      bigLength: back.messages[6].big.length,
    };
  });
  assert.equal(r.same, true);
  assert.equal(r.protoIsData, true, "__proto__ must come back as an own data property");
  assert.equal(r.polluted, "no");
  assert.equal(r.omitted, false, "undefined properties are omitted, as in JSON");
  assert.equal(r.bigLength, 1 << 20);
  assert.equal(r.state, "just a string");
  assert.equal(r.meta.name, null);
  assert.equal(r.meta.createdAt, 1);
  assert.equal(r.meta.turnCount, 4294967295);
  assert.equal(r.meta.totalTokens, Number.MAX_SAFE_INTEGER);
});

test("sessions survive a page reload", async () => {
  const dbName = `smoke-reload-${process.pid}`;
  const saved = await run(page, async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const meta = await store.save({
      metadata: { id: "persist", name: "p", tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
        turnCount: 1, totalTokens: 5 },
      messages: [{ role: "user", content: "remember me" }],
      state: { step: 1 },
    });
    store.close();
    return meta;
  }, dbName);
  await page.reload();
  await page.waitForFunction(() => document.title === "ready");
  const back = await run(page, async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const out = { list: await store.list(), session: await store.resume("persist") };
    store.close();
    return out;
  }, dbName);
  assert.deepEqual(back.list, [saved]);
  assert.deepEqual(back.session.messages, [{ role: "user", content: "remember me" }]);
  assert.deepEqual(back.session.state, { step: 1 });
});

test("the README's JS quick start runs as written", async () => {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = readme.match(/<!-- js-quick-start -->\s*```js\n([\s\S]*?)```/);
  assert.ok(block, "README.md has a js block after <!-- js-quick-start -->");
  const code = block[1].replace(/from "idb-session-store"/, `from "${site.base}/pkg/idb_session_store.js"`);
  assert.notEqual(code, block[1], "the quick start imports the package by its npm name");
  const output = await run(page, async (_lib, _raw, code) => {
    const lines = [];
    const log = console.log;
    console.log = (...args) => lines.push(args.map(String).join(" "));
    try {
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      await import(url);
    } finally {
      console.log = log;
    }
    return lines;
  }, code);
  assert.ok(output.length > 0, "the quick start printed nothing");
  assert.ok(output.some((l) => /\(fork\)/.test(l)), `unexpected output: ${output.join("\n")}`);
});

test("the TypeScript types are exact and compile under --strict", async () => {
  const dts = await readFile(join(ROOT, "pkg/idb_session_store.d.ts"), "utf8");
  const api = dts.slice(dts.indexOf("export interface SessionMetadata"), dts.indexOf("export type InitInput"));
  // Types only: the doc comments are prose, where "any" is an English word.
  const types = api.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(types, /\bany\b/, "the public surface must not use any");
  for (const method of ["list(options?: ListOptions): Promise<SessionMetadata[]>", "append(id: string, messages: unknown[], options?: AppendOptions): Promise<SessionMetadata>", "resume(id: string): Promise<Session>",
    "save(session: Session): Promise<SessionMetadata>", "delete(id: string): Promise<void>",
    "fork(id: string, newName?: string | null): Promise<SessionMetadata>",
    "rewind(id: string, turnIndex: number): Promise<Session>", "tag(id: string, tags: string[]): Promise<void>",
    "rename(id: string, newName: string): Promise<void>", "close(): void",
    "static open(dbName: string | null | undefined, options?: OpenOptions): Promise<SessionStore>",
    "search(query: string, options?: SearchOptions): Promise<SearchHit[]>",
    "whenIndexed(): Promise<IndexProgress>",
    "replaceLast(id: string, message: unknown, options?: TurnOptions): Promise<SessionMetadata>",
    "watch(listener: (changes: Change[]) => void): () => void",
    "export(options?: ExportOptions): Promise<Blob>",
    "import(data: Blob | string, options?: ImportOptions): Promise<ImportReport>",
    "sync(options: SyncOptions): Promise<SyncReport>", "startSync(options: StartSyncOptions): () => void",
    "pendingSync(): Promise<number>"]) {
    assert.ok(api.includes(method), `missing from the .d.ts: ${method}`);
  }
  const dir = await mkdtemp(join(tmpdir(), "idb-session-store-ts-"));
  const file = join(dir, "check.ts");
  await writeFile(file, `
import init, { SessionStore, type Session, type SessionMetadata, type SessionError, type Change, type ImportReport, type SyncReport, type SearchHit } from ${JSON.stringify(join(ROOT, "pkg/idb_session_store.js"))};
async function main(): Promise<void> {
  await init();
  const store: SessionStore = await SessionStore.open("app");
  const session: Session = {
    metadata: { id: "1", name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
    messages: [], state: null,
  };
  const meta: SessionMetadata = await store.save(session);
  const all: SessionMetadata[] = await store.list({ tag: "x", limit: 20 });
  const hits: SearchHit[] = await store.search("hello", { limit: 5, agentName: "a" });
  for (const h of hits) { const at: number = h.messageIndex; const words: [number, number][] = h.matches; void at; void words; }
  // @ts-expect-error: a query is a string
  await store.search(1);
  const back: Session = await store.rewind(meta.id, all.length);
  const fork: SessionMetadata = await store.fork(back.metadata.id);
  await store.tag(fork.id, ["x"]);
  try { await store.rename(fork.id, "y"); } catch (e) { const err = e as SessionError; const code: "NOT_FOUND" | string = err.code; void code; }
  // @ts-expect-error: ids are strings
  await store.resume(1);
  const stop: () => void = store.watch((changes: Change[]) => {
    for (const c of changes) if (c.kind === "saved") { const m: SessionMetadata | undefined = c.metadata; void m; }
  });
  await store.append(meta.id, [{ role: "user" }], { tokens: 1, state: { cwd: "/" } });
  await store.replaceLast(meta.id, { role: "assistant" }, { tokens: 2 });
  const file: Blob = await store.export({ ids: [meta.id] });
  const report: ImportReport = await store.import(file, { onConflict: "fork" });
  // @ts-expect-error: onConflict is one of four words
  await store.import(file, { onConflict: "merge" });
  void report;
  const synced: SyncReport = await store.sync({ url: "https://sync.example", token: "t" });
  const conflicts: number = synced.conflicts;
  void conflicts;
  const stopSync: () => void = store.startSync({ url: "https://sync.example", token: "t", intervalMs: 1000,
    onRound: ({ report, error }) => { void report?.pushed; void error?.code; } });
  stopSync();
  const pending: number = await store.pendingSync();
  void pending;
  // @ts-expect-error: a token is needed
  await store.sync({ url: "https://sync.example" });
  stop();
  store.close();
}
void main;
`);
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  // wasm-bindgen's classes declare [Symbol.dispose], hence esnext.disposable (TypeScript 5.2+).
  const args = ["--strict", "--noEmit", "--target", "es2022", "--module", "es2022", "--moduleResolution",
    "bundler", "--lib", "es2022,esnext.disposable,dom", "--skipLibCheck", "false", file];
  try {
    await promisify(execFile)(tsc, args);
  } catch (e) {
    assert.fail(`tsc --strict failed:\n${e.stdout}${e.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("persist() and estimate() report on this origin's storage", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const grab = (p) => p.then((v) => v, (e) => `${e.name} ${e.code}: ${e.message}`);
    const store = await SessionStore.open(dbName);
    const before = await grab(SessionStore.estimate());
    await store.save({
      metadata: { id: "big", name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
        turnCount: 0, totalTokens: 0 },
      messages: Array.from({ length: 64 }, (_, i) => ({ content: `${i}`.repeat(4096) })),
      state: null,
    });
    const after = await grab(SessionStore.estimate());
    store.close();
    // Firefox asks the person (a prompt headless never answers): the promise stays pending.
    const pending = new Promise((resolve) => setTimeout(() => resolve("still pending after 2 s"), 2000));
    return { persisted: await Promise.race([grab(SessionStore.persist()), pending]), before, after };
  });
  if (ENGINE === "webkit") {
    // WebKitGTK has no navigator.storage (the Storage API is not enabled in its builds).
    const missing = (m) => new RegExp(`^SessionError UNAVAILABLE: navigator\\.storage\\.${m}\\(\\) is not available in this context$`);
    assert.match(r.persisted, missing("persist"), JSON.stringify(r));
    assert.match(r.after, missing("estimate"), JSON.stringify(r));
    return;
  }
  if (ENGINE === "firefox") assert.equal(r.persisted, "still pending after 2 s", JSON.stringify(r));
  else assert.equal(typeof r.persisted, "boolean");
  assert.deepEqual(Object.keys(r.after).sort(), ["quota", "usage"]);
  assert.ok(r.after.quota > 0, JSON.stringify(r));
  // Chromium refreshes its usage figure lazily, so only its shape is checked, not that it grew.
  assert.ok(Number.isFinite(r.after.usage) && r.after.usage >= 0, JSON.stringify(r));
});

test("append() and paged list() through the JS API", async () => {
  const r = await inPage(async ({ SessionStore }, _raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const base = (id) => ({
      metadata: { id, name: id, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0,
        totalTokens: 0 },
      messages: [], state: null,
    });
    for (let i = 0; i < 5; i++) await store.save(base(`s${i}`));
    const turns = [];
    for (let t = 0; t < 40; t++) {
      turns.push(await store.append("s0", [{ role: "user", content: `q${t}` }, { role: "assistant", content: `a${t}` }],
        { tokens: 7 }));
    }
    const noOptions = await store.append("s1", [{ only: true }]);
    const grown = await store.resume("s0");
    const pages = {
      all: (await store.list()).map((m) => m.id),
      first2: (await store.list({ limit: 2 })).map((m) => m.id),
      next2: (await store.list({ offset: 2, limit: 2 })).map((m) => m.id),
      rest: (await store.list({ offset: 4 })).map((m) => m.id),
      empty: await store.list({}),
    };
    const errors = {};
    const tries = {
      "append unknown": () => store.append("nope", []),
      "append not array": () => store.append("s0", { 0: 1 }),
      "append NaN": () => store.append("s0", [NaN]),
      "append tokens -1": () => store.append("s0", [], { tokens: -1 }),
      "append tokens 1.5": () => store.append("s0", [], { tokens: 1.5 }),
      "append unknown option": () => store.append("s0", [], { token: 1 }),
      "list offset -1": () => store.list({ offset: -1 }),
      "list limit '2'": () => store.list({ limit: "2" }),
      "list options array": () => store.list([]),
      "list unknown option": () => store.list({ page: 1 }),
    };
    for (const [label, call] of Object.entries(tries)) {
      try { await call(); errors[label] = "accepted"; } catch (e) { errors[label] = `${e.code}: ${e.message}`; }
    }
    const after = await store.resume("s0");
    store.close();
    return { last: turns.at(-1), noOptions, messages: grown.messages.length, lastMessage: grown.messages.at(-1),
      pages, errors, unchanged: JSON.stringify(after) === JSON.stringify(grown) };
  });
  assert.equal(r.messages, 80);
  assert.deepEqual(r.lastMessage, { role: "assistant", content: "a39" });
  assert.equal(r.last.turnCount, 40);
  assert.equal(r.last.totalTokens, 280);
  assert.equal(r.noOptions.totalTokens, 0);
  assert.equal(r.noOptions.turnCount, 1);
  assert.deepEqual(r.pages.all, ["s1", "s0", "s4", "s3", "s2"]);
  assert.deepEqual(r.pages.first2, ["s1", "s0"]);
  assert.deepEqual(r.pages.next2, ["s4", "s3"]);
  assert.deepEqual(r.pages.rest, ["s2"]);
  assert.equal(r.pages.empty.length, 5);
  assert.match(r.errors["append unknown"], /^NOT_FOUND: /);
  for (const [label, outcome] of Object.entries(r.errors)) {
    if (label !== "append unknown") assert.match(outcome, /^INVALID_INPUT: ./, `${label}: ${outcome}`);
  }
  assert.equal(r.unchanged, true);
});
