// What keeps a database syncing (see running.rs): Web Locks, so that one round runs at a time
// across the tabs and workers of an origin and one tab keeps syncing while the others wait to
// take over; and the wait between rounds, cut short by a write or by stop.

/**
 * Requests the Web Lock `name`, resolving with the function that releases it once held, or with
 * null if `signal` aborts first. Where there are no Web Locks it resolves at once (nothing to
 * exclude: the context is alone, or cannot share the database with anything that locks).
 */
export function acquire(name, signal) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks) return Promise.resolve(() => {});
  if (signal && signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const options = signal ? { signal } : {};
    locks
      .request(name, options, () => new Promise((release) => resolve(release)))
      .catch((e) => (e && e.name === "AbortError" ? resolve(null) : reject(e)));
  });
}

/** The wait between the rounds of one `startSync`, and how it stops. */
export class Pacer {
  constructor() {
    this.controller = new AbortController();
    this.woken = false;
    this.wakeNow = null;
  }

  get signal() {
    return this.controller.signal;
  }

  get stopped() {
    return this.controller.signal.aborted;
  }

  /** Resolves after `ms`, or `soonMs` after a write (at once if one came since the last wait), or at stop. */
  wait(ms, soonMs) {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer;
      const done = () => {
        clearTimeout(timer);
        this.wakeNow = null;
        this.controller.signal.removeEventListener("abort", done);
        resolve();
      };
      this.controller.signal.addEventListener("abort", done);
      const soon = () => {
        clearTimeout(timer);
        timer = setTimeout(done, soonMs);
      };
      if (this.woken) {
        this.woken = false;
        soon();
        return;
      }
      timer = setTimeout(done, ms);
      this.wakeNow = () => {
        this.wakeNow = null;
        soon();
      };
    });
  }

  /** A write was committed: the next round comes soon. */
  wake() {
    if (this.wakeNow) this.wakeNow();
    else this.woken = true;
  }

  stop() {
    this.controller.abort();
  }
}
