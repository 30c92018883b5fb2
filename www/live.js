// Live updates: every write committed to the database (from this tab, another tab or a worker)
// reaches `redraw`, coalesced so that changes arriving during a redraw make one more redraw, not
// one each, and held while an action runs (the action redraws itself; `flush()` runs after it).

/**
 * Watches `store`. `busy()` says whether an action is running; `redraw(changes)` draws what
 * changed, each change marked `duringAction` if an action's own redraw may already show it (this
 * tab's writes are always heard during their action: the store tells its own watchers before the
 * write resolves). `redraw` resolves with false if an action started meanwhile and it drew
 * nothing; its changes then wait for the action to end. Returns `{ flush, stop }`: flush()
 * redraws what is pending unless an action runs, stop() stops watching.
 */
export function follow(store, { busy, redraw }) {
  let pending = [];
  let running = false;

  async function drain() {
    while (pending.length && !busy()) {
      const changes = pending;
      pending = [];
      const drew = await redraw(changes).catch((e) => reportError(e)); // redraw shows its own failures
      if (drew === false) pending.unshift(...changes.map((change) => ({ ...change, duringAction: true })));
    }
  }

  function flush() {
    if (running || busy() || !pending.length) return;
    running = true;
    drain().finally(() => {
      running = false;
      flush(); // what arrived as the last redraw ended
    });
  }

  const stop = store.watch((changes) => {
    const duringAction = busy();
    pending.push(...changes.map((change) => ({ ...change, duringAction })));
    flush();
  });

  return { flush, stop };
}

/** The fields of two metadata objects agree: the session is drawn as the change left it. */
export function sameMetadata(a, b) {
  return !!a && !!b && a.id === b.id && (a.name ?? null) === (b.name ?? null) &&
    a.agentName === b.agentName && a.createdAt === b.createdAt && a.updatedAt === b.updatedAt &&
    a.turnCount === b.turnCount && a.totalTokens === b.totalTokens &&
    a.tags.length === b.tags.length && a.tags.every((t, i) => t === b.tags[i]);
}
