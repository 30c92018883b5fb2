// The playground's search box and tag filter. A search lists the matching messages, best first,
// each with its session's name and the snippet the store cut, the matched words marked (from
// the hit's `matches`, drawn as text, never as HTML); choosing one opens the session at that
// message. The tag filter narrows the session list to one tag, read through the store's index.
import { el } from "./view.js";

const $ = (selector) => document.querySelector(selector);

/** The snippet with its matched ranges in <mark>. */
function marked(snippet, matches) {
  const parts = [];
  let at = 0;
  for (const [start, end] of matches) {
    parts.push(snippet.slice(at, start), el("mark", {}, snippet.slice(start, end)));
    at = end;
  }
  parts.push(snippet.slice(at));
  return parts;
}

/** Draws `hits` (null: no search) into #search-results; `onOpen(id, messageIndex)` opens one. */
export function renderHits(hits, onOpen) {
  const list = $("#search-results");
  list.hidden = hits === null;
  if (hits === null) return list.replaceChildren();
  const items = hits.map((hit) =>
    el("li", {},
      el("button", { type: "button", class: "hit", dataset: { id: hit.id, index: hit.messageIndex },
        onclick: () => onOpen(hit.id, hit.messageIndex) },
      el("span", { class: "session-name" }, hit.metadata.name ?? hit.id.slice(0, 8)),
      el("span", { class: "muted" }, ` · message ${hit.messageIndex + 1}`),
      el("span", { class: "snippet" }, marked(hit.snippet, hit.matches)))));
  list.replaceChildren(...items);
  if (!hits.length) list.append(el("li", { class: "muted" }, "No message matches every word."));
}

/** Fills the tag filter with every tag of `sessions`, keeping the one chosen if it still exists. */
export function renderTagFilter(sessions) {
  const select = $("#tag-filter");
  const chosen = select.value;
  const tags = [...new Set(sessions.flatMap((m) => m.tags))].sort();
  select.replaceChildren(el("option", { value: "" }, "every tag"), ...tags.map((t) => el("option", { value: t }, t)));
  select.value = tags.includes(chosen) ? chosen : "";
}

/** Scrolls to message `index` of the open session and marks it. */
export function showMessage(index) {
  const item = document.querySelector(`#messages > li[data-index="${index}"]`);
  if (!item) return;
  item.classList.add("found");
  item.scrollIntoView({ block: "center" });
}
