// Hostile input from JS: a generated corpus of malformed values put in every field of a session
// and every argument of every method. Each call must reject with a SessionError INVALID_INPUT
// (never throw, resolve, or fail another way) and every object store must be byte for byte as it
// was. Strings must be stored exactly (NUL, astral characters, 1 MB); a lone surrogate is refused.
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

/** In the page: the corpus, each entry `[label, call]`, filtered to what the API must refuse. */
async function attackAll({ SessionStore }, raw, dbName) {
  const good = () => ({
    metadata: { id: "good", name: "good", tags: ["t"], agentName: "agent", createdAt: 5, updatedAt: 0,
      turnCount: 1, totalTokens: 10 },
    messages: [{ role: "user", content: "x" }],
    state: { a: 1 },
  });
  const nested = (depth) => {
    let v = [];
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  const cyclicArray = [1];
  cyclicArray.push(cyclicArray);
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const throwingGetter = Object.defineProperty({}, "boom", { enumerable: true, get() { throw new Error("getter threw"); } });
  const throwingIndex = Object.defineProperty(["a", "b"], 0, { get() { throw new Error("index getter threw"); } });
  const throwingToJSON = { toJSON() { throw new Error("toJSON threw"); } };
  const lyingToJSON = { toJSON() { return NaN; } };
  const trapAll = new Proxy({}, {
    ownKeys() { throw new Error("ownKeys trap"); },
    get() { throw new Error("get trap"); },
    getPrototypeOf() { throw new Error("getPrototypeOf trap"); },
  });
  const trapArray = new Proxy(["a"], { get(t, k) { if (k === "length") throw new Error("length trap"); return t[k]; } });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const revokedArray = Proxy.revocable([], {});
  revokedArray.revoke();
  const huge = "h".repeat(1 << 20);
  const values = {
    "undefined": undefined, "null": null, "true": true, "false": false, "0": 0, "-1": -1, "1.5": 1.5, "NaN": NaN,
    "Infinity": Infinity, "-Infinity": -Infinity, "-0": -0, "2^32": 2 ** 32, "2^53": 2 ** 53, "2^64": 2 ** 64,
    "-2^63": -(2 ** 63), "1e300": 1e300, "BigInt": 10n, "empty string": "", "a string": "str", "1 MB string": huge,
    "513-byte string": "é".repeat(256) + "x", "lone high surrogate": "a\uD800b", "lone low surrogate": "\uDC00",
    "Symbol": Symbol("s"), "function": () => 1, "empty array": [], "[1]": [1], "[null]": [null],
    "['a','a']": ["a", "a"], "['']": [""], "empty object": {}, "{a:1}": { a: 1 },
    "__proto__ key": JSON.parse('{"__proto__": {"polluted": true}}'), "null prototype": Object.create(null),
    "Date": new Date(0), "Map": new Map([[1, 2]]), "Set": new Set([1]), "RegExp": /re/, "Uint8Array": new Uint8Array(2),
    "ArrayBuffer": new ArrayBuffer(4), "Promise": Promise.resolve(1), "Error": new Error("e"), "String object": new String("s"),
    "Number object": new Number(1), "class instance": new (class Point { x = 1; })(), "cyclic object": cyclic,
    "cyclic array": cyclicArray, "sparse array": sparse, "nested 200 deep": nested(200),
    "nested 100000 deep": nested(100000), "throwing getter": throwingGetter, "throwing index getter": throwingIndex,
    "throwing toJSON": throwingToJSON, "toJSON returning NaN": lyingToJSON, "Proxy with throwing traps": trapAll,
    "array Proxy with throwing length": trapArray, "revoked Proxy": revoked.proxy, "revoked array Proxy": revokedArray.proxy,
    "WeakMap": new WeakMap(), "globalThis": globalThis,
  };
  const isStr = (v) => typeof v === "string" && v.isWellFormed();
  const bytes = (s) => new TextEncoder().encode(s).length;
  const isId = (v) => isStr(v) && v.length > 0 && bytes(v) <= 512;
  const isInt = (v, max) => typeof v === "number" && Number.isInteger(v) && !Object.is(v, -0) && v >= 0 && v <= max;
  // Which values each field accepts; everything else must be refused. JSON-valued positions
  // accept what JSON holds exactly, nested no deeper than the store parses.
  const plainJson = new Set(["null", "true", "false", "0", "-1", "1.5", "2^32", "2^53", "2^64", "-2^63", "1e300",
    "empty string", "a string", "1 MB string", "513-byte string", "empty array", "[1]", "[null]", "['a','a']", "['']",
    "empty object", "{a:1}", "__proto__ key", "null prototype"]);
  const accepts = {
    "metadata.id": (v) => isId(v),
    "metadata.name": (v) => v === null || v === undefined || (isStr(v) && v !== ""),
    "metadata.tags": (v, label) => label === "empty array",
    "metadata.tags[1]": (v) => isStr(v) && v !== "" && v !== "t",
    "metadata.agentName": (v) => isStr(v),
    "metadata.createdAt": (v) => isInt(v, 2 ** 53 - 1),
    "metadata.updatedAt": (v) => isInt(v, 2 ** 53 - 1),
    "metadata.turnCount": (v) => isInt(v, 2 ** 32 - 1),
    "metadata.totalTokens": (v) => isInt(v, 2 ** 53 - 1),
    "metadata.extraField": (v) => v === undefined, // an undefined property is an absent one
    "messages": (v, label) => ["empty array", "[1]", "[null]", "['a','a']", "['']"].includes(label),
    "messages[0]": (v, label) => plainJson.has(label),
    "messages[0].content": (v, label) => plainJson.has(label) || v === undefined,
    "state": (v, label) => plainJson.has(label),
    "session": () => false,
  };
  const place = (path, v) => {
    const s = good();
    switch (path) {
      case "session": return v;
      case "metadata.tags[1]": s.metadata.tags = ["t", v]; return s;
      case "metadata.extraField": s.metadata.extraField = v; return s;
      case "messages[0]": s.messages[0] = v; return s;
      case "messages[0].content": s.messages[0].content = v; return s;
      default: {
        const [top, key] = path.split(".");
        if (key) s[top][key] = v; else s[top] = v;
        return s;
      }
    }
  };
  const corpus = [];
  for (const [label, v] of Object.entries(values)) {
    for (const [path, ok] of Object.entries(accepts)) {
      let accepted;
      try { accepted = ok(v, label); } catch { accepted = false; }
      if (!accepted) corpus.push([`save with ${path} = ${label}`, (store) => store.save(place(path, v))]);
    }
    if (!isId(v)) {
      for (const method of ["resume", "delete", "fork"]) corpus.push([`${method}(${label})`, (s) => s[method](v)]);
      corpus.push([`rewind(${label}, 0)`, (s) => s.rewind(v, 0)]);
      corpus.push([`tag(${label}, ['a'])`, (s) => s.tag(v, ["a"])]);
      corpus.push([`rename(${label}, 'n')`, (s) => s.rename(v, "n")]);
    }
    if (!(v === null || v === undefined || (isStr(v) && v !== ""))) corpus.push([`fork('good', ${label})`, (s) => s.fork("good", v)]);
    if (!isInt(v, 2 ** 32 - 1) && !Object.is(v, -0)) corpus.push([`rewind('good', ${label})`, (s) => s.rewind("good", v)]);
    if (!(isStr(v) && v !== "")) {
      corpus.push([`rename('good', ${label})`, (s) => s.rename("good", v)]);
      corpus.push([`tag('good', [${label}])`, (s) => s.tag("good", [v])]);
    }
    let isTagList = false; // tag() merges repeated tags, so ['a','a'] is fine
    try { isTagList = Array.isArray(v) && [...v].every((t) => isStr(t) && t !== ""); } catch { /* a trap threw */ }
    if (!isTagList) corpus.push([`tag('good', ${label})`, (s) => s.tag("good", v)]);
  }

  const store = await SessionStore.open(dbName);
  await store.save(good());
  await store.save({ ...good(), metadata: { ...good().metadata, id: "other", tags: [] }, messages: ["keep"] });
  await store.fork("good", "a fork");
  const before = await raw.dumpText(dbName);
  const outcomes = [];
  for (const [label, call] of corpus) {
    let outcome;
    try {
      const promise = call(store);
      if (!(promise instanceof Promise)) outcome = `returned ${typeof promise}, not a promise`;
      else {
        await promise;
        outcome = "resolved";
      }
    } catch (e) {
      outcome = e instanceof Error && e.name === "SessionError" ? `${e.code}: ${e.message}` :
        `threw ${e && e.name}: ${e && e.message}`;
    }
    outcomes.push([label, outcome]);
  }
  const afterAll = await raw.dumpText(dbName);
  // The store still works after all that.
  const listed = (await store.list()).length;
  store.close();
  return { outcomes, unchanged: before === afterAll, bytes: before.length, listed };
}

test("a corpus of malformed inputs is refused with INVALID_INPUT and changes no byte", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, attackAll, uniqueDb("hostile"));
  const wrong = r.outcomes.filter(([, outcome]) => !/^INVALID_INPUT: ./.test(outcome));
  assert.deepEqual(wrong, [], `${wrong.length} of ${r.outcomes.length} inputs were not refused as INVALID_INPUT`);
  assert.ok(r.outcomes.length >= 300, `the corpus has only ${r.outcomes.length} inputs`);
  assert.equal(r.unchanged, true, "a refused call changed the database");
  assert.equal(r.listed, 3);
  assert.deepEqual(page.uncaughtErrors, []);
  console.log(`hostile: ${r.outcomes.length} malformed inputs, all INVALID_INPUT; ${r.bytes} bytes of records unchanged`);
  await context.close();
});

test("strings are stored exactly; a lone surrogate anywhere is refused, never replaced", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const strings = ["nul \u0000 in the middle", "\u0000", "astral 𝄞 😀 𠜎", "\uFEFF bom", "\u2028\u2029", "\uFFFF\uFFFE",
      "a".repeat(1 << 20), "😀".repeat(300000), "tab\there\r\n", "\\u0000 escaped text"];
    const exact = [];
    for (const [i, s] of strings.entries()) {
      const id = `exact-${i}-${s.slice(0, 20)}`;
      const session = {
        metadata: { id, name: s, tags: [s], agentName: s, createdAt: 1, updatedAt: 0, turnCount: 1, totalTokens: 0 },
        messages: [s, { [s]: s }], state: { [s]: [s] },
      };
      await store.save(session);
      const back = await store.resume(id);
      exact.push(back.metadata.name === s && back.metadata.tags[0] === s && back.metadata.agentName === s &&
        back.messages[0] === s && back.messages[1][s] === s && back.state[s][0] === s && back.metadata.id === id);
    }
    // A float that best-effort JSON parsers get one ULP wrong.
    const floats = [-1.297145295239702e-12, 4.7492026987949674e-12, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 2 ** -1074 * 3];
    await store.save({ metadata: { id: "floats", name: null, tags: [], agentName: "a", createdAt: 1, updatedAt: 0,
      turnCount: 0, totalTokens: 0 }, messages: floats, state: floats });
    const backFloats = await store.resume("floats");
    const floatsExact = backFloats.messages.every((f, i) => Object.is(f, floats[i])) &&
      backFloats.state.every((f, i) => Object.is(f, floats[i]));
    const before = await raw.dumpText(dbName);
    const lone = ["\uD800", "a\uDBFFb", "\uDC00z", "x\uDFFF", "\uDC00\uD800"];
    const refused = [];
    for (const s of lone) {
      const base = () => ({ metadata: { id: "lone", name: "n", tags: ["t"], agentName: "a", createdAt: 1, updatedAt: 0,
        turnCount: 0, totalTokens: 0 }, messages: ["m"], state: { k: "v" } });
      const places = {
        id: (x) => (x.metadata.id = s), name: (x) => (x.metadata.name = s), tag: (x) => (x.metadata.tags = [s]),
        agentName: (x) => (x.metadata.agentName = s), message: (x) => (x.messages = [s]),
        key: (x) => (x.state = { [s]: 1 }), nested: (x) => (x.messages = [{ deep: [[s]] }]),
      };
      for (const [where, put] of Object.entries(places)) {
        const session = base();
        put(session);
        refused.push(await store.save(session).then(() => `${where}: accepted`, (e) => `${where}: ${e.code}`));
      }
      for (const [where, call] of Object.entries({ resume: () => store.resume(s), tag: () => store.tag("floats", [s]),
        rename: () => store.rename("floats", s), fork: () => store.fork("floats", s) })) {
        refused.push(await call().then(() => `${where}: accepted`, (e) => `${where}: ${e.code}`));
      }
    }
    const unchanged = before === (await raw.dumpText(dbName));
    store.close();
    return { exact, floatsExact, refused, unchanged };
  }, uniqueDb("exact"));
  assert.deepEqual(r.exact, r.exact.map(() => true), "a string came back changed");
  assert.equal(r.floatsExact, true, "a float came back changed");
  assert.ok(r.refused.length >= 50);
  for (const outcome of r.refused) assert.match(outcome, /: INVALID_INPUT$/);
  assert.equal(r.unchanged, true);
  await context.close();
});

test("the deepest value accepted reads back; one level deeper is refused", async () => {
  const { context, pages: [page] } = await site.tabs(1);
  const r = await run(page, async ({ SessionStore }, raw, dbName) => {
    const store = await SessionStore.open(dbName);
    const nested = (depth) => {
      let v = "leaf";
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    const attempt = (where, depth) => {
      const s = { metadata: { id: `${where}-${depth}`, name: null, tags: [], agentName: "a", createdAt: 1, updatedAt: 0,
        turnCount: 0, totalTokens: 0 }, messages: [], state: null };
      if (where === "message") s.messages = [nested(depth)]; else s.state = nested(depth);
      return store.save(s).then(() => true, (e) => e.code);
    };
    const out = {};
    for (const where of ["message", "state"]) {
      let depth = 0;
      while ((await attempt(where, depth + 1)) === true) depth++;
      const back = await store.resume(`${where}-${depth}`);
      out[where] = {
        depth,
        deeper: await attempt(where, depth + 1),
        same: JSON.stringify(where === "message" ? back.messages[0] : back.state) === JSON.stringify(nested(depth)),
      };
    }
    store.close();
    return out;
  }, uniqueDb("depth"));
  for (const where of ["message", "state"]) {
    assert.ok(r[where].depth >= 100, JSON.stringify(r));
    assert.equal(r[where].deeper, "INVALID_INPUT", JSON.stringify(r));
    assert.equal(r[where].same, true, `the deepest ${where} accepted did not read back: ${JSON.stringify(r)}`);
  }
  console.log(`hostile: deepest nesting accepted: ${JSON.stringify(r)}`);
  await context.close();
});
