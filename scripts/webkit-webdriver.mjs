// Runs a command with WebKit (WebKitGTK's MiniBrowser, the engine Safari is built on) behind a
// W3C WebDriver server: `node scripts/webkit-webdriver.mjs -- CMD ARGS...` under `xvfb-run -a`.
//
// It starts WebKitWebDriver on a free port of 127.0.0.1 and, in front of it, a small proxy that
// adds to every new session the capabilities WebKitGTK needs (the MiniBrowser binary, in
// automation mode), since wasm-bindgen's test runner sends Safari none. The command gets the
// proxy's address as SAFARIDRIVER_REMOTE (what wasm-bindgen-test-runner reads) and as
// WEBKIT_WEBDRIVER (for the JS tests); both servers stop when it exits, whose status this exits with.
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";

const BINARY = process.env.WEBKIT_BROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const CAPABILITIES = {
  browserName: "MiniBrowser",
  "webkitgtk:browserOptions": { binary: BINARY, args: ["--automation"] },
};

const command = process.argv.slice(process.argv.indexOf("--") + 1);
if (command.length === 0) {
  console.error("usage: node scripts/webkit-webdriver.mjs -- COMMAND [ARGS...]");
  process.exit(2);
}

/** A free TCP port of 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something listens on `port`. */
async function listening(port, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end(() => resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`WebKitWebDriver did not listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The body of a new-session request with WebKitGTK's capabilities merged into it. */
function withCapabilities(body) {
  let request;
  try {
    request = JSON.parse(body || "{}");
  } catch {
    return body;
  }
  const capabilities = (request.capabilities ??= {});
  capabilities.alwaysMatch = { ...capabilities.alwaysMatch, ...CAPABILITIES };
  delete request.desiredCapabilities; // the legacy form: WebKitWebDriver speaks W3C only
  return JSON.stringify(request);
}

const driverPort = await freePort();
const driver = spawn("WebKitWebDriver", [`--port=${driverPort}`, "--host=127.0.0.1"], { stdio: "inherit" });
await listening(driverPort);

const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks).toString("utf8");
    if (req.method === "POST" && /^\/session\/?$/.test(req.url)) body = withCapabilities(body);
    const headers = { ...req.headers, "content-length": Buffer.byteLength(body) };
    const upstream = http.request({ host: "127.0.0.1", port: driverPort, path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on("error", (e) => {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ value: { error: "unknown error", message: String(e) } }));
    });
    upstream.end(body);
  });
});
await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const address = `http://127.0.0.1:${proxy.address().port}`;

const child = spawn(command[0], command.slice(1), {
  stdio: "inherit",
  env: { ...process.env, SAFARIDRIVER_REMOTE: address, WEBKIT_WEBDRIVER: address },
});
const status = await new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
proxy.close();
driver.kill();
process.exit(status);
