// The playground live: two tabs on one database, where what one writes reaches the other's
// sidebar and open session without a reload, and a reply that streams a few characters at a time,
// saved as it goes, so a reload mid-reply keeps what had streamed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startSite } from "../support/browser.mjs";
import { echoTurn, estimateTokens, streamSteps, sumTokens } from "../../www/echo-agent.js";
import {
  createSession, expectedConversation, idle, liveRedraws, openPlayground, ready, say, shownList, shownMessages,
  stored,
} from "./driver.mjs";

let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

/** Waits until the last message shown in `page` has text `check(text)` accepts, and returns it. */
async function lastMessageWhen(page, check) {
  const handle = await page.waitForFunction((source) => {
    const text = document.querySelector("#messages .message:last-child .message-content")?.textContent;
    return text !== undefined && (0, eval)(`(${source})`)(text) ? text : false;
  }, check.toString());
  return handle.jsonValue();
}

test("two tabs on one database: a write in one reaches the other's sidebar and open session", async () => {
  const a = await openPlayground(site, { stream: 60 });
  const b = await openPlayground(site, { context: a.context, db: a.db });
  assert.deepEqual(await shownList(b.page), []);

  // A creates: B's sidebar lists it, and B goes on showing nothing open.
  await createSession(a.page, { name: "shared", tags: "live" });
  const [{ id }] = await shownList(a.page);
  await b.page.waitForSelector(`.session-item[data-id="${id}"]`);
  assert.deepEqual((await shownList(b.page)).map((s) => [s.name, s.tags, s.stats, s.current]),
    [["shared", ["live"], "0 turns · 0 tokens · just now", false]]);
  assert.ok(await b.page.isVisible("#empty"));
  await b.page.click(`.session-item[data-id="${id}"]`);
  await idle(b.page);

  // A sends: B's open session shows the reply while it streams, then whole.
  const text = "hello from the other tab";
  const reply = echoTurn(text, null).messages[1].content;
  const redrawsBefore = await liveRedraws(b.page);
  await a.page.fill("#composer textarea", text);
  await a.page.click("#composer button[type=submit]");
  const partial = await lastMessageWhen(b.page, (t) => t.startsWith("Echo #1") && !t.endsWith(")"));
  assert.ok(reply.startsWith(partial), `B showed "${partial}", a prefix of the reply`);
  await a.page.fill("#composer textarea", "typed while it streams");
  await idle(a.page);
  assert.equal(await a.page.inputValue("#composer textarea"), "typed while it streams", "A's draft is kept");
  await lastMessageWhen(b.page, (t) => t.endsWith("words)"));
  const want = expectedConversation([text]);
  assert.deepEqual(await shownMessages(b.page), await shownMessages(a.page));
  assert.deepEqual((await shownMessages(b.page)).map(([, t]) => t), [text, reply]);
  await b.page.waitForFunction((stats) => document.querySelector(".session-stats")?.textContent === stats,
    `1 turn · ${want.tokens} tokens · just now`);
  assert.match(await b.page.textContent("#session-meta"), new RegExp(`1 turn · ${want.tokens} tokens`));

  // B redrew for A's writes (coalesced: at most one per write), A never for its own.
  const writes = 1 + streamSteps(reply).length;
  const redraws = (await liveRedraws(b.page)) - redrawsBefore;
  assert.ok(redraws >= 2 && redraws <= writes, `B redrew ${redraws} times for ${writes} writes`);
  assert.equal(await liveRedraws(a.page), 0, "A drew its own writes once, in its action");

  // B renames: A's title and sidebar follow. Then A deletes: B shows the empty state.
  await b.page.click("#rename-start");
  await b.page.fill("#rename-form input", "renamed in B");
  await b.page.press("#rename-form input", "Enter");
  await idle(b.page);
  await a.page.waitForFunction(() => document.querySelector("#session-name").textContent === "renamed in B");
  assert.equal((await shownList(a.page))[0].name, "renamed in B");
  await a.page.click("#delete");
  await a.page.click("#delete-yes");
  await idle(a.page);
  await b.page.waitForSelector("#empty:not([hidden])");
  assert.ok(await b.page.isHidden("#session"));
  assert.deepEqual(await shownList(b.page), []);
  assert.equal(await b.page.evaluate(() => location.hash), "", "a reload will not look for it");
  assert.ok(await b.page.isHidden("#error"), "nothing failed in B");
  await b.done();
  await a.done();
});

test("a live update leaves the rewind target and an open rename field as they were", async () => {
  const a = await openPlayground(site, { stream: 0 });
  const b = await openPlayground(site, { context: a.context, db: a.db });
  await createSession(a.page, { name: "steady" });
  for (const text of ["one", "two", "three"]) await say(a.page, text);
  const [{ id }] = await shownList(a.page);
  await b.page.click(`.session-item[data-id="${id}"]`);
  await idle(b.page);
  await b.page.selectOption("#rewind-turn", "1");
  await b.page.click("#rename-start");
  await b.page.fill("#rename-form input", "half-typed");

  await say(a.page, "four");
  await lastMessageWhen(b.page, (t) => t === "Echo #4: four (1 word)");
  assert.equal(await b.page.inputValue("#rewind-turn"), "1");
  assert.equal(await b.page.$$eval("#rewind-turn option", (o) => o.length), 4, "turn 3 is a target now");
  assert.ok(await b.page.isVisible("#rename-form"));
  assert.equal(await b.page.inputValue("#rename-form input"), "half-typed");
  await b.done();
  await a.done();
});

test("a reload mid-stream keeps the streamed prefix, and the conversation goes on", async () => {
  const { page, db, done } = await openPlayground(site, { stream: 150 });
  await createSession(page, { name: "interrupted" });
  const text = "please stream this reply slowly enough to interrupt it";
  const reply = echoTurn(text, null).messages[1].content;
  await page.fill("#composer textarea", text);
  await page.click("#composer button[type=submit]");

  const before = await lastMessageWhen(page, (t) => t.length >= 12);
  assert.ok(reply.startsWith(before) && before.length < reply.length - 20, `"${before}" is early in the reply`);
  assert.ok(await page.isDisabled("#composer button[type=submit]"), "Send is disabled while the reply streams");

  await page.reload();
  await ready(page);
  const [[head, shownText], [replyHead, prefix]] = await shownMessages(page);
  assert.equal(shownText, text);
  assert.match(head, /^Turn 1 · you/);
  assert.ok(prefix.startsWith(before) && reply.startsWith(prefix) && prefix.length < reply.length,
    `after the reload "${prefix}": what had streamed, not the whole reply`);
  assert.equal(replyHead, `assistant · ${estimateTokens(prefix)} tokens`);
  assert.ok(await page.isEnabled("#composer button[type=submit]"));

  // What is stored adds up: the prefix's tokens, the turn counted, the agent's state saved.
  let [session] = Object.values((await stored(page, db)).sessions);
  assert.deepEqual(session.messages.map((m) => m.content), [text, prefix]);
  assert.equal(session.messages[1].tokens, estimateTokens(prefix));
  assert.equal(session.metadata.totalTokens, sumTokens(session.messages));
  assert.equal(session.metadata.turnCount, 1);
  assert.deepEqual(session.state, { agent: "echo", turns: 1 });

  await say(page, "next");
  assert.deepEqual((await shownMessages(page)).slice(2).map(([, t]) => t), ["next", "Echo #2: next (1 word)"]);
  [session] = Object.values((await stored(page, db)).sessions);
  assert.equal(session.metadata.turnCount, 2);
  assert.equal(session.metadata.totalTokens, sumTokens(session.messages));
  assert.equal((await shownList(page))[0].stats, `2 turns · ${session.metadata.totalTokens} tokens · just now`);
  await done();
});
