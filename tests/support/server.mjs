// The real session-server for the sync tests: the debug binary (built by `make test-sync`) on
// $DATABASE_URL (the throwaway PostgreSQL of scripts/with-postgres.sh) or, without it, on SQLite
// in a temporary directory; listening on a free 127.0.0.1 port, allowing the test site's origin.
// In front of it, a proxy of our own that tests can arm to lose the answers of pushes (after
// the server committed them) or to count the bytes each request carried.
import { spawn, execFileSync } from "node:child_process";
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSite } from "./browser.mjs";

// The benchmark names the optimized build instead.
const BINARY = process.env.SESSION_SERVER_BIN ??
  fileURLToPath(new URL("../../target/debug/session-server", import.meta.url));

/** Where the server keeps its sessions: $DATABASE_URL, else SQLite in a temporary directory. */
function database() {
  if (process.env.DATABASE_URL) return { args: ["--database", process.env.DATABASE_URL], close() {} };
  const dir = mkdtempSync(join(tmpdir(), "sync-test-"));
  return { args: ["--data-dir", dir], close: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts `session-server serve` with `args`; resolves with the child and its http:// address. */
function serve(dbArgs, origin, listen = "127.0.0.1:0") {
  const child = spawn(BINARY, ["serve", "--listen", listen, "--allow-origin", origin, ...dbArgs], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (data) => {
      out += data;
      const found = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (found) resolve({ child, url: found[1] });
    });
    child.on("exit", (code) => reject(new Error(`session-server exited with ${code}: ${out}`)));
  });
}

/**
 * Starts the server for pages of `origin`, behind the proxy. Returns `{ url, token(owner), stop(),
 * restart(), losePushAnswers(on), requests, close() }`: `url` is the proxy's, which stays the
 * same across restarts; `requests` lists `{ method, path, bytes, status }` of every request.
 */
export async function startServer(origin) {
  const db = database();
  let server = await serve(db.args, origin);
  let losePushes = false;
  const requests = [];
  const proxy = http.createServer((req, res) => {
    const body = [];
    req.on("data", (chunk) => body.push(chunk));
    req.on("end", () => {
      const data = Buffer.concat(body);
      const entry = { method: req.method, path: req.url, bytes: data.length, status: null };
      requests.push(entry);
      if (!server) {
        req.socket.destroy();
        return;
      }
      const target = new URL(req.url, server.url);
      const forward = http.request(target, { method: req.method, headers: req.headers }, (answer) => {
        const parts = [];
        answer.on("data", (chunk) => parts.push(chunk));
        answer.on("end", () => {
          entry.status = answer.statusCode;
          if (losePushes && req.method === "POST" && req.url.startsWith("/v1/sync/push")) {
            // The server committed the push; its answer never reaches the browser.
            entry.lost = true;
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      forward.on("error", () => req.socket.destroy());
      forward.end(data);
    });
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const stop = async () => {
    if (!server) return;
    const { child } = server;
    server = null;
    child.removeAllListeners("exit");
    await new Promise((resolve) => {
      child.on("exit", resolve);
      child.kill("SIGKILL");
    });
  };
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    requests,
    /** A fresh token for `owner`, minted by the server's CLI. */
    token(owner) {
      const out = execFileSync(BINARY, ["token", "create", "--owner", owner, ...db.args]).toString();
      return out.trim().split("\n").pop().trim();
    },
    /** Kills the server (SIGKILL: no goodbye); the proxy then drops every connection. */
    stop,
    /** Starts the server again on the same database. */
    async restart() {
      await stop();
      server = await serve(db.args, origin);
    },
    /** While `on`, the answer of every push is lost after the server gave it. */
    losePushAnswers(on) {
      losePushes = on;
    },
    async close() {
      await stop();
      await new Promise((resolve) => proxy.close(resolve));
      db.close();
    },
  };
}

/**
 * For a test file: starts the test site and the server behind it before its tests and stops
 * both after them. Returns the object whose `site` and `server` they are meanwhile.
 */
export function syncSite() {
  const it = { site: null, server: null };
  before(async () => {
    it.site = await startSite();
    it.server = await startServer(it.site.base);
  });
  after(async () => {
    await it.server?.close();
    await it.site?.close();
  });
  return it;
}
