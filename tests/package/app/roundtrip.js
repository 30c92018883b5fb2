// The round trip each app runs against the installed package, whatever loaded it: every method
// once, a SessionError, and what the store gave back, for the test to check.
export async function roundTrip(SessionStore, dbName) {
  const store = await SessionStore.open(dbName);
  const id = crypto.randomUUID();
  const saved = await store.save({
    metadata: { id, name: "roundtrip", tags: ["pkg"], agentName: "agent", createdAt: 0, updatedAt: 0,
      turnCount: 3, totalTokens: 42 },
    messages: [
      { role: "user", content: "one" },
      { role: "assistant", content: "two" },
      { role: "user", content: "three <b>" },
    ],
    state: { step: 3 },
  });
  const listed = await store.list();
  const resumed = await store.resume(id);
  const fork = await store.fork(id, "branch");
  const rewound = await store.rewind(id, 1);
  await store.tag(fork.id, ["forked", "pkg"]);
  await store.rename(fork.id, "branch-renamed");
  const forkBack = await store.resume(fork.id);
  await store.delete(fork.id);
  let error;
  try {
    await store.resume(fork.id);
  } catch (e) {
    error = { name: e.name, code: e.code, message: e.message, isError: e instanceof Error };
  }
  const listedAfter = await store.list();
  store.close();
  return { id, saved, listed, resumed, fork, rewound, forkBack, error, listedAfter };
}

/** Runs `work` and leaves its outcome on window (and the title) for the test to read. */
export function report(work) {
  work.then(
    (result) => {
      window.result = result;
      document.title = "done";
    },
    (e) => {
      window.failure = `${e?.name} ${e?.code ?? ""}: ${e?.message}\n${e?.stack ?? ""}`;
      document.title = "failed";
    },
  );
}
