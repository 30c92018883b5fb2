// The sync client's JS side, one module so that a page loads one file for it: HTTP and JSON (see
// remote.rs): requests to session-server; operations built as JSON text from the texts the store
// keeps (no message is parsed to send it); pulled changes made into such texts for the store.
// And what keeps a database syncing (see running.rs): Web Locks, so that one round runs at a
// time across the tabs and workers of an origin and one tab keeps syncing while the others wait
// to take over; and the wait between rounds, cut short by a write or by stop.

function unavailable(message) {
  const error = new Error(message);
  error.name = "UnavailableError";
  return error;
}

/**
 * `method url`, bearing `token`, with the JSON text `body` if given. Resolves with `{ status,
 * body }` (the body parsed, or null), rejects with an UnavailableError when the server cannot
 * be reached.
 */
export async function call(url, method, token, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw unavailable(`cannot reach ${url}: ${e && e.message ? e.message : e}`);
  }
  let text;
  try {
    text = await response.text();
  } catch (e) {
    throw unavailable(`the answer of ${url} was cut off: ${e && e.message ? e.message : e}`);
  }
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** The JSON array text of `chunks` (JSON array texts) joined, without parsing them. */
function joined(chunks) {
  const bodies = chunks.map((chunk) => chunk.slice(1, -1)).filter((body) => body.length > 0);
  return `[${bodies.join(",")}]`;
}

/** A put of a whole session, from its metadata (serde shape), chunk texts and state text. */
export function putOp(op, base, metadata, chunks, state) {
  const session = `{"metadata":${JSON.stringify(metadata)},"messages":${joined(chunks)},"state":${state}}`;
  return `{"kind":"put","op":${op},"base":${base === undefined ? "null" : base},"session":${session}}`;
}

/** A patch: the messages from `cut` on (chunk texts, the first cut to start there), the state text if changed. */
export function patchOp(op, base, cut, chunks, state, metadata) {
  const stateField = state === undefined ? "" : `,"state":${state}`;
  return `{"kind":"patch","op":${op},"base":${base},"cut":${cut},"messages":${joined(chunks)}${stateField},` +
    `"metadata":${JSON.stringify(metadata)}}`;
}

export function metaOp(op, id, tags, name) {
  return JSON.stringify(name === undefined ? { kind: "meta", op, id, tags } : { kind: "meta", op, id, tags, name });
}

export function deleteOp(op, id) {
  return JSON.stringify({ kind: "delete", op, id });
}

export function pushBody(device, acked, ops) {
  return `{"device":${JSON.stringify(device)},"acked":${acked},"ops":[${ops.join(",")}]}`;
}

/**
 * A pulled change made ready for the store: `{ kind, seq, prev, id, metadata, cut, texts,
 * chunks, count, state }`, messages and state as JSON texts (a put's messages in chunks of
 * `chunkLen`, a patch's one text each).
 */
export function pulled(entry, chunkLen) {
  const out = { kind: entry.kind, seq: entry.seq, prev: entry.prev ?? null };
  if (entry.kind === "delete") {
    out.id = entry.id;
  } else if (entry.kind === "put") {
    const { metadata, messages, state } = entry.session;
    out.id = metadata.id;
    out.metadata = metadata;
    out.chunks = [];
    for (let start = 0; start < messages.length; start += chunkLen) {
      out.chunks.push(JSON.stringify(messages.slice(start, start + chunkLen)));
    }
    out.count = messages.length;
    out.state = JSON.stringify(state);
  } else {
    out.id = entry.metadata.id;
    out.metadata = entry.metadata;
    if (entry.kind === "patch") {
      out.cut = entry.cut;
      out.texts = entry.messages.map((m) => JSON.stringify(m));
      if ("state" in entry) out.state = JSON.stringify(entry.state);
    }
  }
  return out;
}

// --- running: locks and pacing ---------------------------------------------------------------

/**
 * Requests the Web Lock `name`, resolving with the function that releases it once held, or with
 * null if `signal` aborts first. Where there are no Web Locks it resolves at once (nothing to
 * exclude: the context is alone, or cannot share the database with anything that locks).
 */
export function acquire(name, signal) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks) return Promise.resolve(() => {});
  if (signal && signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const options = signal ? { signal } : {};
    locks
      .request(name, options, () => new Promise((release) => resolve(release)))
      .catch((e) => (e && e.name === "AbortError" ? resolve(null) : reject(e)));
  });
}

/** The wait between the rounds of one `startSync`, and how it stops. */
export class Pacer {
  constructor() {
    this.controller = new AbortController();
    this.woken = false;
    this.wakeNow = null;
  }

  get signal() {
    return this.controller.signal;
  }

  get stopped() {
    return this.controller.signal.aborted;
  }

  /** Resolves after `ms`, or `soonMs` after a write (at once if one came since the last wait), or at stop. */
  wait(ms, soonMs) {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer;
      const done = () => {
        clearTimeout(timer);
        this.wakeNow = null;
        this.controller.signal.removeEventListener("abort", done);
        resolve();
      };
      this.controller.signal.addEventListener("abort", done);
      const soon = () => {
        clearTimeout(timer);
        timer = setTimeout(done, soonMs);
      };
      if (this.woken) {
        this.woken = false;
        soon();
        return;
      }
      timer = setTimeout(done, ms);
      this.wakeNow = () => {
        this.wakeNow = null;
        soon();
      };
    });
  }

  /** A write was committed: the next round comes soon. */
  wake() {
    if (this.wakeNow) this.wakeNow();
    else this.woken = true;
  }

  stop() {
    this.controller.abort();
  }
}
