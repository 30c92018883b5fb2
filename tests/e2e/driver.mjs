// What the playground's end-to-end tests share: the playground opened on a database of its own
// (or beside another page on the same one), driven as a person would, and read back from the page
// and, as ground truth, from the database through a second connection.
import assert from "node:assert/strict";
import { ENGINE, openPage, uniqueDb } from "../support/browser.mjs";
import { countTurns, echoTurn, sumTokens } from "../../www/echo-agent.js";

/**
 * A page on the playground. Without `context`, a fresh context (own storage, downloads accepted)
 * and database; with `context` and `db`, another tab beside a page opened before. `stream` sets
 * the pause between a reply's pieces (ms). The page records uncaught errors and dialogs
 * (alert/confirm/prompt); `done()` asserts there were none and closes what it opened.
 */
export async function openPlayground(site, { viewport = { width: 1280, height: 800 }, context, db, stream } = {}) {
  const own = !context;
  context ??= await site.newContext({ viewport, acceptDownloads: true });
  db ??= uniqueDb("e2e");
  const page = await openPage(site, `/www/?db=${db}${stream === undefined ? "" : `&stream=${stream}`}`, { context });
  // A WebDriver window is sized after it opened (Playwright sizes the context's pages).
  if (ENGINE !== "chromium") await page.setViewportSize(viewport);
  await ready(page);
  return {
    page,
    db,
    context,
    dialogs: page.dialogs,
    async done() {
      assert.deepEqual(page.uncaughtErrors.map(String), [], "the page threw");
      assert.deepEqual(page.dialogs, [], "a dialog was opened");
      await (own ? context.close() : page.close());
    },
  };
}

export async function ready(page) {
  await page.waitForSelector("body[data-ready]");
  await idle(page);
}

/** Waits until the action a click or Enter started has finished (app.js sets aria-busy). */
export function idle(page) {
  return page.waitForFunction(() => !document.body.hasAttribute("aria-busy"));
}

export async function createSession(page, { name = "", agent = "echo-agent", tags = "" } = {}) {
  await page.fill("#create-form [name=name]", name);
  await page.fill("#create-form [name=agent]", agent);
  await page.fill("#create-form [name=tags]", tags);
  await page.click("#create-form button[type=submit]");
  await idle(page);
  await page.waitForSelector("#session:not([hidden])");
}

/** Sends `text` and waits until the reply has streamed in whole. */
export async function say(page, text) {
  await page.fill("#composer textarea", text);
  await page.click("#composer button[type=submit]");
  await idle(page);
}

/** The conversation as shown: [head, text] per message. */
export function shownMessages(page) {
  return page.$$eval("#messages .message", (items) =>
    items.map((li) => [li.querySelector(".message-head").textContent,
      li.querySelector(".message-content").textContent]));
}

/** The sidebar as shown, top to bottom. */
export function shownList(page) {
  return page.$$eval(".session-item", (items) => items.map((b) => ({
    id: b.dataset.id,
    name: b.querySelector(".session-name").textContent,
    agent: b.querySelector(".session-agent").textContent,
    tags: [...b.querySelectorAll(".tag")].map((t) => t.textContent),
    stats: b.querySelector(".session-stats").textContent,
    current: b.getAttribute("aria-current") === "true",
  })));
}

/** What the database holds, read through a second connection from the page. */
export function stored(page, db) {
  return page.evaluate(async (db) => {
    const { default: init, SessionStore } = await import("/pkg/idb_session_store.js");
    await init();
    const store = await SessionStore.open(db);
    try {
      const list = await store.list();
      const sessions = {};
      for (const meta of list) sessions[meta.id] = await store.resume(meta.id);
      return { list, sessions };
    } finally {
      store.close();
    }
  }, db);
}

/** The messages and totals the echo agent gives for `texts`, computed independently of the page. */
export function expectedConversation(texts) {
  let state = null;
  const messages = [];
  for (const text of texts) {
    const turn = echoTurn(text, state);
    messages.push(...turn.messages);
    state = turn.state;
  }
  return { messages, state, turns: countTurns(messages), tokens: sumTokens(messages) };
}

/** How many times the page redrew for writes it had not drawn itself (app.js counts them). */
export async function liveRedraws(page) {
  return Number(await page.evaluate(() => document.body.dataset.liveRedraws ?? 0));
}
