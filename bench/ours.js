// This crate's JS facade (SessionStore), as the benchmark drives it. `append` is its own operation.
import init, { SessionStore } from "/pkg/idb_session_store.js";

const wasmReady = init();

export async function open(name) {
  await wasmReady;
  const store = await SessionStore.open(name);
  return {
    save: (s) => store.save(s),
    resume: (id) => store.resume(id),
    append: (s, messages, tokens) => store.append(s.metadata.id, messages, { tokens }),
    list: () => store.list(),
    page: (limit) => store.list({ limit }),
    fork: (id) => store.fork(id),
    rewind: (id, n) => store.rewind(id, n),
    close: () => store.close(),
  };
}

