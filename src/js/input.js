// Strict encoding of values handed in from JS. JSON.stringify alone would silently drop or change
// what JSON cannot hold (functions, symbols, undefined in arrays and array holes, NaN, Infinity,
// -0, Dates, Maps, class instances, objects with toJSON); here each of those is refused, naming
// where it was found.
// Cycles, BigInts and throwing getters make JSON.stringify throw, which is refused the same way.

function problem(value) {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      if (!Number.isFinite(value)) return `${value}, which JSON cannot hold`;
      return Object.is(value, -0) ? "-0, which JSON cannot hold" : null;
    case "object": {
      if (value === null) return null;
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value) ? proto === Array.prototype : proto === Object.prototype || proto === null) {
        return null;
      }
      const name = value.constructor && value.constructor.name;
      return `${name ? `a ${name}` : "an object with a custom prototype"}; only plain objects and arrays can be stored`;
    }
    case "bigint":
      return "a BigInt, which JSON cannot hold";
    default:
      return `${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot hold`;
  }
}

/** Path from `root` to the object `target`, like `messages[3].content`, or null. */
function pathTo(root, target, path = "", seen = new Set()) {
  if (root === target) return path;
  if (root === null || typeof root !== "object" || seen.has(root)) return null;
  seen.add(root);
  for (const key of Object.keys(root)) {
    let child;
    try {
      child = root[key];
    } catch {
      continue;
    }
    const step = Array.isArray(root) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    const found = pathTo(child, target, step, seen);
    if (found !== null) return found;
  }
  return null;
}

function invalid(message) {
  const error = new Error(message);
  error.name = "InvalidInput";
  return error;
}

/**
 * JSON text of `value`, or an `InvalidInput` error naming (as `what`, then the path) the first
 * value JSON would not keep exactly. Object properties whose value is undefined are omitted, as
 * an absent optional property; everywhere else undefined is refused.
 */
export function encodeJson(value, what) {
  let bad = null;
  const check = function (key, encoded) {
    const raw = this[key];
    const holderIsArray = Array.isArray(this);
    if (raw === undefined && !holderIsArray && key !== "") return undefined;
    let why = problem(raw);
    if (why === null && raw !== encoded && typeof raw === "object" && raw !== null) {
      why = "an object with a toJSON method, which JSON would replace by what it returns";
    }
    if (why !== null) {
      bad = { holder: this, key: holderIsArray ? `[${key}]` : key, why };
      throw bad;
    }
    return encoded;
  };
  try {
    return JSON.stringify(value, check);
  } catch (e) {
    if (e === bad) {
      const base = bad.holder && pathTo(value, bad.holder);
      const where =
        bad.key === "" ? what : base === null ? `${what} (at ${bad.key})` :
        `${what}${base ? (base.startsWith("[") ? base : `.${base}`) : ""}${bad.key.startsWith("[") ? bad.key : `.${bad.key}`}`;
      throw invalid(`${where} is ${bad.why}`);
    }
    throw invalid(`${what} cannot be stored: ${e && e.message ? e.message : String(e)}`);
  }
}

/** Whether `value` is a string without lone surrogates (which Rust strings cannot hold). */
export function isWellFormedString(value) {
  if (typeof value !== "string") return false;
  if (typeof value.isWellFormed === "function") return value.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/.test(value);
}

/** Whether `value` is an object and not an array; false, not a throw, for a revoked Proxy. */
export function isRecord(value) {
  try {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * A plain copy of the array `value`, or null if it is not one. Throws what reading it throws
 * (a revoked Proxy, a length trap, an index getter), for the caller to refuse.
 */
export function copyArray(value) {
  return Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => value[i]) : null;
}
