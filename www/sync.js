// The Sync panel: the server's address and a token (kept in this origin's localStorage, as a
// playground may), "Sync now" for one round, "Keep syncing" for startSync(), and a status line:
// the last round's time and report, the changes still to push, or an error with its code.
// Pulled sessions reach the sidebar through watch(), like any other tab's writes.

const KEPT = "idb-session-store-playground-sync";
const EVERY_MS = 5_000;

/** Wires the panel in `root` to `store`. */
export function syncPanel(root, store) {
  const form = root.querySelector("#sync-form");
  const status = root.querySelector("#sync-status");
  const keep = root.querySelector("#sync-keep");
  const kept = JSON.parse(localStorage.getItem(KEPT) ?? "{}");
  form.url.value = kept.url ?? "http://127.0.0.1:8787";
  form.token.value = kept.token ?? "";
  let stop = null;
  let last = "Not synced yet.";

  const options = () => {
    const url = form.url.value.trim();
    const token = form.token.value.trim();
    localStorage.setItem(KEPT, JSON.stringify({ url, token }));
    return { url, token };
  };
  const show = async (text, failed = false) => {
    last = text;
    const pending = await store.pendingSync().catch(() => null);
    status.textContent = pending === null ? text : `${text} ${pending} change${pending === 1 ? "" : "s"} to push.`;
    status.classList.toggle("error-text", failed);
  };
  const report = ({ report, error, at = Date.now() }) => {
    const time = new Date(at).toLocaleTimeString();
    if (error) return show(`${time}: ${error.code ?? error.name}: ${error.message}.`, true);
    return show(`Synced at ${time}: ${report.pushed} pushed · ${report.pulled} pulled · ${report.conflicts} conflicts.`);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    status.dataset.state = "syncing"; // the tests wait for "done"
    status.textContent = "Syncing…";
    try {
      await report({ report: await store.sync(options()) });
    } catch (error) {
      await report({ error });
    } finally {
      form.querySelector("button").disabled = false;
      status.dataset.state = "done";
    }
  });
  keep.addEventListener("change", () => {
    stop?.();
    stop = null;
    if (!keep.checked) return show(last);
    try {
      stop = store.startSync({ ...options(), intervalMs: EVERY_MS, onRound: report });
      show("Syncing in this tab, or in another tab of this database.");
    } catch (error) {
      keep.checked = false;
      report({ error });
    }
  });
  // Writes here (and pulled ones) change what waits to be pushed.
  store.watch(() => show(last));
  show(last);
}
