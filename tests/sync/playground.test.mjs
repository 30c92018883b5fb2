// The playground's Sync panel, driven as a person would, in two browser contexts (two devices)
// against the real session-server: a session made on one appears in the other's sidebar after
// "Sync now"; "Keep syncing" carries a turn across by itself; a refused token shows its code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncSite } from "../support/server.mjs";
import { createSession, openPlayground, say, shownList, shownMessages } from "../e2e/driver.mjs";

const env = syncSite();

async function connect(page, token) {
  await page.$eval("#sync", (panel) => { panel.open = true; });
  await page.fill("#sync-form [name=url]", env.server.url);
  await page.fill("#sync-form [name=token]", token);
}

async function syncNow(page) {
  await page.click("#sync-form button[type=submit]");
  await page.waitForSelector("#sync-status[data-state=done]");
  return page.textContent("#sync-status");
}

test("the Sync panel carries sessions between two devices and shows errors with their codes", async () => {
  const token = env.server.token(`playground-${process.pid}`);
  const [laptop, phone] = [await openPlayground(env.site), await openPlayground(env.site)];
  await connect(laptop.page, "wrong-token");
  const refused = await syncNow(laptop.page);
  assert.match(refused, /UNAUTHORIZED/);
  assert.equal(await laptop.page.$eval("#sync-status", (p) => p.classList.contains("error-text")), true);

  await createSession(laptop.page, { name: "trip", tags: "travel" });
  await say(laptop.page, "where to?");
  await connect(laptop.page, token);
  assert.match(await syncNow(laptop.page), /Synced at .*: [1-9]\d* pushed · 0 pulled · 0 conflicts\. 0 changes to push\./);

  await connect(phone.page, token);
  assert.match(await syncNow(phone.page), /1 pulled/);
  // The same sidebar, but for which session is open.
  const sidebar = async (page) => (await shownList(page)).map(({ current, ...shown }) => shown);
  await phone.page.waitForFunction(() => document.querySelectorAll(".session-item").length === 1);
  assert.deepEqual(await sidebar(phone.page), await sidebar(laptop.page));

  // Keep syncing on both: a turn said on the phone reaches the laptop's open session by itself.
  for (const { page } of [laptop, phone]) await page.check("#sync-keep");
  await phone.page.click(".session-item");
  await say(phone.page, "the sea");
  await laptop.page.waitForFunction(() => document.querySelectorAll("#messages .message").length === 4, null, { timeout: 15_000 });
  assert.deepEqual(await shownMessages(laptop.page), await shownMessages(phone.page));
  for (const { page } of [laptop, phone]) await page.uncheck("#sync-keep");
  await laptop.done();
  await phone.done();
});
