// Sessions as files a person keeps: an export (a Blob the store built) downloaded under a sensible
// name, and a report of what an import did. Nothing here touches the page until called.

const UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f]+/g;

/** A name the usual file systems accept: unsafe characters as "_", trimmed, at most 80 characters. */
export function safeFileName(text) {
  const cleaned = [...text.replace(UNSAFE, "_").trim()].slice(0, 80).join("").replace(/^\.+/, "");
  return cleaned.trim();
}

/** `sessions-YYYY-MM-DD.jsonl` (the local date) for everything, `<name or id>.jsonl` for one session. */
export function exportFileName(meta = null, now = new Date()) {
  if (!meta) {
    const pad = (n) => String(n).padStart(2, "0");
    return `sessions-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.jsonl`;
  }
  return `${safeFileName(meta.name ?? "") || safeFileName(meta.id) || "session"}.jsonl`;
}

/** Downloads `blob` as `filename`, through a link to an object URL that is revoked soon after. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download has long started by then
}

/** What an import did, in a line: "name.jsonl: 2 imported · 0 skipped · 1 forked · 0 replaced". */
export function describeImport(report, filename) {
  const counts = ["imported", "skipped", "forked", "replaced"].map((k) => `${report[k]} ${k}`);
  return `${filename}: ${counts.join(" · ")}`;
}
