// Dexie 4 as its docs recommend: a table per entity (metadata, bodies), `orderBy` on an indexed
// field, `transaction('rw', ...)` for writes that span tables. Dexie has no append: an agent
// re-puts the whole session each turn.
import Dexie from "/node_modules/dexie/dist/dexie.mjs";
import { reputting } from "./reput.js";

const now = () => Date.now();

export async function open(name) {
  const db = new Dexie(name);
  db.version(1).stores({ sessions: "id, updatedAt", bodies: "id" });
  await db.open();
  const put = (m, body) =>
    db.transaction("rw", db.sessions, db.bodies, async () => {
      await db.sessions.put(m);
      await db.bodies.put(body);
    });
  const save = async (s) => {
    const t = now();
    const m = { ...s.metadata, updatedAt: t, createdAt: s.metadata.createdAt || t };
    await put(m, { id: m.id, messages: s.messages, state: s.state });
    return m;
  };
  return {
    save,
    resume: (id) =>
      db.transaction("r", db.sessions, db.bodies, async () => {
        const [m, body] = await Promise.all([db.sessions.get(id), db.bodies.get(id)]);
        return { metadata: m, messages: body.messages, state: body.state };
      }),
    ...reputting(save),
    list: () => db.sessions.orderBy("updatedAt").reverse().toArray(),
    page: (limit) => db.sessions.orderBy("updatedAt").reverse().limit(limit).toArray(),
    fork: (id) =>
      db.transaction("rw", db.sessions, db.bodies, async () => {
        const [m, body] = await Promise.all([db.sessions.get(id), db.bodies.get(id)]);
        const t = now();
        const copy = { ...m, id: crypto.randomUUID(), name: `${m.name} (fork)`, createdAt: t, updatedAt: t };
        await db.sessions.put(copy);
        await db.bodies.put({ ...body, id: copy.id });
        return copy;
      }),
    rewind: (id, n) =>
      db.transaction("rw", db.sessions, db.bodies, async () => {
        const [m, body] = await Promise.all([db.sessions.get(id), db.bodies.get(id)]);
        body.messages = body.messages.slice(0, n);
        const updated = { ...m, turnCount: body.messages.length, updatedAt: now() };
        await db.sessions.put(updated);
        await db.bodies.put(body);
        return { metadata: updated, messages: body.messages, state: body.state };
      }),
    close: () => db.close(),
  };
}

