// Export and import through the playground: real downloads (Playwright's `download` event, the
// file read back), real uploads (the file input, with setInputFiles), the conflict choice, and a
// corrupt file that shows INVALID_INPUT and changes nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSite } from "../support/browser.mjs";
import { createSession, idle, openPlayground, say, shownList, shownMessages, stored } from "./driver.mjs";

let site;

before(async () => {
  site = await startSite();
});

after(async () => {
  await site.close();
});

let downloads;

before(async () => {
  downloads = await mkdtemp(join(tmpdir(), "playground-downloads-"));
});

after(async () => {
  await rm(downloads, { recursive: true, force: true });
});

/**
 * Clicks `selector`, and resolves with the download it started: its suggested name, the file
 * (saved under that name, so it outlives the page), its text and its lines parsed.
 */
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  await idle(page);
  const name = file.suggestedFilename();
  const path = join(await mkdtemp(join(downloads, "d-")), name);
  await file.saveAs(path);
  const text = await readFile(path, "utf8");
  assert.ok(text.endsWith("\n"), "every line ends with a newline");
  const lines = text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
  return { name, path, text, header: lines[0], sessions: lines.slice(1) };
}

/** Picks `file` (a path, or { name, mimeType, buffer }) in the import field, with `onConflict` chosen. */
async function importFile(page, file, onConflict = "fail") {
  await page.selectOption("#import-conflict", onConflict);
  await page.setInputFiles("#import-file", file);
  await idle(page);
}

/** Two sessions with a conversation each, the second one left open. */
async function twoSessions(page) {
  await createSession(page, { name: "release notes", tags: "docs" });
  await say(page, "Draft the notes");
  await createSession(page, { name: "notes: v1/2?", agent: "code-agent" });
  await say(page, "one");
  await say(page, "two");
}

test("Export all and Export this session download what the store holds, as JSON Lines", async () => {
  const { page, db, done } = await openPlayground(site, { stream: 0 });
  assert.ok(await page.isDisabled("#export-all"), "nothing to export yet");
  await twoSessions(page);
  const { list, sessions } = await stored(page, db);

  const all = await download(page, "#export-all");
  const today = await page.evaluate(() => new Date().toLocaleDateString("sv")); // YYYY-MM-DD, local
  assert.equal(all.name, `sessions-${today}.jsonl`);
  assert.deepEqual(all.header, { format: "idb-session-store", version: 1, sessions: 2 });
  assert.deepEqual(all.sessions.map((s) => s.metadata.id), list.map((m) => m.id).reverse(), "oldest first");
  for (const s of all.sessions) {
    const want = sessions[s.metadata.id];
    assert.deepEqual(s.messages, want.messages);
    assert.deepEqual(s.state, want.state);
    assert.equal(s.metadata.name, want.metadata.name);
    assert.equal(s.metadata.turn_count, want.metadata.turnCount);
    assert.equal(s.metadata.total_tokens, want.metadata.totalTokens);
  }

  const one = await download(page, "#export-session");
  assert.equal(one.name, "notes_ v1_2_.jsonl", "the session's name, made safe for a file system");
  assert.deepEqual(one.header, { format: "idb-session-store", version: 1, sessions: 1 });
  assert.deepEqual(one.sessions.map((s) => s.metadata.id), [list[0].id]);
  assert.deepEqual(one.sessions[0].messages.map((m) => m.content),
    ["one", "Echo #1: one (1 word)", "two", "Echo #2: two (1 word)"]);
  assert.ok(await page.isHidden("#error"));
  await done();
});

test("Import… uploads a file: its sessions appear in the list, and conflicts follow the choice", async () => {
  const source = await openPlayground(site, { stream: 0 });
  await twoSessions(source.page);
  const exported = await download(source.page, "#export-all");
  const listed = await shownList(source.page);
  const messages = await shownMessages(source.page);
  await source.done();

  const { page, db, done } = await openPlayground(site);
  await importFile(page, exported.path);
  assert.ok(await page.isHidden("#error"));
  assert.equal(await page.textContent("#import-status"),
    `${exported.name}: 2 imported · 0 skipped · 0 forked · 0 replaced`);
  assert.deepEqual((await shownList(page)).map((s) => [s.id, s.name, s.tags, s.stats]),
    listed.map((s) => [s.id, s.name, s.tags, s.stats]), "the same sessions, in the same order");
  await page.click(`.session-item[data-id="${listed[0].id}"]`);
  await idle(page);
  assert.deepEqual(await shownMessages(page), messages);

  // Again: by default nothing is imported (CONFLICT); "fork" keeps both; "skip" keeps mine.
  await importFile(page, exported.path);
  assert.equal(await page.textContent("#error-code"), "CONFLICT");
  assert.match(await page.textContent("#error-message"), /^Import failed: /);
  assert.equal(await page.textContent("#import-status"), "");
  assert.equal((await stored(page, db)).list.length, 2);

  await importFile(page, exported.path, "fork");
  assert.ok(await page.isHidden("#error"), "a successful import clears the banner");
  assert.equal(await page.textContent("#import-status"),
    `${exported.name}: 0 imported · 0 skipped · 2 forked · 0 replaced`);
  assert.equal((await shownList(page)).length, 4);

  await importFile(page, exported.path, "skip");
  assert.equal(await page.textContent("#import-status"),
    `${exported.name}: 0 imported · 2 skipped · 0 forked · 0 replaced`);
  assert.equal((await stored(page, db)).list.length, 4);
  await done();
});

test("a corrupt file shows INVALID_INPUT in the banner and changes nothing", async () => {
  const { page, db, done } = await openPlayground(site, { stream: 0 });
  await createSession(page, { name: "already here" });
  await say(page, "hello");
  const before = await stored(page, db);
  const listBefore = await shownList(page);

  const { text } = await download(page, "#export-all");
  const [header, line] = text.trimEnd().split("\n");
  const otherId = JSON.stringify(JSON.parse(line).metadata.id);
  const fresh = line.replace(otherId, JSON.stringify("from-the-file")); // would import cleanly...
  const corrupt = `${header.replace('"sessions":1', '"sessions":2')}\n${fresh}\n{"metadata": oops}\n`;
  await importFile(page, { name: "broken.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(corrupt) },
    "replace");

  assert.ok(await page.isVisible("#error"));
  assert.equal(await page.textContent("#error-code"), "INVALID_INPUT");
  assert.match(await page.textContent("#error-message"), /^Import failed: line 3: /);
  assert.equal(await page.textContent("#import-status"), "");
  assert.deepEqual(await shownList(page), listBefore);
  assert.deepEqual(await stored(page, db), before, "...but nothing was written, not even line 2");
  await done();
});
