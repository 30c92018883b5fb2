// The word rule of words.rs, in the browser: Intl.Segmenter finds the words, and a word is kept
// when it holds a letter or a digit, keyed by its lowercase letters without accents (NFD, marks
// dropped, NFC), cut to `maxChars` characters. The limits and unsearched keys come from Rust.
// Here too because the IndexedDB store indexes the JSON texts the facade encoded, without
// sending their strings through wasm.

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const MARKS = /\p{M}/gu;

function keyOf(segment, maxChars) {
  const key = segment.normalize("NFD").replace(MARKS, "").normalize("NFC").toLowerCase();
  if (key.length <= maxChars) return key;
  const chars = Array.from(key);
  return chars.length <= maxChars ? key : chars.slice(0, maxChars).join("");
}

/** The words of `text`, flat: `[start, end, key, ...]`, offsets in UTF-16 code units. */
export function words(text, maxChars) {
  return found(text, maxChars).flat();
}

/** `[start, end, key]` of each word of `text`. */
function found(text, maxChars) {
  const out = [];
  for (const { segment, index } of segmenter.segment(text)) {
    if (LETTER_OR_DIGIT.test(segment)) out.push([index, index + segment.length, keyOf(segment, maxChars)]);
  }
  return out;
}

/**
 * The distinct keys of `text`, in the order they first occur: each word's, and after it, when
 * the next word follows on with nothing between, the key of the run from it on (words.rs).
 */
function keys(text, maxChars) {
  const words = found(text, maxChars);
  const seen = new Set();
  const follows = (j) => j < words.length && words[j - 1][1] === words[j][0];
  for (let i = 0; i < words.length; i++) {
    seen.add(words[i][2]);
    if (!follows(i + 1)) continue;
    let run = words[i][2];
    for (let j = i + 1; follows(j) && run.length < 2 * maxChars; j++) run += words[j][2];
    seen.add(run.length <= maxChars ? run : Array.from(run).slice(0, maxChars).join(""));
  }
  return Array.from(seen);
}

/** The searched strings of `value` (a parsed message), joined by newlines. */
function messageText(value, unsearched) {
  const parts = [];
  const walk = (v) => {
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      // In key order, as serde_json's map keeps them: the first occurrences agree with Rust's.
      for (const k of Object.keys(v).sort()) if (!unsearched.has(k)) walk(v[k]);
    }
  };
  walk(value);
  return parts.join("\n");
}

/** A searcher for the given limits: the keys and text of JSON-encoded messages. */
export class Searcher {
  constructor(unsearchedKeys, maxChars) {
    this.unsearched = new Set(unsearchedKeys);
    this.maxChars = maxChars;
  }

  /** The searched text of message `offset` of a chunk (a JSON array text). */
  textAt(chunkJson, offset) {
    return messageText(JSON.parse(chunkJson)[offset], this.unsearched);
  }

  /** The word keys of the message whose JSON text is `json`. */
  messageKeys(json) {
    return keys(messageText(JSON.parse(json), this.unsearched), this.maxChars);
  }

  /** The word keys of each message of a chunk (a JSON array text), in order. */
  chunkKeys(json) {
    return JSON.parse(json).map((m) => keys(messageText(m, this.unsearched), this.maxChars));
  }
}
