// Runs a command with WebKit (WebKitGTK's MiniBrowser, the engine Safari is built on) behind a
// W3C WebDriver server: `node scripts/webkit-webdriver.mjs -- CMD ARGS...` under `xvfb-run -a`.
//
// It starts WebKitWebDriver on a free port of 127.0.0.1 and, in front of it, a small proxy that
// adds to every new session the capabilities WebKitGTK needs (the MiniBrowser binary, in
// automation mode), since wasm-bindgen's test runner sends Safari none. The command gets the
// proxy's address as SAFARIDRIVER_REMOTE (what wasm-bindgen-test-runner reads); both servers stop
// when it exits, whose status this exits with. (The JS tests start their own: tests/support/webdriver.mjs.)
import { spawn } from "node:child_process";
import http from "node:http";
import { freePort, listening, WEBKIT_CAPABILITIES } from "./webdriver-servers.mjs";

const command = process.argv.slice(process.argv.indexOf("--") + 1);
if (command.length === 0) {
  console.error("usage: node scripts/webkit-webdriver.mjs -- COMMAND [ARGS...]");
  process.exit(2);
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
  capabilities.alwaysMatch = { ...capabilities.alwaysMatch, ...WEBKIT_CAPABILITIES };
  delete request.desiredCapabilities; // the legacy form: WebKitWebDriver speaks W3C only
  return JSON.stringify(request);
}

const driverPort = await freePort();
const driver = spawn("WebKitWebDriver", [`--port=${driverPort}`, "--host=127.0.0.1"], { stdio: "inherit" });
await listening(driverPort, "WebKitWebDriver");

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
  env: { ...process.env, SAFARIDRIVER_REMOTE: address },
});
const status = await new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
proxy.close();
driver.kill();
process.exit(status);
