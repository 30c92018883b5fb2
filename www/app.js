// The playground: a chat-like page over a real SessionStore. Every action goes to the store and
// the page is redrawn from what the store returns, so what you see is what survives a reload;
// writes from other tabs are drawn as they commit (live.js). `?db=NAME` picks another database
// (the tests use one each; the default is "playground"), `?stream=MS` the pause between the
// pieces of a streamed reply (default 30 ms, 4 characters at a time).
import init, { SessionStore } from "../pkg/idb_session_store.js";
import { countTurns, echoTurn, message, messagesBeforeTurn, streamSteps, sumTokens } from "./echo-agent.js";
import { wire } from "./controls.js";
import { describeImport, download, exportFileName } from "./files.js";
import { follow, sameMetadata } from "./live.js";
import { renderHits, renderTagFilter, showMessage } from "./search.js";
import { syncPanel } from "./sync.js";
import * as view from "./view.js";

const params = new URLSearchParams(location.search);
const DB_NAME = params.get("db") || "playground";
const STREAM_MS = params.has("stream") && Number(params.get("stream")) >= 0 ? Number(params.get("stream")) : 30;
const STREAM_CHARS = 4;

const app = {
  store: null,
  /** Metadata of every session, newest first, as `list()` returned it. */
  sessions: [],
  /** The session on screen (a full Session), or null. */
  current: null,
  /** The store's changes, followed (see live.js); null until the store is open. */
  live: null,
};

const $ = (selector) => document.querySelector(selector);
const busy = () => document.body.hasAttribute("aria-busy");

/**
 * Runs one user action. A failure is shown with its code and message, never swallowed; the
 * page stays usable. `aria-busy` is set meanwhile (the end-to-end tests wait on it), and an
 * action started meanwhile (a double click on Send) is ignored rather than racing this one.
 */
async function act(action, fn) {
  if (busy()) return;
  document.body.setAttribute("aria-busy", "true");
  view.clearError();
  try {
    await fn();
  } catch (error) {
    console.error(`${action} failed`, error);
    view.showError(action, error);
  } finally {
    document.body.removeAttribute("aria-busy");
    app.live?.flush(); // what other tabs wrote meanwhile, or what a failed action left undrawn
  }
}

/** Comma-separated tags, trimmed, without blanks or repeats (the store refuses repeats). */
function parseTags(text) {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

// --- reading ------------------------------------------------------------------------------

/**
 * Reads what the sidebar shows: every session's metadata (the tag filter's choices), those the
 * tag filter admits (read through the store's tag index), and the origin's storage use, or null
 * where the browser cannot say (WebKitGTK has no navigator.storage: estimate() is UNAVAILABLE).
 */
async function readList() {
  const all = await app.store.list();
  const tag = $("#tag-filter").value;
  const sessions = tag && all.some((m) => m.tags.includes(tag)) ? await app.store.list({ tag }) : all;
  const usage = await SessionStore.estimate().then(
    (estimate) => estimate.usage,
    (e) => {
      if (e.code === "UNAVAILABLE") return null;
      throw e;
    },
  );
  return { all, sessions, usage };
}

function drawList({ all, sessions, usage }) {
  app.sessions = all;
  renderTagFilter(all);
  view.renderList(sessions, app.current?.metadata.id, (id) => act("Resume", () => select(id)));
  $("#export-all").disabled = all.length === 0;
  view.setStorage(`database "${DB_NAME}"${usage === null ? "" : ` · ${Math.round(usage / 1024)} KiB used by this origin`}`);
}

async function refreshList() {
  drawList(await readList());
}

/** Shows `session` (or the empty state for null) and remembers its id in the URL. */
function show(session, options) {
  app.current = session;
  const url = new URL(location.href);
  url.hash = session ? encodeURIComponent(session.metadata.id) : "";
  history.replaceState(null, "", url);
  view.renderSession(session, session ? countTurns(session.messages) : 0, options);
}

/** Resumes session `id` (or shows nothing for null), with its rename and delete forms closed. */
async function select(id) {
  show(id === null ? null : await app.store.resume(id));
  view.editName(false);
  view.confirmDelete(false);
  await refreshList();
}

/** The open session's id; an action on a session deleted meanwhile reads as the store would say. */
function currentId() {
  if (!app.current) throw Object.assign(new Error("no session is open (deleted in another tab?)"), { code: "NOT_FOUND" });
  return app.current.metadata.id;
}

/** Whether the page already shows what `change` left (this tab's own write, drawn by its action). */
function drawn(change) {
  const listed = app.sessions.find((m) => m.id === change.id);
  const open = app.current?.metadata.id === change.id ? app.current.metadata : undefined;
  if (change.kind === "deleted") return !listed && !open;
  return sameMetadata(listed, change.metadata) && (!open || sameMetadata(open, change.metadata));
}

/**
 * Draws writes the page does not show yet: the list, and the open session if it changed (the
 * empty state if it is gone). A session's last change, if heard during an action, is skipped
 * when the action's redraw shows it. Everything is read first and drawn at once, unless an action
 * started meanwhile: then nothing is drawn and this resolves with false (live.js keeps the changes).
 */
async function redrawLive(changes) {
  const latest = new Map(changes.map((c) => [c.id, c])).values();
  const fresh = [...latest].filter((c) => !c.duringAction || !drawn(c));
  if (!fresh.length) return true;
  const openId = app.current?.metadata.id;
  const reopen = openId !== undefined && fresh.some((c) => c.id === openId);
  let session;
  let list;
  try {
    const gone = (e) => (e?.code === "NOT_FOUND" ? null : Promise.reject(e));
    if (reopen) session = await app.store.resume(openId).catch(gone);
    list = await readList();
  } catch (error) {
    if (busy()) return false;
    console.error("Live update failed", error);
    view.showError("Live update", error);
    return true;
  }
  if (busy()) return false;
  document.body.dataset.liveRedraws = Number(document.body.dataset.liveRedraws ?? 0) + 1;
  if (reopen) {
    show(session, { keepRewind: true });
    if (!session) {
      view.editName(false);
      view.confirmDelete(false);
    }
  }
  drawList(list);
  return true;
}

const pause = (ms) => new Promise((done) => setTimeout(done, ms));

// --- writing ------------------------------------------------------------------------------

async function create(form) {
  const data = new FormData(form);
  const meta = await app.store.save({
    metadata: {
      id: crypto.randomUUID(),
      name: data.get("name").trim() || null,
      tags: parseTags(data.get("tags")),
      agentName: data.get("agent").trim(),
      createdAt: 0, // 0: the store stamps both timestamps
      updatedAt: 0,
      turnCount: 0,
      totalTokens: 0,
    },
    messages: [],
    state: null,
  });
  form.elements.name.value = "";
  form.elements.tags.value = "";
  await select(meta.id);
}

/**
 * One turn: the user's message and an empty reply are appended with the echo agent's new state
 * (then `onStored()` is called), and the reply streams in, each piece saved with replaceLast
 * before it is drawn, so a reload mid-reply shows what had streamed. Every message carries its
 * token estimate and each write adds what it changed, so totalTokens is always their sum.
 */
async function send(text, onStored) {
  const id = currentId();
  const turn = echoTurn(text, app.current.state);
  const [user, reply] = turn.messages;
  const messages = [...app.current.messages, user, message("assistant", "")];
  let metadata = await app.store.append(id, messages.slice(-2), { tokens: user.tokens, state: turn.state });
  onStored();
  app.current = { metadata, messages, state: turn.state };
  const turns = countTurns(messages);
  view.renderSession(app.current, turns);
  for (const step of streamSteps(reply.content, STREAM_CHARS)) {
    await pause(STREAM_MS);
    metadata = await app.store.replaceLast(id, step.message, { tokens: step.tokens });
    messages[messages.length - 1] = step.message;
    app.current = { ...app.current, metadata };
    view.renderLastMessage(app.current, turns);
  }
  await select(id);
}

/**
 * Goes back to just after turn `turn`. The store's rewind keeps a number of messages and sets
 * turnCount to that number; here a turn is a user message and its reply, so the counts (and
 * the echo agent's state) are then corrected with a save.
 */
async function rewind(turn) {
  const id = currentId();
  const keep = messagesBeforeTurn(app.current.messages, turn);
  const rewound = await app.store.rewind(id, keep);
  const turns = countTurns(rewound.messages);
  await app.store.save({
    metadata: { ...rewound.metadata, turnCount: turns, totalTokens: sumTokens(rewound.messages) },
    messages: rewound.messages,
    state: turns === 0 ? null : { ...rewound.state, turns },
  });
  await select(id);
}

/** Lists the messages matching `query`, best first (an empty query clears the results). */
async function search(query) {
  const hits = query.trim() ? await app.store.search(query) : null;
  renderHits(hits, (id, index) => act("Open", async () => {
    await select(id);
    showMessage(index);
  }));
}

async function fork(name) {
  const meta = await app.store.fork(currentId(), name.trim() || null);
  await select(meta.id);
}

async function tag(text) {
  await app.store.tag(currentId(), parseTags(text));
  await select(currentId());
}

/** Renames to exactly what was typed (trimmed): an empty name is the store's to refuse. */
async function rename(name) {
  await app.store.rename(currentId(), name.trim());
  await select(currentId());
}

async function remove() {
  await app.store.delete(currentId());
  await select(null);
}

/** Downloads the open session (`onlyOpen`) or every session as a JSON Lines file. */
async function exportFile(onlyOpen) {
  const blob = await app.store.export(onlyOpen ? { ids: [currentId()] } : {});
  download(blob, exportFileName(onlyOpen ? app.current.metadata : null));
}

/** Imports `file`, sessions already here handled as `onConflict` says, and reports what it did. */
async function importFile(file, onConflict) {
  view.setImportStatus("");
  const report = await app.store.import(file, { onConflict });
  view.setImportStatus(describeImport(report, file.name));
  await select(app.current?.metadata.id ?? null); // an import may have replaced the open session
}

// --- start --------------------------------------------------------------------------------

wire({
  act, create, send, fork, rewind, tag, rename, remove, exportFile, importFile, search, refreshList,
  currentName: () => app.current.metadata.name ?? "",
});
await act("Opening the store", async () => {
  await init();
  app.store = await SessionStore.open(DB_NAME);
  app.live = follow(app.store, { busy, redraw: redrawLive });
  syncPanel($("#sync"), app.store);
  await refreshList();
  // Back to the session the URL names (a reload keeps the hash), if it still exists.
  const id = decodeURIComponent(location.hash.slice(1));
  if (id && app.sessions.some((s) => s.id === id)) await select(id);
  else view.renderSession(null);
  // On a phone the new-session form starts folded once there are sessions to show instead.
  if (app.sessions.length && matchMedia("(max-width: 720px)").matches) $("#create").open = false;
});
document.body.dataset.ready = "true";
