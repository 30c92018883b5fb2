// The playground's pure helpers, in node: token counts, a reply's streamed pieces, turn
// arithmetic for rewind, metadata comparison, export file names and import reports, relative time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { countTurns, echoTurn, estimateTokens, messagesBeforeTurn, streamSteps, sumTokens } from "../../www/echo-agent.js";
import { describeImport, exportFileName, safeFileName } from "../../www/files.js";
import { sameMetadata } from "../../www/live.js";
import { relativeTime } from "../../www/view.js";

test("token estimate: about 4 characters a token, code points not UTF-16 units", () => {
  assert.equal(estimateTokens(""), 0);
  assert.equal(estimateTokens("a"), 1);
  assert.equal(estimateTokens("abcd"), 1);
  assert.equal(estimateTokens("abcde"), 2);
  assert.equal(estimateTokens("😀😀😀😀"), 1);
});

test("echo turns number themselves from the state and add up", () => {
  const one = echoTurn("hi there", null);
  assert.deepEqual(one.messages, [
    { role: "user", content: "hi there", tokens: 2 },
    { role: "assistant", content: "Echo #1: hi there (2 words)", tokens: 7 },
  ]);
  assert.deepEqual(one.state, { agent: "echo", turns: 1 });
  const two = echoTurn("x", one.state);
  assert.equal(two.messages[1].content, "Echo #2: x (1 word)");
  const all = [...one.messages, ...two.messages];
  assert.equal(countTurns(all), 2);
  assert.equal(sumTokens(all), 2 + 7 + 1 + 5);
  assert.equal(sumTokens([{ tokens: 1.5 }, "text", null, { tokens: 3 }]), 3, "only whole token counts add");
});

test("a streamed reply: pieces of 4 code points, whose tokens add up to the whole reply's", () => {
  const reply = echoTurn("hi 😀 there, how are you?", null).messages[1];
  const steps = streamSteps(reply.content);
  assert.deepEqual(steps.map((s) => s.message.content).slice(0, 3), ["Echo", "Echo #1:", "Echo #1: hi "]);
  assert.deepEqual(steps.at(-1).message, reply, "the last piece is the whole reply, with its estimate");
  for (const [i, { message }] of steps.entries()) {
    assert.equal(message.role, "assistant");
    assert.equal(message.tokens, estimateTokens(message.content), `piece ${i} carries its own estimate`);
    assert.ok(message.content.isWellFormed(), `piece ${i} splits no surrogate pair`);
    assert.ok(i === 0 || message.content.startsWith(steps[i - 1].message.content), "each piece grows the last");
  }
  assert.ok(steps.every((s) => s.tokens >= 0));
  assert.equal(sumTokens(steps.map((s) => ({ tokens: s.tokens }))), reply.tokens, "the deltas add up to the reply");
  assert.equal(streamSteps("😀😀😀😀😀", 2).map((s) => s.message.content).join("|"), "😀😀|😀😀😀😀|😀😀😀😀😀");
  assert.deepEqual(streamSteps(""), []);
});

test("rewind targets: the messages before the next user message", () => {
  const u = (c) => ({ role: "user", content: c });
  const a = (c) => ({ role: "assistant", content: c });
  const history = [u("1"), a("1"), u("2"), a("2"), a("2b"), u("3")];
  assert.equal(messagesBeforeTurn(history, 0), 0);
  assert.equal(messagesBeforeTurn(history, 1), 2);
  assert.equal(messagesBeforeTurn(history, 2), 5, "a turn keeps every reply it had");
  assert.equal(messagesBeforeTurn(history, 3), 6);
  assert.equal(messagesBeforeTurn(history, 9), 6);
  assert.equal(countTurns(history), 3);
});

test("relative times", () => {
  const now = Date.UTC(2026, 0, 10, 12);
  assert.equal(relativeTime(now, now), "just now");
  assert.equal(relativeTime(now + 5000, now), "just now", "a clock a little ahead is not the future");
  assert.equal(relativeTime(now - 44_000, now), "just now");
  assert.equal(relativeTime(now - 5 * 60_000, now), "5 min ago");
  assert.equal(relativeTime(now - 3 * 3600_000, now), "3 h ago");
  assert.equal(relativeTime(now - 2 * 86400_000, now), "2 d ago");
  assert.equal(relativeTime(now - 30 * 86400_000, now), new Date(now - 30 * 86400_000).toLocaleDateString());
});

test("metadata comparison (what live updates skip)", () => {
  const meta = { id: "a", name: "n", tags: ["x"], agentName: "g", createdAt: 1, updatedAt: 2, turnCount: 3, totalTokens: 4 };
  assert.ok(sameMetadata(meta, { ...meta, tags: ["x"] }));
  assert.ok(sameMetadata({ ...meta, name: null }, { ...meta, name: undefined }), "an absent name is null");
  for (const change of [{ name: "m" }, { tags: ["x", "y"] }, { updatedAt: 5 }, { turnCount: 4 }, { totalTokens: 5 }]) {
    assert.ok(!sameMetadata(meta, { ...meta, ...change }), JSON.stringify(change));
  }
  assert.ok(!sameMetadata(meta, undefined));
});

test("export file names: the date for everything, the session's name (made safe) or id for one", () => {
  assert.equal(exportFileName(null, new Date(2026, 0, 5, 23, 59)), "sessions-2026-01-05.jsonl");
  assert.equal(exportFileName({ id: "abc", name: "release notes" }), "release notes.jsonl");
  assert.equal(exportFileName({ id: "abc", name: 'a/b\\c:d*e?f"g<h>i|j' }), "a_b_c_d_e_f_g_h_i_j.jsonl");
  assert.equal(exportFileName({ id: "abc", name: null }), "abc.jsonl");
  assert.equal(exportFileName({ id: "abc", name: "..." }), "abc.jsonl", "no hidden or dot-only names");
  assert.equal(exportFileName({ id: "///", name: "  " }), "_.jsonl");
  assert.equal(safeFileName("x".repeat(200)).length, 80);
  assert.equal(safeFileName("line\nbreak\u0000"), "line_break_");
});

test("import reports: the four counts, after the file's name", () => {
  assert.equal(describeImport({ imported: 2, skipped: 1, forked: 0, replaced: 3 }, "f.jsonl"),
    "f.jsonl: 2 imported · 1 skipped · 0 forked · 3 replaced");
});
