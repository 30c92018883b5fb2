// The stores the benchmark compares, behind one interface, each doing the same job: sessions
// whose metadata lists newest first without loading messages, and a body (messages and state)
// loaded on resume. `ours` is this crate, `before` an earlier build of it (only loaded when asked
// for); `dexie` and `raw` are in dexie.js and raw.js.
import { open as ours } from "./ours.js";
import { open as dexie } from "./dexie.js";
import { open as raw } from "./raw.js";

const before = async (name, options) => (await import("./before.js")).open(name, options);

export const STORES = { ours, before, dexie, raw };
