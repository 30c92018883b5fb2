// Dexie and raw IndexedDB have no append and no replaceLast: an agent re-puts the whole session
// (with its new state) each turn, and each time a streamed reply grows.
export function reputting(save) {
  return {
    append: (s, messages, tokens, state) => {
      s.messages.push(...messages);
      s.metadata.turnCount += 1;
      s.metadata.totalTokens += tokens;
      if (state !== undefined) s.state = state;
      return save(s);
    },
    replaceLast: (s, message, tokens) => {
      s.messages[s.messages.length - 1] = message;
      s.metadata.totalTokens += tokens;
      return save(s);
    },
  };
}
