// Hand-written IndexedDB with the same two stores as the Dexie version: the floor.
import { reputting } from "./reput.js";

const now = () => Date.now();

const done = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
const committed = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });

export async function open(name) {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore("sessions", { keyPath: "id" }).createIndex("updatedAt", "updatedAt");
    db.createObjectStore("bodies", { keyPath: "id" });
  };
  const db = await done(open);
  const save = async (s) => {
    const t = now();
    const m = { ...s.metadata, updatedAt: t, createdAt: s.metadata.createdAt || t };
    const tx = db.transaction(["sessions", "bodies"], "readwrite");
    tx.objectStore("sessions").put(m);
    tx.objectStore("bodies").put({ id: m.id, messages: s.messages, state: s.state });
    await committed(tx);
    return m;
  };
  const read = async (tx, id) => {
    const [m, body] = await Promise.all([
      done(tx.objectStore("sessions").get(id)),
      done(tx.objectStore("bodies").get(id)),
    ]);
    return [m, body];
  };
  return {
    save,
    resume: async (id) => {
      const [m, body] = await read(db.transaction(["sessions", "bodies"]), id);
      return { metadata: m, messages: body.messages, state: body.state };
    },
    ...reputting(save),
    list: async () => (await done(db.transaction("sessions").objectStore("sessions").index("updatedAt").getAll())).reverse(),
    page: (limit) =>
      new Promise((resolve, reject) => {
        const out = [];
        const req = db.transaction("sessions").objectStore("sessions").index("updatedAt").openCursor(null, "prev");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const c = req.result;
          if (!c || out.length === limit) return resolve(out);
          out.push(c.value);
          c.continue();
        };
      }),
    fork: async (id) => {
      const tx = db.transaction(["sessions", "bodies"], "readwrite");
      const [m, body] = await read(tx, id);
      const t = now();
      const copy = { ...m, id: crypto.randomUUID(), name: `${m.name} (fork)`, createdAt: t, updatedAt: t };
      tx.objectStore("sessions").put(copy);
      tx.objectStore("bodies").put({ ...body, id: copy.id });
      await committed(tx);
      return copy;
    },
    rewind: async (id, n) => {
      const tx = db.transaction(["sessions", "bodies"], "readwrite");
      const [m, body] = await read(tx, id);
      body.messages = body.messages.slice(0, n);
      const updated = { ...m, turnCount: body.messages.length, updatedAt: now() };
      tx.objectStore("sessions").put(updated);
      tx.objectStore("bodies").put(body);
      await committed(tx);
      return { metadata: updated, messages: body.messages, state: body.state };
    },
    close: () => db.close(),
  };
}

