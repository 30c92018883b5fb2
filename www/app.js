// The playground: a chat-like page over a real SessionStore. Every action goes to the store and
// the page is redrawn from what the store returns, so what you see is what survives a reload.
// `?db=NAME` picks another database (the tests use one each); the default is "playground".
import init, { SessionStore } from "../pkg/idb_session_store.js";
import { countTurns, echoTurn, messagesBeforeTurn, sumTokens } from "./echo-agent.js";
import * as view from "./view.js";

const DB_NAME = new URLSearchParams(location.search).get("db") || "playground";

const app = {
  store: null,
  /** Metadata of every session, newest first, as `list()` returned it. */
  sessions: [],
  /** The session on screen (a full Session), or null. */
  current: null,
};

/**
 * Runs one user action. A failure is shown with its code and message, never swallowed; the
 * page stays usable. `aria-busy` is set meanwhile (the end-to-end tests wait on it), and an
 * action started meanwhile (a double click on Send) is ignored rather than racing this one.
 */
async function act(action, fn) {
  if (document.body.hasAttribute("aria-busy")) return;
  document.body.setAttribute("aria-busy", "true");
  view.clearError();
  try {
    await fn();
  } catch (error) {
    console.error(`${action} failed`, error);
    view.showError(action, error);
  } finally {
    document.body.removeAttribute("aria-busy");
  }
}

/** Comma-separated tags, trimmed, without blanks or repeats (the store refuses repeats). */
function parseTags(text) {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

// --- reading ------------------------------------------------------------------------------

async function refreshList() {
  app.sessions = await app.store.list();
  view.renderList(app.sessions, app.current?.metadata.id, (id) => act("Resume", () => select(id)));
  const { usage } = await SessionStore.estimate();
  view.setStorage(`database "${DB_NAME}" · ${Math.round(usage / 1024)} KiB used by this origin`);
}

/** Resumes session `id` (or shows nothing for null) and remembers it in the URL. */
async function select(id) {
  app.current = id === null ? null : await app.store.resume(id);
  const url = new URL(location.href);
  url.hash = id === null ? "" : encodeURIComponent(id);
  history.replaceState(null, "", url);
  view.editName(false);
  view.confirmDelete(false);
  view.renderSession(app.current, app.current ? countTurns(app.current.messages) : 0);
  await refreshList();
}

const currentId = () => app.current.metadata.id;

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

/** One turn: the user's message and the echo agent's reply, saved together. */
async function send(text) {
  const { metadata, messages, state } = app.current;
  const turn = echoTurn(text, state);
  const next = [...messages, ...turn.messages];
  await app.store.save({
    metadata: { ...metadata, turnCount: countTurns(next), totalTokens: sumTokens(next) },
    messages: next,
    state: turn.state,
  });
  await select(metadata.id);
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

// --- wiring -------------------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

/** Submitting `form` runs `fn(form)` as action `action`. */
function onSubmit(selector, action, fn) {
  $(selector).addEventListener("submit", (event) => {
    event.preventDefault();
    act(action, () => fn(event.currentTarget));
  });
}

function wire() {
  onSubmit("#create-form", "Create", create);
  onSubmit("#composer", "Send", async (form) => {
    const box = form.elements.text;
    const text = box.value;
    if (!text.trim()) return;
    box.value = ""; // cleared now, so what is typed while the turn saves is kept
    try {
      await send(text);
    } catch (error) {
      if (!box.value) box.value = text; // not lost: the person can send it again
      throw error;
    }
    box.focus();
  });
  $("#composer textarea").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#composer").requestSubmit();
  });
  onSubmit("#fork-form", "Fork", async (form) => {
    await fork(form.elements.name.value);
    form.elements.name.value = "";
  });
  onSubmit("#rewind-form", "Rewind", (form) => rewind(Number(form.elements.turn.value)));
  onSubmit("#tag-form", "Tag", async (form) => {
    await tag(form.elements.tags.value);
    form.elements.tags.value = "";
  });
  $("#rename-start").addEventListener("click", () => view.editName(true, app.current.metadata.name ?? ""));
  $("#rename-cancel").addEventListener("click", () => view.editName(false));
  $("#rename-form input").addEventListener("keydown", (event) => {
    if (event.key === "Escape") view.editName(false);
  });
  onSubmit("#rename-form", "Rename", (form) => rename(form.elements.name.value));
  $("#delete").addEventListener("click", () => view.confirmDelete(true));
  $("#delete-no").addEventListener("click", () => view.confirmDelete(false));
  $("#delete-yes").addEventListener("click", () => act("Delete", remove));
  $("#error-dismiss").addEventListener("click", () => view.clearError());
  setInterval(view.refreshTimes, 30_000);
}

// --- start --------------------------------------------------------------------------------

wire();
await act("Opening the store", async () => {
  await init();
  app.store = await SessionStore.open(DB_NAME);
  await refreshList();
  // Back to the session the URL names (a reload keeps the hash), if it still exists.
  const id = decodeURIComponent(location.hash.slice(1));
  if (id && app.sessions.some((s) => s.id === id)) await select(id);
  else view.renderSession(null);
  // On a phone the new-session form starts folded once there are sessions to show instead.
  if (app.sessions.length && matchMedia("(max-width: 720px)").matches) $("#create").open = false;
});
document.body.dataset.ready = "true";
