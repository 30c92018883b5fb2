// The bundler entry's types: the same API, no init().
import { SessionStore, type Session, type SessionError, type SessionMetadata } from "idb-session-store/bundler";

export async function check(): Promise<number> {
  const store: SessionStore = await SessionStore.open("app");
  const session: Session = {
    metadata: { id: "1", name: null, tags: [], agentName: "a", createdAt: 0, updatedAt: 0, turnCount: 0, totalTokens: 0 },
    messages: [],
    state: null,
  };
  const meta: SessionMetadata = await store.save(session);
  try {
    await store.rewind(meta.id, 0);
  } catch (e) {
    const code: SessionError["code"] = (e as SessionError).code;
    void code;
  }
  // @ts-expect-error: ids are strings
  await store.delete(1);
  store.close();
  return (await store.list()).length;
}
