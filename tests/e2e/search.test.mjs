// Search and the tag filter in the playground, driven as a person would: a query lists the
// matching messages with their words marked, choosing one opens its session at that message,
// and the tag filter narrows the list through the store's tag index.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startSite } from "../support/browser.mjs";
import { createSession, idle, openPlayground, say, shownList } from "./driver.mjs";

let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** The search results as shown: session name, and the snippet with its marked words. */
function shownHits(page) {
  return page.$$eval("#search-results .hit", (items) => items.map((b) => ({
    name: b.querySelector(".session-name").textContent,
    snippet: b.querySelector(".snippet").textContent,
    marked: [...b.querySelectorAll("mark")].map((m) => m.textContent),
  })));
}

async function searchFor(page, query) {
  await page.fill("#search-form [name=query]", query);
  await page.click("#search-form button[type=submit]");
  await idle(page);
}

test("a search lists matching messages with their words marked, and opens one at that message", async () => {
  const pg = await openPlayground(site, { stream: 0 });
  const { page } = pg;
  await createSession(page, { name: "garden", tags: "home" });
  await say(page, "Plant the tomatoes before the rain");
  await say(page, "Water the roses");
  await createSession(page, { name: "kitchen", tags: "home, food" });
  await say(page, "Tomato soup needs basil");
  await createSession(page, { name: "work", tags: "office" });
  await say(page, "Ship the release");

  await searchFor(page, "TOMATO");
  const hits = await shownHits(page);
  // The user's message and the echo of it, in each session; the newest session first.
  assert.deepEqual(hits.map((h) => h.name), ["kitchen", "kitchen", "garden", "garden"]);
  assert.deepEqual(hits[0].marked, ["Tomato"]);
  assert.ok(hits.every((h) => h.marked.every((m) => /^tomato/i.test(m))), JSON.stringify(hits));

  await searchFor(page, "roses water");
  const [hit] = await shownHits(page);
  assert.equal(hit.name, "garden");
  assert.deepEqual(hit.marked.sort(), ["Water", "roses"]);
  await page.click("#search-results .hit");
  await idle(page);
  assert.equal(await page.textContent("#session-name"), "garden");
  const found = await page.$$eval("#messages .message.found", (items) => items.map((li) => li.dataset.index));
  assert.equal(found.length, 1);
  assert.match(await page.textContent(`#messages .message[data-index="${found[0]}"] .message-content`), /Water the roses/);

  await searchFor(page, "nothing-like-this");
  assert.deepEqual(await shownHits(page), []);
  assert.match(await page.textContent("#search-results"), /No message matches every word/);

  // The tag filter: every tag of every session to choose from; the list narrows to one.
  const tags = await page.$$eval("#tag-filter option", (options) => options.map((o) => o.value));
  assert.deepEqual(tags, ["", "food", "home", "office"]);
  await page.selectOption("#tag-filter", "home");
  await idle(page);
  assert.deepEqual((await shownList(page)).map((s) => s.name), ["kitchen", "garden"]);
  await page.selectOption("#tag-filter", "");
  await idle(page);
  assert.deepEqual((await shownList(page)).map((s) => s.name), ["work", "kitchen", "garden"]);
  await pg.done();
});
