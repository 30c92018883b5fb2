// This crate's JS facade (SessionStore), as the benchmark drives it. `append` is its own operation.
// `adapter(url)` drives the package at `url`: pkg/ here, an earlier build in before.js.
export function adapter(url) {
  let loaded = null; // loaded by the first open, so that importing this file loads nothing
  return async function open(name, options) {
    loaded ??= import(url).then(async (lib) => {
      await lib.default();
      return lib;
    });
    const { SessionStore } = await loaded;
    const store = await SessionStore.open(name, options); // an earlier build ignores options
    // An earlier build (the "before" column) may lack the newer operations: those rows skip it.
    const has = (method) => typeof store[method] === "function";
    return {
      save: (s) => store.save(s),
      resume: (id) => store.resume(id),
      append: (s, messages, tokens, state) =>
        store.append(s.metadata.id, messages, state === undefined ? { tokens } : { tokens, state }),
      replaceLast: has("replaceLast") ? (s, message, tokens) => store.replaceLast(s.metadata.id, message, { tokens }) : null,
      export: has("export") ? () => store.export() : null,
      import: has("import") ? (file) => store.import(file) : null,
      list: () => store.list(),
      page: (limit) => store.list({ limit }),
      fork: (id) => store.fork(id),
      rewind: (id, n) => store.rewind(id, n),
      close: () => store.close(),
    };
  };
}

export const open = adapter("/pkg/idb_session_store.js");
