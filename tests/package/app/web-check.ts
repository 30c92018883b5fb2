// The web entry's types refuse wrong calls (the check of examples/agent.ts alone could pass
// against types that accept anything).
import init, { SessionStore } from "idb-session-store";

export async function check(): Promise<void> {
  await init();
  const store = await SessionStore.open(null);
  // @ts-expect-error: turnIndex is a number
  await store.rewind("id", "2");
  // @ts-expect-error: tags are strings
  await store.tag("id", [1]);
  // @ts-expect-error: save needs every metadata field
  await store.save({ metadata: { id: "x" }, messages: [], state: null });
  store.close();
}
