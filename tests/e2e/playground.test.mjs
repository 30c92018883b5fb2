// The playground (www/) driven as a person would, in headless Chromium: clicks and typing only,
// then checked on the page and, as ground truth, in the database through a second connection.
// Each test has a browser context (so its own storage) and a database name of its own.
// Live updates across tabs are in live.test.mjs, export and import in files.test.mjs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ENGINE, startSite } from "../support/browser.mjs";
import {
  createSession, expectedConversation, idle, liveRedraws, openPlayground as open, ready, say, shownList,
  shownMessages, stored,
} from "./driver.mjs";

const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const SUFFIX = ENGINE === "chromium" ? "" : `-${ENGINE}`; // each engine's screenshots side by side
let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

const openPlayground = (viewport) => open(site, { viewport });

test("create a session and grow it turn by turn with the echo agent", async () => {
  const { page, db, done } = await openPlayground();
  assert.equal(await page.textContent("#session-count"), "(0)");
  assert.ok(await page.isVisible("#empty"));

  await createSession(page, { name: "refactor-auth", agent: "code-agent", tags: "prod, urgent, prod" });
  let [item] = await shownList(page);
  assert.deepEqual({ ...item, id: undefined }, { id: undefined, name: "refactor-auth", agent: "code-agent",
    tags: ["prod", "urgent"], stats: "0 turns · 0 tokens · just now", current: true });
  assert.equal(await page.textContent("#session-name"), "refactor-auth");

  const texts = ["Summarize the build log", "Now list the failing tests", "thanks"];
  for (const text of texts) await say(page, text);
  const want = expectedConversation(texts);

  assert.deepEqual(await shownMessages(page), [
    ["Turn 1 · you · 6 tokens", "Summarize the build log"],
    ["assistant · 11 tokens", "Echo #1: Summarize the build log (4 words)"],
    ["Turn 2 · you · 7 tokens", "Now list the failing tests"],
    ["assistant · 12 tokens", "Echo #2: Now list the failing tests (5 words)"],
    ["Turn 3 · you · 2 tokens", "thanks"],
    ["assistant · 6 tokens", "Echo #3: thanks (1 word)"],
  ]);
  [item] = await shownList(page);
  assert.equal(item.stats, `3 turns · ${want.tokens} tokens · just now`);
  assert.match(await page.textContent("#session-meta"), new RegExp(`code-agent · 3 turns · ${want.tokens} tokens`));
  assert.equal(await page.inputValue("#composer textarea"), "", "the composer is cleared after sending");
  assert.ok(await page.isEnabled("#composer button[type=submit]"), "Send is enabled once the reply is in");
  assert.equal(await liveRedraws(page), 0, "the page's own writes are drawn once, by their action");

  const db1 = await stored(page, db);
  assert.equal(db1.list.length, 1);
  const session = db1.sessions[item.id];
  assert.deepEqual(session.messages, want.messages);
  assert.deepEqual(session.state, want.state);
  assert.equal(session.metadata.turnCount, 3);
  assert.equal(session.metadata.totalTokens, want.tokens);
  assert.equal(session.metadata.agentName, "code-agent");
  assert.deepEqual(session.metadata.tags, ["prod", "urgent"]);
  assert.ok(session.metadata.updatedAt >= session.metadata.createdAt && session.metadata.createdAt > 0);
  await done();
});

test("a message sent while a turn is saving waits instead of racing it", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "eager" });
  // Both submits in one task, so the second certainly comes while the first is saving.
  await page.evaluate(() => {
    const form = document.querySelector("#composer");
    form.elements.text.value = "first";
    form.requestSubmit();
    form.elements.text.value = "second";
    form.requestSubmit();
  });
  await idle(page);
  assert.deepEqual((await shownMessages(page)).map(([, t]) => t), ["first", "Echo #1: first (1 word)"]);
  assert.equal(await page.inputValue("#composer textarea"), "second", "the second message is still there to send");
  await page.click("#composer button[type=submit]");
  await idle(page);
  const { sessions } = await stored(page, db);
  const [session] = Object.values(sessions);
  assert.deepEqual(session.messages.map((m) => m.content),
    ["first", "Echo #1: first (1 word)", "second", "Echo #2: second (1 word)"]);
  assert.equal(session.metadata.turnCount, 2);
  await done();
});

test("the sidebar lists sessions newest first and resumes the one picked", async () => {
  const { page, done } = await openPlayground();
  await createSession(page, { name: "first" });
  await say(page, "in the first");
  await createSession(page, { name: "second" });
  assert.deepEqual((await shownList(page)).map((s) => s.name), ["second", "first"]);
  assert.deepEqual(await shownMessages(page), [], "a new session starts empty");

  await page.click(".session-item:has-text('first')");
  await idle(page);
  assert.equal(await page.textContent("#session-name"), "first");
  assert.deepEqual((await shownMessages(page)).map(([, text]) => text),
    ["in the first", "Echo #1: in the first (3 words)"]);
  let list = await shownList(page);
  assert.deepEqual(list.map((s) => [s.name, s.current]), [["second", false], ["first", true]]);

  await say(page, "again");
  list = await shownList(page);
  assert.deepEqual(list.map((s) => s.name), ["first", "second"], "a write moves a session to the top");
  await done();
});

test("fork copies the conversation, with or without a name", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "main-line", tags: "base" });
  await say(page, "one");
  await say(page, "two");
  const [original] = await shownList(page);

  await page.fill("#fork-form [name=name]", "experiment");
  await page.click("#fork-form button");
  await idle(page);
  assert.equal(await page.textContent("#session-name"), "experiment");
  let list = await shownList(page);
  assert.deepEqual(list.map((s) => [s.name, s.current]), [["experiment", true], ["main-line", false]]);
  const fork = list[0];
  assert.notEqual(fork.id, original.id);
  assert.deepEqual(fork.tags, ["base"]);
  assert.equal((await shownMessages(page)).length, 4);

  // Growing the fork leaves the original alone.
  await say(page, "only in the fork");
  await page.click(`.session-item[data-id="${original.id}"]`);
  await idle(page);
  await page.click("#fork-form button"); // no name: "<name> (fork)"
  await idle(page);
  assert.equal(await page.textContent("#session-name"), "main-line (fork)");

  const { sessions } = await stored(page, db);
  assert.equal(Object.keys(sessions).length, 3);
  assert.equal(sessions[fork.id].messages.length, 6);
  assert.equal(sessions[fork.id].metadata.turnCount, 3);
  assert.equal(sessions[original.id].messages.length, 4);
  assert.deepEqual(sessions[fork.id].messages.slice(0, 4), sessions[original.id].messages);
  await done();
});

test("rewind goes back to the chosen turn, and the conversation goes on from there", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "long" });
  for (const text of ["alpha", "beta", "gamma"]) await say(page, text);
  const [{ id }] = await shownList(page);

  const options = await page.$$eval("#rewind-turn option", (o) => o.map((x) => [x.value, x.textContent]));
  assert.deepEqual(options, [["0", "before turn 1 (empty)"], ["1", "after turn 1"], ["2", "after turn 2"]]);
  assert.equal(await page.inputValue("#rewind-turn"), "2", "the default undoes the last turn");

  await page.selectOption("#rewind-turn", "1");
  await page.click("#rewind-form button");
  await idle(page);
  const want = expectedConversation(["alpha"]);
  assert.deepEqual((await shownMessages(page)).map(([, t]) => t), ["alpha", "Echo #1: alpha (1 word)"]);
  assert.equal((await shownList(page))[0].stats, `1 turn · ${want.tokens} tokens · just now`);
  let s = (await stored(page, db)).sessions[id];
  assert.deepEqual(s.messages, want.messages);
  assert.equal(s.metadata.turnCount, 1);
  assert.equal(s.metadata.totalTokens, want.tokens);

  // The echo agent's state was rewound too: the next reply is #2 again.
  await say(page, "delta");
  assert.equal((await shownMessages(page))[3][1], "Echo #2: delta (1 word)");

  await page.selectOption("#rewind-turn", "0");
  await page.click("#rewind-form button");
  await idle(page);
  assert.equal((await shownMessages(page)).length, 0);
  assert.ok(await page.isDisabled("#rewind-form button"), "nothing left to rewind");
  s = (await stored(page, db)).sessions[id];
  assert.deepEqual([s.messages, s.metadata.turnCount, s.metadata.totalTokens, s.state], [[], 0, 0, null]);
  await done();
});

test("tags are added without repeats and renaming happens inline", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "to-tag", tags: "prod" });
  const [{ id }] = await shownList(page);

  await page.fill("#tag-form [name=tags]", "alpha, prod, beta,,");
  await page.press("#tag-form [name=tags]", "Enter");
  await idle(page);
  assert.deepEqual(await page.$$eval("#session-tags .tag", (t) => t.map((x) => x.textContent)), ["prod", "alpha", "beta"]);
  assert.deepEqual((await shownList(page))[0].tags, ["prod", "alpha", "beta"]);

  assert.ok(await page.isHidden("#rename-form"));
  await page.click("#rename-start");
  assert.ok(await page.isVisible("#rename-form"));
  assert.equal(await page.inputValue("#rename-form input"), "to-tag");
  await page.fill("#rename-form input", "renamed ✓");
  await page.press("#rename-form input", "Enter");
  await idle(page);
  assert.ok(await page.isHidden("#rename-form"));
  assert.equal(await page.textContent("#session-name"), "renamed ✓");
  assert.equal((await shownList(page))[0].name, "renamed ✓");

  // Escape leaves the name as it was.
  await page.click("#rename-start");
  await page.fill("#rename-form input", "not kept");
  await page.press("#rename-form input", "Escape");
  assert.equal(await page.textContent("#session-name"), "renamed ✓");

  const meta = (await stored(page, db)).sessions[id].metadata;
  assert.equal(meta.name, "renamed ✓");
  assert.deepEqual(meta.tags, ["prod", "alpha", "beta"]);
  await done();
});

test("a store error is shown with its code and message, and the page stays usable", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "keep-me" });
  assert.ok(await page.isHidden("#error"));

  await page.click("#rename-start");
  await page.fill("#rename-form input", "   ");
  await page.press("#rename-form input", "Enter");
  await idle(page);
  assert.ok(await page.isVisible("#error"));
  assert.equal(await page.getAttribute("#error", "role"), "alert");
  assert.equal(await page.textContent("#error-code"), "INVALID_INPUT");
  assert.match(await page.textContent("#error-message"), /^Rename failed: name of session ".+" must not be empty/);
  assert.ok(await page.isVisible("#rename-form"), "the field stays open to correct the name");
  assert.equal((await stored(page, db)).list[0].name, "keep-me");

  await page.click("#error-dismiss");
  assert.ok(await page.isHidden("#error"));

  // NOT_FOUND: another connection (as another tab would) deletes the session just as this page
  // tags it, before the page has heard of the delete; then the delete is heard and drawn.
  await page.click("#rename-cancel");
  const [{ id }] = await shownList(page);
  await page.fill("#tag-form [name=tags]", "late");
  await page.evaluate(async ({ db, id }) => {
    const { default: init, SessionStore } = await import("/pkg/idb_session_store.js");
    await init();
    const other = await SessionStore.open(db);
    await other.delete(id);
    document.querySelector("#tag-form").requestSubmit(); // before the delete's change arrives
    other.close();
  }, { db, id });
  await idle(page);
  assert.equal(await page.textContent("#error-code"), "NOT_FOUND");
  assert.match(await page.textContent("#error-message"), new RegExp(`^Tag failed: session "${id}" not found`));
  await page.waitForSelector("#empty:not([hidden])");
  assert.deepEqual(await shownList(page), []);
  assert.ok(await page.isVisible("#error"), "the live update leaves the banner up");

  // A later action that succeeds clears the banner.
  await createSession(page, { name: "after the error" });
  assert.ok(await page.isHidden("#error"));
  assert.deepEqual((await shownList(page)).map((s) => s.name), ["after the error"]);
  await done();
});

test("delete asks first, and removes the session for good", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "doomed" });
  await say(page, "bye");
  await createSession(page, { name: "survivor" });
  await page.click(".session-item:has-text('doomed')");
  await idle(page);
  const doomed = (await shownList(page)).find((s) => s.name === "doomed");

  await page.click("#delete");
  assert.ok(await page.isVisible("#delete-confirm"));
  await page.click("#delete-no");
  assert.ok(await page.isHidden("#delete-confirm"));
  assert.equal((await shownList(page)).length, 2, "cancel deletes nothing");

  await page.click("#delete");
  await page.click("#delete-yes");
  await idle(page);
  assert.deepEqual((await shownList(page)).map((s) => s.name), ["survivor"]);
  assert.ok(await page.isVisible("#empty"));
  assert.ok(await page.isHidden("#session"));
  const { list } = await stored(page, db);
  assert.deepEqual(list.map((m) => m.name), ["survivor"]);
  assert.ok(!list.some((m) => m.id === doomed.id));
  await done();
});

test("everything done survives a reload", async () => {
  const { page, db, done } = await openPlayground();
  await createSession(page, { name: "persisted", agent: "planner", tags: "keep" });
  for (const text of ["one", "two", "three"]) await say(page, text);
  await page.selectOption("#rewind-turn", "2");
  await page.click("#rewind-form button");
  await idle(page);
  await page.fill("#fork-form [name=name]", "persisted-fork");
  await page.click("#fork-form button");
  await idle(page);
  await page.fill("#tag-form [name=tags]", "forked");
  await page.click("#tag-form button");
  await idle(page);
  await page.click("#rename-start");
  await page.fill("#rename-form input", "persisted-fork-renamed");
  await page.press("#rename-form input", "Enter");
  await idle(page);
  await createSession(page, { name: "deleted-before-reload" });
  await page.click("#delete");
  await page.click("#delete-yes");
  await idle(page);
  await page.click(".session-item:has-text('persisted-fork-renamed')");
  await idle(page);
  const listBefore = await shownList(page);
  const messagesBefore = await shownMessages(page);

  await page.reload();
  await ready(page);
  const listAfter = await shownList(page);
  assert.deepEqual(listAfter, listBefore);
  assert.deepEqual(listAfter.map((s) => [s.name, s.agent, s.tags]), [
    ["persisted-fork-renamed", "planner", ["keep", "forked"]],
    ["persisted", "planner", ["keep"]],
  ]);
  assert.equal(await page.textContent("#session-name"), "persisted-fork-renamed", "the URL keeps the session open");
  assert.deepEqual(await shownMessages(page), messagesBefore);
  assert.equal(messagesBefore.length, 4);

  // A fresh visit (no session in the URL) finds the same, and can resume the original.
  await page.goto(`${site.base}/www/?db=${db}`);
  await ready(page);
  assert.ok(await page.isVisible("#empty"));
  await page.click(`.session-item[data-id="${listAfter[1].id}"]`);
  await idle(page);
  assert.deepEqual((await shownMessages(page)).map(([, t]) => t),
    ["one", "Echo #1: one (1 word)", "two", "Echo #2: two (1 word)"]);
  await done();
});

test("message text is shown literally, never run as HTML", async () => {
  const { page, db, done } = await openPlayground();
  const hostile = [
    "<img src=x onerror=alert(1)>",
    `<img src=x onerror="window.__xss = 1">`,
    "<script>window.__xss = 2</script><b>bold?</b>",
  ];
  await createSession(page, { name: "<i>name</i><img src=x onerror=alert(3)>", agent: "<b>agent</b>",
    tags: "<u>tag</u>" });
  for (const text of hostile) await say(page, text);

  const check = async () => {
    const users = await page.$$eval("#messages .role-user .message-content", (p) => p.map((x) => x.textContent));
    assert.deepEqual(users, hostile);
    const [item] = await shownList(page);
    assert.equal(item.name, "<i>name</i><img src=x onerror=alert(3)>");
    assert.equal(item.agent, "<b>agent</b>");
    assert.deepEqual(item.tags, ["<u>tag</u>"]);
    assert.equal(await page.textContent("#session-name"), "<i>name</i><img src=x onerror=alert(3)>");
    // No element was made from the data anywhere on the page.
    assert.equal(await page.$$eval("img, script:not([type=module]), b, i, u", (n) => n.length), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  };
  await check();
  await page.reload();
  await ready(page);
  await page.waitForTimeout(200); // time for an onerror to fire, were there an image
  await check();
  assert.deepEqual((await stored(page, db)).list.map((m) => m.name), ["<i>name</i><img src=x onerror=alert(3)>"]);
  await done(); // also asserts no alert() dialog opened
});

test("laptop and phone layouts (screenshots in test-results/)", async () => {
  await mkdir(RESULTS, { recursive: true });
  const { page, done } = await openPlayground({ width: 1280, height: 800 });
  await createSession(page, { name: "release-notes", agent: "writer", tags: "docs" });
  await say(page, "Draft the notes for 0.2");
  await createSession(page, { name: "refactor-auth", agent: "code-agent", tags: "prod, urgent" });
  for (const text of ["Find where tokens are refreshed", "Move it behind the AuthClient", "Run the tests"]) {
    await say(page, text);
  }
  await page.screenshot({ path: `${RESULTS}playground-laptop${SUFFIX}.png` });
  const laptop = await page.evaluate(() => {
    const side = document.querySelector(".sidebar").getBoundingClientRect();
    const main = document.querySelector("#conversation").getBoundingClientRect();
    return { sideBySide: side.right <= main.left && Math.abs(side.top - main.top) < 2,
      overflow: document.documentElement.scrollWidth > innerWidth };
  });
  assert.deepEqual(laptop, { sideBySide: true, overflow: false });

  const phoneSize = await page.setViewportSize({ width: 390, height: 844 });
  if (ENGINE !== "chromium") {
    // A WebDriver window narrows only so far: still a phone layout (the breakpoint is 720 px).
    console.log(`playground: phone layout checked at ${phoneSize.width} × ${phoneSize.height}`);
    assert.ok(phoneSize.width <= 500, JSON.stringify(phoneSize));
  }
  await page.reload();
  await ready(page);
  await page.screenshot({ path: `${RESULTS}playground-phone${SUFFIX}.png`, fullPage: true });
  const phone = await page.evaluate(() => {
    const side = document.querySelector(".sidebar").getBoundingClientRect();
    const main = document.querySelector("#conversation").getBoundingClientRect();
    return { stacked: side.bottom <= main.top, overflow: document.documentElement.scrollWidth > innerWidth,
      createFolded: !document.querySelector("#create").open };
  });
  assert.deepEqual(phone, { stacked: true, overflow: false, createFolded: true });
  await done();
});
