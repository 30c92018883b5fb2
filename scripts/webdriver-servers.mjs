// What starting a W3C WebDriver server needs, shared by scripts/webkit-webdriver.mjs (for
// wasm-bindgen's test runner) and tests/support/webdriver.mjs (for the JS tests): a free port, a
// wait until the server listens on it, and the capabilities of a WebKitGTK session.
import net from "node:net";

/** WebKitGTK's MiniBrowser (or $WEBKIT_BROWSER) in automation mode: what a WebKitWebDriver session needs. */
export const WEBKIT_CAPABILITIES = {
  browserName: "MiniBrowser",
  "webkitgtk:browserOptions": {
    binary: process.env.WEBKIT_BROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    args: ["--automation"],
  },
};

/** A free TCP port of 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something listens on `port` of 127.0.0.1; `what` names it if it never does. */
export async function listening(port, what, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end(() => resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
