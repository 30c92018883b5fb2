// Headless Chromium for the page tests, started the way this machine allows: Debian's
// /usr/bin/chromium (or $CHROMIUM), no sandbox as root, no background network traffic.
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Serves the repository on a free 127.0.0.1 port and starts Chromium. Returns `{ base, browser,
 * close }`; `base` is the server's origin.
 */
export async function startSite() {
  const server = await serve({ port: 0 });
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchBrowser();
  return {
    base,
    browser,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
  };
}

/** Opens `path` in a new page that fails the test on any uncaught page error. */
export async function openPage(site, path) {
  const page = await site.browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(site.base + path);
  page.uncaughtErrors = errors;
  return page;
}
