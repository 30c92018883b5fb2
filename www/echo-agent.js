// A stand-in for a model: it answers every user message by echoing it, so a person can grow a
// conversation in the playground without any model. Messages are plain JSON values, the shape a
// real agent would store: { role, content, tokens }.

/** Rough token estimate: about one token per 4 characters, at least one for a non-empty text. */
export function estimateTokens(text) {
  const chars = [...text].length;
  return chars === 0 ? 0 : Math.max(1, Math.ceil(chars / 4));
}

/** A message with its token count. */
export function message(role, content) {
  return { role, content, tokens: estimateTokens(content) };
}

/**
 * One turn: the user's message and the agent's reply, plus the agent's next state.
 * `state` is whatever the previous turn returned (null for a new session).
 */
export function echoTurn(text, state) {
  const turns = (state?.turns ?? 0) + 1;
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  const reply = `Echo #${turns}: ${text} (${words} word${words === 1 ? "" : "s"})`;
  return {
    messages: [message("user", text), message("assistant", reply)],
    state: { agent: "echo", turns },
  };
}

/**
 * The reply as it streams: prefixes growing `size` code points at a time (never half of a
 * surrogate pair, which the store would refuse), each with the tokens it adds to the last.
 */
export function streamSteps(text, size = 4) {
  const chars = [...text];
  const steps = [];
  let before = 0;
  for (let end = size; end < chars.length + size; end += size) {
    const reply = message("assistant", chars.slice(0, end).join(""));
    steps.push({ message: reply, tokens: reply.tokens - before });
    before = reply.tokens;
  }
  return steps;
}

/** Turns in a history: one per user message. */
export function countTurns(messages) {
  return messages.filter((m) => m?.role === "user").length;
}

/** Sum of the messages' token counts (messages without one count 0). */
export function sumTokens(messages) {
  return messages.reduce((n, m) => n + (Number.isSafeInteger(m?.tokens) ? m.tokens : 0), 0);
}

/**
 * How many messages to keep to go back to just after turn `turn` (0 = before the first turn):
 * everything before the (turn + 1)-th user message.
 */
export function messagesBeforeTurn(messages, turn) {
  let seen = 0;
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]?.role === "user" && seen++ === turn) return i;
  }
  return messages.length;
}
