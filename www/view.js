// Rendering for the playground. Everything that came from the store is put on the page with
// textContent (through `el`), never as HTML, so a message such as `<img src=x onerror=…>` shows
// literally and runs nothing.

const $ = (selector) => document.querySelector(selector);

/** Creates an element with properties (`class`, `dataset`, attributes) and text/element children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", else the date. */
export function relativeTime(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return new Date(ms).toLocaleDateString();
}

function time(ms) {
  return el("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toLocaleString(),
    dataset: { ms } }, relativeTime(ms));
}

/** Re-renders every <time data-ms> so "just now" ages while the page stays open. */
export function refreshTimes() {
  for (const t of document.querySelectorAll("time[data-ms]")) {
    t.textContent = relativeTime(Number(t.dataset.ms));
  }
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const displayName = (meta) => meta.name ?? "(unnamed)";

function tagList(tags) {
  return el("ul", { class: "tags" }, tags.map((t) => el("li", { class: "tag" }, t)));
}

/** The sidebar: sessions in the store's order (newest first), the current one marked. */
export function renderList(sessions, currentId, onSelect) {
  $("#session-count").textContent = `(${sessions.length})`;
  const items = sessions.map((meta) =>
    el("li", {},
      el("button", {
        type: "button", class: "session-item", dataset: { id: meta.id },
        "aria-current": meta.id === currentId ? "true" : null,
        onclick: () => onSelect(meta.id),
      },
      el("span", { class: "session-name" }, displayName(meta)),
      el("span", { class: "session-agent" }, meta.agentName),
      meta.tags.length ? tagList(meta.tags) : null,
      el("span", { class: "session-stats" },
        `${plural(meta.turnCount, "turn")} · ${plural(meta.totalTokens, "token")} · `, time(meta.updatedAt)),
      )));
  $("#session-list").replaceChildren(...items);
  if (!sessions.length) {
    $("#session-list").append(el("li", { class: "muted" }, "No sessions yet."));
  }
}

/** Text of a stored message: its `content` if it is a string, else the value as JSON. */
function messageText(m) {
  return typeof m?.content === "string" ? m.content : JSON.stringify(m);
}

/** One message of the conversation; `turn` numbers a user message. */
function messageItem(m, index, turn) {
  const role = typeof m?.role === "string" ? m.role : "message";
  return el("li", { class: `message role-${role === "user" ? "user" : "agent"}`, dataset: { index } },
    el("div", { class: "message-head" },
      role === "user" ? `Turn ${turn} · you` : role,
      Number.isSafeInteger(m?.tokens) ? ` · ${plural(m.tokens, "token")}` : ""),
    el("p", { class: "message-content" }, messageText(m)));
}

/** The line under the title: agent, counts and times. */
function renderMeta(meta) {
  $("#session-meta").replaceChildren(
    `${meta.agentName} · ${plural(meta.turnCount, "turn")} · ${plural(meta.totalTokens, "token")} · created `,
    time(meta.createdAt), " · updated ", time(meta.updatedAt));
}

/**
 * The conversation pane for `session`, or the empty state for null. With `keepRewind` (a redraw
 * for another tab's write) the rewind target chosen stays chosen if it still exists.
 */
export function renderSession(session, turns, { keepRewind = false } = {}) {
  $("#empty").hidden = session !== null;
  $("#session").hidden = session === null;
  if (!session) return;
  const meta = session.metadata;
  $("#session-name").textContent = displayName(meta);
  renderMeta(meta);
  $("#session-tags").replaceChildren(...meta.tags.map((t) => el("li", { class: "tag" }, t)));

  let turn = 0;
  const items = session.messages.map((m, i) => messageItem(m, i, m?.role === "user" ? ++turn : turn));
  $("#messages").replaceChildren(...items);
  if (!items.length) $("#messages").append(el("li", { class: "muted" }, "No messages yet: say something."));

  // Rewind targets: back to before turn 1, or to just after any earlier turn.
  const chosen = $("#rewind-turn").value;
  const options = [el("option", { value: 0 }, "before turn 1 (empty)")];
  for (let t = 1; t < turns; t++) options.push(el("option", { value: t }, `after turn ${t}`));
  $("#rewind-turn").replaceChildren(...options);
  const keep = keepRewind && chosen !== "" && Number(chosen) <= Math.max(0, turns - 1);
  $("#rewind-turn").value = keep ? chosen : String(Math.max(0, turns - 1));
  $("#rewind-form button").disabled = turns === 0;
}

/** Redraws only the last message of `session` (a reply as it streams) and the counts. */
export function renderLastMessage(session, turns) {
  const last = session.messages.length - 1;
  const item = messageItem(session.messages[last], last, turns);
  $("#messages").lastElementChild.replaceWith(item);
  renderMeta(session.metadata);
}

/** Send is disabled while a reply streams (what is typed meanwhile stays in the box). */
export function setStreaming(streaming) {
  $("#composer button").disabled = streaming;
}

/** Shows a failed action with the error's code and message (SessionErrors carry a code). */
export function showError(action, error) {
  $("#error-code").textContent = error?.code ?? error?.name ?? "ERROR";
  $("#error-message").textContent = `${action} failed: ${error?.message ?? String(error)}`;
  $("#error").hidden = false;
}

export function clearError() {
  $("#error").hidden = true;
}

/** Swaps the session title for an inline rename field, or back. */
export function editName(editing, current = "") {
  $("#session-name").hidden = editing;
  $("#rename-start").hidden = editing;
  $("#rename-form").hidden = !editing;
  if (editing) {
    const input = $("#rename-form input");
    input.value = current;
    input.focus();
    input.select();
  }
}

/** Shows or hides the delete confirmation. */
export function confirmDelete(asking) {
  $("#delete").hidden = asking;
  $("#delete-confirm").hidden = !asking;
  if (asking) $("#delete-no").focus();
}

export function setStorage(text) {
  $("#storage").textContent = text;
}

/** The line under the import controls (what the last import did), or nothing. */
export function setImportStatus(text) {
  $("#import-status").textContent = text;
}
