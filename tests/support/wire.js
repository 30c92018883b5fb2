// Values between node and a page driven over WebDriver, which carries plain JSON only: these two
// functions keep what Playwright's evaluate keeps (undefined, NaN, ±Infinity, -0, BigInt, Date,
// Error) and drop what it drops (an own `__proto__` key), so that the tests and what they recorded
// through Playwright (tests/fixtures/v1-database.json) mean the same in every engine.
// Self-contained: their source is also sent into the page.

/** A JSON text for `value`, special values tagged. */
export function encode(value) {
  const walk = (v) => {
    if (v === undefined) return { $: "undefined" };
    if (typeof v === "number") {
      if (Number.isNaN(v)) return { $: "NaN" };
      if (v === Infinity) return { $: "Infinity" };
      if (v === -Infinity) return { $: "-Infinity" };
      if (Object.is(v, -0)) return { $: "-0" };
      return v;
    }
    if (typeof v === "bigint") return { $: "bigint", v: String(v) };
    if (v === null || typeof v !== "object") return v;
    if (v instanceof Date) return { $: "date", v: v.toISOString() };
    if (v instanceof Error) return { $: "error", name: v.name, message: v.message, stack: v.stack };
    if (Array.isArray(v)) return v.map(walk);
    const o = {};
    for (const k of Object.keys(v)) if (k !== "__proto__") o[k] = walk(v[k]);
    return { $: "object", v: o };
  };
  return JSON.stringify(walk(value));
}

/** The value `encode` made `text` from. */
export function decode(text) {
  const walk = (v) => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(walk);
    switch (v.$) {
      case "undefined": return undefined;
      case "NaN": return NaN;
      case "Infinity": return Infinity;
      case "-Infinity": return -Infinity;
      case "-0": return -0;
      case "bigint": return BigInt(v.v);
      case "date": return new Date(v.v);
      case "error": return Object.assign(new Error(v.message), { name: v.name, stack: v.stack });
      default: {
        const o = {};
        for (const k of Object.keys(v.v)) o[k] = walk(v.v[k]);
        return o;
      }
    }
  };
  return walk(JSON.parse(text));
}
