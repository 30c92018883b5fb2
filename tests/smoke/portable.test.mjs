// Export and import through the built package's JS API in headless Chromium: a round trip into an
// empty database is exact; a corrupt file or a conflict changes nothing; every way a file can be
// wrong is refused with the line it is on.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { run, startSite, uniqueDb } from "../support/browser.mjs";

let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

test("export then import into an empty database gives back every session exactly", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, raw, from, to) => {
    const source = await SessionStore.open(from);
    const session = (id, messages, state) => ({
      metadata: { id, name: `session ${id}`, tags: ["t", "ü"], agentName: "agent", createdAt: 1700000000000 + id.length,
        updatedAt: 0, turnCount: messages.length, totalTokens: 42 },
      messages,
      state,
    });
    await source.save(session("long", Array.from({ length: 1100 }, (_, i) => ({ i, text: `message ${i} ,]"\\` })), { cwd: "/" }));
    await source.append("long", [{ role: "user", content: "😀" }], { tokens: 3, state: { cwd: "/tmp" } });
    await source.replaceLast("long", { role: "assistant", content: "streamed" });
    await source.save(session("empty", [], null));
    await source.save(session("exact", [0.1, 1e300, 5e-324, -1.5, 9007199254740991, "\u0000\u001f\u2028é𝄞", { __proto__: null, "": [] }],
      JSON.parse('{"nested":[[[{"a":null}]]],"__proto__":"kept as data"}')));
    const file = await source.export();
    const text = await file.text();
    const listed = await source.list();
    const sessions = [];
    for (const m of listed) sessions.push(await source.resume(m.id));
    source.close();
    const target = await SessionStore.open(to);
    const report = await target.import(file);
    const relisted = await target.list();
    const back = [];
    for (const m of relisted) back.push(await target.resume(m.id));
    const again = await (await target.export()).text();
    const fromString = await SessionStore.open(`${to}-string`);
    const reportFromString = await fromString.import(text);
    const oneFile = await (await fromString.export({ ids: ["exact"] })).text();
    target.close();
    fromString.close();
    return { type: file.type, text, again, listed, relisted, sessions, back, report, reportFromString, oneFile };
  }, uniqueDb("export-from"), uniqueDb("export-to"));
  const lines = r.text.split("\n");
  assert.equal(lines.at(-1), "", "the file ends with a newline");
  assert.equal(lines[0], '{"format":"idb-session-store","version":1,"sessions":3}');
  assert.equal(r.type, "application/jsonl");
  // Oldest first, in the Rust crate's serde form (snake_case), so serde_json reads each line.
  const parsed = lines.slice(1, -1).map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((s) => s.metadata.id), r.listed.map((m) => m.id).reverse());
  assert.deepEqual(Object.keys(parsed[0].metadata),
    ["id", "name", "tags", "agent_name", "created_at", "updated_at", "turn_count", "total_tokens"]);
  assert.deepEqual(Object.keys(parsed[0]), ["metadata", "messages", "state"]);
  assert.deepEqual(r.report, { imported: 3, skipped: 0, forked: 0, replaced: 0 });
  assert.deepEqual(r.reportFromString, r.report);
  // Exact: the same list order, and every message and state byte for byte.
  assert.deepEqual(r.relisted.map((m) => m.id), r.listed.map((m) => m.id));
  const strip = (m) => ({ ...m, updatedAt: 0 });
  for (let i = 0; i < r.sessions.length; i++) {
    assert.deepEqual(strip(r.back[i].metadata), strip(r.sessions[i].metadata));
    assert.equal(JSON.stringify(r.back[i].messages), JSON.stringify(r.sessions[i].messages));
    assert.equal(JSON.stringify(r.back[i].state), JSON.stringify(r.sessions[i].state));
  }
  const unstamped = (text) => text.replace(/"updated_at":\d+/g, '"updated_at":0');
  assert.equal(unstamped(r.again), unstamped(r.text));
  assert.equal(r.oneFile.split("\n").length, 3);
  await context.close();
});

test("a file that is wrong anywhere, or that clashes, changes nothing and says where", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const meta = (id) => ({ id, name: null, tags: [], agent_name: "a", created_at: 5, updated_at: 6, turn_count: 1,
      total_tokens: 2 });
    const line = (id, extra = {}) => JSON.stringify({ metadata: meta(id), messages: ["m"], state: null, ...extra });
    const header = (n) => `{"format":"idb-session-store","version":1,"sessions":${n}}`;
    const file = (...lines) => `${lines.join("\n")}\n`;
    await store.save({ metadata: { id: "stored", name: "kept", tags: [], agentName: "a", createdAt: 0, updatedAt: 0,
      turnCount: 0, totalTokens: 0 }, messages: ["original"], state: null });
    const before = await raw.dumpText(dbName);
    const grab = (p) => p.then((v) => ({ ok: v }), (e) => `${e.code}: ${e.message}`);
    const bad = {
      empty: await grab(store.import("")),
      noNewline: await grab(store.import(file(header(1), line("a")).trimEnd())),
      notJson: await grab(store.import(file(header(2), line("a"), "{oops"))),
      blank: await grab(store.import(file(header(2), line("a"), "", line("b")))),
      twice: await grab(store.import(file(header(2), line("a"), line("a")))),
      miscounted: await grab(store.import(file(header(3), line("a"), line("b")))),
      format: await grab(store.import(file('{"format":"other","version":1,"sessions":0}'))),
      version: await grab(store.import(file('{"format":"idb-session-store","version":2,"sessions":0}'))),
      headerField: await grab(store.import(file('{"format":"idb-session-store","version":1,"sessions":0,"x":1}'))),
      badMeta: await grab(store.import(file(header(2), line("a"), JSON.stringify({ metadata: { ...meta("b"), turn_count: -1 }, messages: [], state: 1 })))),
      camelMeta: await grab(store.import(file(header(1), JSON.stringify({ metadata: { ...meta("b"), agentName: "x" }, messages: [], state: 1 })))),
      unknownField: await grab(store.import(file(header(1), line("a", { extra: 1 })))),
      loneSurrogate: await grab(store.import(file(header(1), line("a").replace('"m"', '"\\ud800"')))),
      notUtf8: await grab(store.import(new Blob([new Uint8Array([0x7b, 0xff, 0x7d, 0x0a])]))),
      notAFile: await grab(store.import(42)),
      badOption: await grab(store.import(file(header(0)), { onConflict: "merge" })),
      conflict: await grab(store.import(file(header(2), line("new"), line("stored")))),
    };
    const after = await raw.dumpText(dbName);
    const skip = await store.import(file(header(2), line("new"), line("stored")), { onConflict: "skip" });
    const keptName = (await store.resume("stored")).metadata.name;
    const replace = await store.import(file(header(1), line("stored")), { onConflict: "replace" });
    const replaced = await store.resume("stored");
    const fork = await store.import(file(header(1), line("stored")), { onConflict: "fork" });
    const ids = (await store.list()).map((m) => m.id);
    store.close();
    return { bad, unchanged: before === after, skip, keptName, replace, replaced, fork, ids };
  }, uniqueDb("import-bad"));
  const expect = {
    empty: /^INVALID_INPUT: line 1: the file is empty/,
    noNewline: /^INVALID_INPUT: line 2: the file must end with a newline/,
    notJson: /^INVALID_INPUT: line 3: not a session: /,
    blank: /^INVALID_INPUT: line 3: blank line/,
    twice: /^INVALID_INPUT: line 3: session id "a" is already on line 2/,
    miscounted: /^INVALID_INPUT: line 1: the header announces 3 sessions, the file has 2/,
    format: /^INVALID_INPUT: line 1: format is "other"/,
    version: /^INVALID_INPUT: line 1: version 2 is not supported/,
    headerField: /^INVALID_INPUT: line 1: not an export header: unknown field "x"/,
    badMeta: /^INVALID_INPUT: line 3: metadata\.turn_count must be a whole number/,
    camelMeta: /^INVALID_INPUT: line 2: metadata has unknown field "agentName"/,
    unknownField: /^INVALID_INPUT: line 2: .*unknown field "extra"/,
    loneSurrogate: /^INVALID_INPUT: line 2: .*lone surrogate/,
    notUtf8: /^INVALID_INPUT: the file cannot be read as UTF-8 text/,
    notAFile: /^INVALID_INPUT: data must be a Blob or a string/,
    badOption: /^INVALID_INPUT: onConflict must be "skip", "replace", "fork" or "fail", got "merge"/,
    conflict: /^CONFLICT: import refused: 1 sessions are already stored: "stored"/,
  };
  for (const [name, pattern] of Object.entries(expect)) assert.match(String(r.bad[name]), pattern, name);
  assert.equal(r.unchanged, true, "a refused import changed the database");
  assert.deepEqual(r.skip, { imported: 1, skipped: 1, forked: 0, replaced: 0 });
  assert.equal(r.keptName, "kept");
  assert.deepEqual(r.replace, { imported: 0, skipped: 0, forked: 0, replaced: 1 });
  assert.deepEqual(r.replaced.messages, ["m"]);
  assert.equal(r.replaced.metadata.createdAt, 5, "created_at is kept");
  assert.deepEqual(r.fork, { imported: 0, skipped: 0, forked: 1, replaced: 0 });
  assert.equal(r.ids.length, 3);
  await context.close();
});
