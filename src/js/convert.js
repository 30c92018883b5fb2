// Conversions between JS values and the JSON text the store keeps, for the JS facade (src/js/);
// and, at the end, the words of JSON-encoded messages for search (src/search/words.rs).
// Every limit comes from Rust as an argument. A value refused here throws an error named
// "InvalidInput" (the facade's INVALID_INPUT); anything else thrown is a bug. Encoding is strict:
// JSON.stringify alone would silently drop or change what JSON cannot hold (functions, symbols,
// undefined in arrays and array holes, NaN, Infinity, -0, Dates, Maps, class instances, objects
// with toJSON, lone surrogates); here each of those is refused, naming where it was found. Cycles, BigInts and
// throwing getters make JSON.stringify throw, which is refused the same way.

/** Whether `value` is a string without lone surrogates (which Rust strings cannot hold). */
export function isWellFormedString(value) {
  return typeof value === "string" && value.isWellFormed();
}

function problem(value) {
  switch (typeof value) {
    case "string":
      return value.isWellFormed() ? null : "a string with a lone surrogate, which cannot be stored exactly";
    case "boolean":
      return null;
    case "number":
      if (!Number.isFinite(value)) return `${value}, which JSON cannot hold`;
      return Object.is(value, -0) ? "-0, which JSON cannot hold" : null;
    case "object": {
      if (value === null) return null;
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value) ? proto === Array.prototype : proto === Object.prototype || proto === null) {
        return null;
      }
      const name = value.constructor && value.constructor.name;
      return `${name ? `a ${name}` : "an object with a custom prototype"}; only plain objects and arrays can be stored`;
    }
    case "bigint":
      return "a BigInt, which JSON cannot hold";
    default:
      return `${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot hold`;
  }
}

/** The errors this file throws to refuse input (a user's getter cannot forge one). */
const refusals = new WeakSet();

function invalid(message) {
  const error = new Error(message);
  error.name = "InvalidInput";
  refusals.add(error);
  return error;
}

/** What a thrown value says, without throwing again (a Symbol, a revoked Proxy...). */
function said(e) {
  try {
    return e && typeof e.message === "string" ? e.message : String(e);
  } catch {
    return typeof e;
  }
}

/**
 * `read()`, refusing the input named `what` if reading it throws: a revoked Proxy, a throwing
 * getter or trap is the caller's value misbehaving, not a bug here.
 */
function readable(what, read) {
  try {
    return read();
  } catch (e) {
    if (refusals.has(e)) throw e;
    throw invalid(`${what} cannot be read: ${said(e)}`);
  }
}

/** Path from `root` to the object `target`, like `messages[3].content`, or null. */
function pathTo(root, target, path, seen = new Set()) {
  if (root === target) return path;
  if (root === null || typeof root !== "object" || seen.has(root)) return null;
  seen.add(root);
  for (const key of Object.keys(root)) {
    let child;
    try {
      child = root[key];
    } catch {
      continue;
    }
    const found = pathTo(child, target, Array.isArray(root) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (found !== null) return found;
  }
  return null;
}

/**
 * JSON text of `value`, or an InvalidInput error naming the first value JSON would not keep
 * exactly, or nested deeper than `maxDepth` arrays and objects (`value` itself `outer` + 1 deep:
 * a list of values to check one by one is 0 deep with `outer` -1): `where(holder, key)` names its
 * location. Object properties whose value is undefined are omitted, as an absent optional
 * property; everywhere else undefined is refused.
 */
function strictJson(value, where, maxDepth, outer) {
  let bad = null;
  const depths = new Map();
  const check = function (key, encoded) {
    const raw = this[key];
    const inArray = Array.isArray(this);
    if (raw === undefined && !inArray && key !== "") return undefined;
    let why = problem(raw) ?? (inArray || key.isWellFormed() ? null : "a key with a lone surrogate");
    if (why === null && typeof raw === "object" && raw !== null && typeof raw.toJSON === "function") {
      why = "an object with a toJSON method, which JSON would replace by what it returns";
    }
    if (why === null && typeof raw === "object" && raw !== null) {
      const depth = (depths.get(this) ?? outer) + 1;
      if (depth > maxDepth) why = `nested deeper than ${maxDepth} levels`;
      else depths.set(raw, depth);
    }
    if (why !== null) {
      bad = { holder: this, key, why };
      throw bad;
    }
    return encoded;
  };
  try {
    return JSON.stringify(value, check);
  } catch (e) {
    if (e === bad) throw invalid(`${where(bad.holder, bad.key)} is ${bad.why}`);
    throw invalid(`${where(null, null)} cannot be stored: ${said(e)}`);
  }
}

/** Locates `holder[key]` under `root`, named `name`, for error messages. */
function locator(root, name, rootHolder = null, rootPath = name) {
  return (holder, key) => {
    if (holder === null) return name;
    if (key === "" && !Array.isArray(holder)) return rootPath;
    const base = holder === rootHolder ? rootPath : pathTo(root, holder, name);
    const step = Array.isArray(holder) ? `[${key}]` : `.${key}`;
    return base === null ? `${name} (at ${step})` : `${base}${step}`;
  };
}

/**
 * Whether `value` is what strictJson accepts (plain data, nested no deeper than `maxDepth`,
 * `value` itself being `depth` deep). A fast walk with no paths and no replacer: strictJson's replacer makes
 * JSON.stringify several times slower, so it only runs to name the problem once this refuses.
 */
function plain(value, depth, maxDepth) {
  if (problem(value) !== null) return false;
  if (typeof value !== "object" || value === null) return true;
  if (depth > maxDepth || typeof value.toJSON === "function") return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined || !plain(value[i], depth + 1, maxDepth)) return false;
    }
    return true;
  }
  for (const key of Object.keys(value)) {
    const child = value[key];
    if (child === undefined) continue;
    if (!key.isWellFormed() || !plain(child, depth + 1, maxDepth)) return false;
  }
  return true;
}

/** JSON text of `value` if `plain` accepts it, else strictJson's error naming where and why. */
function checkedJson(value, where, maxDepth, outer = 0) {
  let ok = false;
  try {
    ok = plain(value, outer + 1, maxDepth);
  } catch {
    // A trap or getter threw: strictJson below meets it too and says so.
  }
  if (ok) return JSON.stringify(value);
  strictJson(value, where, maxDepth, outer);
  throw invalid(`${where(null, null)} cannot be stored exactly`);
}

/**
 * The JSON texts of the messages in the array `values` named `what` (e.g. "messages"), one per
 * message, refusing what JSON would change and messages nested deeper than `maxDepth`.
 */
export function encodeMessages(values, what, maxDepth) {
  const where = locator(values, what);
  return values.map((value, i) => checkedJson(value, (holder, key) =>
    holder === null ? `${what}[${i}]` : where(holder, key), maxDepth));
}

/** The JSON text of one value (a message, a state) named `what`, refused like a message. */
export function encodeValue(value, what, maxDepth) {
  return checkedJson(value, locator(value, what), maxDepth);
}

/**
 * A session object encoded for storage: a plain copy of its metadata (for the store to check
 * field by field), its messages as JSON array texts of `chunkLen` messages each, its state as
 * JSON text, and its number of messages; no message or state nested deeper than `maxDepth`.
 */
export function encodeSession(session, chunkLen, maxDepth) {
  if (readable("session", () => session === null || typeof session !== "object" || Array.isArray(session))) {
    throw invalid("session must be an object with metadata, messages and state");
  }
  const { metadata, messages, state } = readable("session", () => {
    for (const key of Object.keys(session)) {
      if (key !== "metadata" && key !== "messages" && key !== "state") {
        throw invalid(`session has unknown field ${JSON.stringify(key)}`);
      }
    }
    return { metadata: session.metadata, messages: session.messages, state: session.state };
  });
  if (readable("session.metadata", () => metadata === null || typeof metadata !== "object" || Array.isArray(metadata))) {
    throw invalid("session.metadata must be an object");
  }
  if (!readable("session.messages", () => Array.isArray(messages))) throw invalid("session.messages must be an array");
  if (state === undefined) throw invalid("session.state is missing (use null for none)");
  const chunks = [];
  const count = readable("session.messages", () => messages.length);
  for (let start = 0; start < count; start += chunkLen) {
    const chunk = readable("session.messages", () => messages.slice(start, start + chunkLen));
    const where = (holder, key) =>
      holder === null ? "session.messages"
        : holder === chunk ? `session.messages[${start + Number(key)}]`
          : locator(messages, "session.messages")(holder, key);
    chunks.push(checkedJson(chunk, where, maxDepth, -1));
  }
  const copy = readable("session.metadata", () => {
    const copy = Object.create(null); // so a "__proto__" key stays a field, for the store to refuse
    for (const key of Object.keys(metadata)) {
      const value = metadata[key];
      if (value !== undefined) copy[key] = Array.isArray(value) ? copyArray(value, `session.metadata.${key}`) : value;
    }
    return copy;
  });
  return {
    metadata: copy,
    chunks,
    state: checkedJson(state, locator(state, "session.state"), maxDepth),
    count,
  };
}

/**
 * A session object from its stored parts: the metadata object, the chunk texts and the state
 * text (the caller checks that the messages are as many as the record says).
 */
export function assembleSession(metadata, chunks, state) {
  // Parsing chunk by chunk is 2.5x faster than joining the texts into one and parsing that.
  let messages = chunks.length === 1 ? JSON.parse(chunks[0]) : [];
  if (chunks.length > 1) {
    for (const text of chunks) {
      const chunk = JSON.parse(text);
      for (let i = 0; i < chunk.length; i++) messages.push(chunk[i]);
    }
  }
  if (!Array.isArray(messages)) throw new Error("a chunk is not a JSON array");
  return { metadata, messages, state: JSON.parse(state) };
}

/**
 * A plain copy of the array `value` (named `what`), or null if it is not one. Refuses an array
 * that throws when read (a revoked Proxy, a length trap, an index getter).
 */
export function copyArray(value, what) {
  return readable(what, () => (Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => value[i]) : null));
}

/**
 * The values of `fields` in the options object `value` (undefined where absent), refusing
 * anything but a plain object with those fields. Absent options (undefined, null) give [].
 */
export function readOptions(value, what, fields) {
  if (value === undefined || value === null) return [];
  return readable(what, () => {
    if (typeof value !== "object" || Array.isArray(value)) throw invalid(`${what} must be an object`);
    for (const key of Object.keys(value)) {
      if (!fields.includes(key)) throw invalid(`${what} has unknown field ${JSON.stringify(key)}`);
    }
    return fields.map((field) => value[field]);
  });
}

// --- the export format (JSON Lines), read and written a slice at a time --------------------------

/** How much text a `lineReader` batch holds at most (the line that crosses it, whole). */
const BATCH_CHARS = 1 << 20;

/**
 * A reader of the lines of `source`, a Blob (read as UTF-8) or a string: `next()` resolves with
 * the next lines (about a megabyte of them) or null at the end, after which `endsWithNewline`
 * says whether the text ended with "\n". Only one batch is in memory at a time.
 */
export function lineReader(source) {
  let piece;
  if (typeof source === "string") {
    let at = 0;
    piece = async () => (at >= source.length ? null : source.slice(at, (at += BATCH_CHARS)));
  } else if (typeof Blob !== "undefined" && source instanceof Blob) {
    const reader = source.stream().pipeThrough(new TextDecoderStream("utf-8", { fatal: true })).getReader();
    piece = async () => {
      try {
        const { value, done } = await reader.read();
        return done ? null : value;
      } catch (e) {
        throw invalid(`the file cannot be read as UTF-8 text: ${said(e)}`);
      }
    };
  } else {
    throw invalid("data must be a Blob or a string");
  }
  let carry = "";
  let sawText = false;
  let finished = false;
  const lines = {
    endsWithNewline: false,
    async next() {
      const out = [];
      let size = 0;
      while (!finished && size < BATCH_CHARS) {
        const text = await piece();
        if (text === null) {
          finished = true;
          if (carry !== "") out.push(carry);
          else lines.endsWithNewline = sawText;
          break;
        }
        sawText ||= text.length > 0;
        if (!text.includes("\n")) {
          carry += text; // a long line grows as a rope, without copying what came before
          continue;
        }
        const parts = text.split("\n");
        parts[0] = carry + parts[0];
        carry = parts.pop();
        for (const line of parts) out.push(line);
        size += text.length;
      }
      return out.length === 0 && finished ? null : out;
    },
  };
  return lines;
}

/**
 * A session line of an export, parsed and encoded for storage as `encodeSession` encodes a
 * session object (its metadata as written, snake_case, for the store to check).
 */
export function encodeLine(text, chunkLen, maxDepth) {
  let session;
  try {
    session = JSON.parse(text);
  } catch (e) {
    throw invalid(`not a session: ${said(e)}`);
  }
  return encodeSession(session, chunkLen, maxDepth);
}

/**
 * One session's line of an export, with its newline, from its stored parts: the metadata object
 * (snake_case), the chunk texts (JSON arrays) and the state text. Nothing is parsed.
 */
export function sessionLine(metadata, chunks, state) {
  const bodies = chunks.map((chunk) => chunk.slice(1, -1)).filter((body) => body.length > 0);
  return `{"metadata":${JSON.stringify(metadata)},"messages":[${bodies.join(",")}],"state":${state}}\n`;
}

/** `parts` (strings) after `blob` (if any), as one Blob of JSON Lines. */
export function blobOf(blob, parts) {
  return new Blob(blob ? [blob, ...parts] : parts, { type: "application/jsonl" });
}

// ---- Search words ----
// The word rule of src/search/words.rs, in the browser: Intl.Segmenter finds the words, and a
// word is kept when it holds a letter or a digit, keyed by its lowercase letters without accents
// (NFD, marks dropped, NFC), cut to `maxChars` characters. The limits and unsearched keys come
// from Rust. In JS because the IndexedDB store indexes the JSON texts the facade encoded, without
// sending their strings through wasm. In this module, not one of its own: see the Makefile on the
// test runner's server, which can lose a connection when a page loads four or more modules.

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const MARKS = /\p{M}/gu;

// Keys already made, by segment: a text's words repeat, and so do a history's (the cache is
// emptied when it holds KEYS_KEPT of them).
const KEYS_KEPT = 1 << 16;
const keysMade = new Map();

function keyOf(segment, maxChars) {
  let key = keysMade.get(segment);
  if (key !== undefined) return key;
  key = segment.normalize("NFD").replace(MARKS, "").normalize("NFC").toLowerCase();
  if (key.length > maxChars) {
    const chars = Array.from(key);
    if (chars.length > maxChars) key = chars.slice(0, maxChars).join("");
  }
  if (keysMade.size >= KEYS_KEPT) keysMade.clear();
  keysMade.set(segment, key);
  return key;
}

/** The words of `text`, flat: `[start, end, key, ...]`, offsets in UTF-16 code units. */
export function words(text, maxChars) {
  return found(text, maxChars).flat();
}

/** `[start, end, key]` of each word of `text`. */
function found(text, maxChars) {
  const out = [];
  for (const { segment, index } of segmenter.segment(text)) {
    if (LETTER_OR_DIGIT.test(segment)) out.push([index, index + segment.length, keyOf(segment, maxChars)]);
  }
  return out;
}

/**
 * The distinct keys of `text`, in the order they first occur: each word's, and after it, when
 * the next word follows on with nothing between, the key of the run from it on (words.rs).
 */
function keys(text, maxChars) {
  const words = found(text, maxChars);
  const seen = new Set();
  const follows = (j) => j < words.length && words[j - 1][1] === words[j][0];
  for (let i = 0; i < words.length; i++) {
    seen.add(words[i][2]);
    if (!follows(i + 1)) continue;
    let run = words[i][2];
    for (let j = i + 1; follows(j) && run.length < 2 * maxChars; j++) run += words[j][2];
    seen.add(run.length <= maxChars ? run : Array.from(run).slice(0, maxChars).join(""));
  }
  return Array.from(seen);
}

/** The searched strings of `value` (a parsed message) but the empty ones, joined by newlines. */
function messageText(value, unsearched) {
  const parts = [];
  const walk = (v) => {
    if (typeof v === "string") {
      if (v !== "") parts.push(v);
    }
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      // In key order, as serde_json's map keeps them: the first occurrences agree with Rust's.
      for (const k of Object.keys(v).sort()) if (!unsearched.has(k)) walk(v[k]);
    }
  };
  walk(value);
  return parts.join("\n");
}

// ---- Word blocks: the records of the `words` store (src/idb/schema.rs) ----
// A block holds the words of up to `blockLen` consecutive messages: `w`, the distinct keys of all
// of them (the multi-entry `word` index is on it), and per message its keys in order of first
// occurrence as places in `w`: message j's are `k[e[j - 1] .. e[j]]` (`e[-1]` being 0).

/** The block of messages whose keys (arrays of strings) are `keys`. */
function blockOf(keys) {
  const w = [];
  const place = new Map();
  const k = [];
  const e = new Uint32Array(keys.length);
  keys.forEach((own, j) => {
    for (const key of own) {
      let i = place.get(key);
      if (i === undefined) place.set(key, (i = w.push(key) - 1));
      k.push(i);
    }
    e[j] = k.length;
  });
  return { w, k: Uint32Array.from(k), e };
}

/** The keys of message j of block `b`, as places in `b.w`. */
const placesOf = (b, j) => b.k.subarray(j === 0 ? 0 : b.e[j - 1], b.e[j]);

/** How many messages block `b` holds. */
export function blockLength(b) {
  return b.e.length;
}

/** Block `b` cut to its first `n` messages (`n` ≥ 1). */
export function cutBlock(b, n) {
  return blockOf(Array.from({ length: n }, (_, j) => Array.from(placesOf(b, j), (i) => b.w[i])));
}

/**
 * Calls `found(j, keys)` for each message j of block `b` that holds a word starting with each of
 * `prefixes` (at most 16), `keys` being a function that gives that message's keys as strings.
 */
export function eachHolding(b, prefixes, found) {
  const masks = new Uint32Array(b.w.length);
  let all = 0;
  b.w.forEach((word, i) => {
    let m = 0;
    prefixes.forEach((p, bit) => {
      if (word.startsWith(p)) m |= 1 << bit;
    });
    masks[i] = m;
    all |= m;
  });
  const every = 2 ** prefixes.length - 1;
  if (all !== every) return;
  for (let j = 0; j < b.e.length; j++) {
    const places = placesOf(b, j);
    let m = 0;
    for (const i of places) m |= masks[i];
    if (m === every) found(j, () => Array.from(places, (i) => b.w[i]));
  }
}

/** The messages of chunk texts (JSON arrays, as the store writes them), joined by commas. */
const joined = (texts) => Array.from(texts, (t) => t.slice(1, -1)).filter((t) => t.trim() !== "").join(",");

/** How many top-level commas `text` (JSON elements joined by commas) holds before `end`. */
function commasBefore(text, end) {
  let [depth, inString, commas] = [0, false, 0];
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && depth === 0) commas++;
  }
  return commas;
}

/**
 * How many leading messages an old history of `oldCount` messages and a new one share, each
 * given as its chunks' JSON array texts, in order: what a save over a session need not index
 * again. Compared as text: the common prefix is found by halving (a comparison is one memcmp),
 * and the messages wholly inside it are counted.
 */
export function sharedMessages(oldTexts, oldCount, newTexts) {
  const [a, b] = [joined(oldTexts), joined(newTexts)];
  let [lo, hi] = [0, Math.min(a.length, b.length)];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a.slice(0, mid) === b.slice(0, mid)) lo = mid;
    else hi = mid - 1;
  }
  const ends = (text) => lo === text.length || text.charCodeAt(lo) === 0x2c;
  // Where both texts end an element at the prefix's end, that element is shared too.
  const whole = lo > 0 && ends(a) && ends(b);
  if (whole && lo === a.length) return oldCount;
  return commasBefore(a, lo) + (whole ? 1 : 0);
}

/** A searcher for the given limits: the blocks and text of JSON-encoded messages. */
export class Searcher {
  constructor(unsearchedKeys, maxChars, blockLen) {
    this.unsearched = new Set(unsearchedKeys);
    this.maxChars = maxChars;
    this.blockLen = blockLen;
  }

  /** The searched text of message `offset` of a chunk (a JSON array text). */
  textAt(chunkJson, offset) {
    return messageText(JSON.parse(chunkJson)[offset], this.unsearched);
  }

  /** The blocks of `messages` (parsed), `blockLen` messages each but the last. */
  blocks(messages) {
    const out = [];
    for (let at = 0; at < messages.length; at += this.blockLen) {
      const some = messages.slice(at, at + this.blockLen);
      out.push(blockOf(some.map((m) => keys(messageText(m, this.unsearched), this.maxChars))));
    }
    return out;
  }

  /** The blocks of the messages whose JSON texts are `texts`. */
  messageBlocks(texts) {
    return this.blocks(texts.map((t) => JSON.parse(t)));
  }

  /** The blocks of the messages of a chunk (a JSON array text) from its message `from` on. */
  chunkBlocks(json, from) {
    const messages = JSON.parse(json);
    return this.blocks(from > 0 ? messages.slice(from) : messages);
  }
}
