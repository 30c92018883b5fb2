// What the JS tests (and the benchmark) share: headless Chromium started the way this machine
// allows (Debian's /usr/bin/chromium or $CHROMIUM, no sandbox as root, no background network
// traffic), the repository served on a free 127.0.0.1 port, pages that fail their test on any
// uncaught error, and one way to run code in a page.
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
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

/** The built package in a page, as `window.lib`, with raw IndexedDB helpers as `window.raw`. */
export const TEST_PAGE = "/tests/support/page.html";

/** Starts headless Chromium, with `args` added to the usual flags. */
export function launchBrowser(args = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * Serves the repository (answering cross-origin loads too if `cors`, for pages with an opaque
 * origin) and starts Chromium (with `args` added). Returns `{ base, browser, close, newContext,
 * tab, tabs }`: `tab(context)` opens `page` in `context` and waits until it is ready, `tabs(n)`
 * opens n of them in a fresh context, so they share IndexedDB like the tabs of one profile.
 */
export async function startSite({ args = [], cors = false, page = TEST_PAGE } = {}) {
  const server = await serve({ port: 0 });
  if (cors) server.prependListener("request", (_req, res) => res.setHeader("access-control-allow-origin", "*"));
  const browser = await launchBrowser(args);
  const site = {
    base: `http://127.0.0.1:${server.address().port}`,
    browser,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
    newContext: () => browser.newContext(),
    tab: (context) => openPage(site, page, { context, ready: true }),
    async tabs(n) {
      const context = await site.newContext();
      const pages = [];
      for (let i = 0; i < n; i++) pages.push(await site.tab(context));
      return { context, pages };
    },
  };
  return site;
}

/**
 * Opens `path` in a new page (of `context`, else of the browser's default one) whose uncaught
 * errors are kept in `page.uncaughtErrors`; with `ready`, waits until its title is "ready".
 */
export async function openPage(site, path, { context = null, ready = false } = {}) {
  const page = await (context ?? site.browser).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(site.base + path);
  if (ready) await page.waitForFunction(() => document.title === "ready");
  page.uncaughtErrors = errors;
  return page;
}

/**
 * Runs `fn(window.lib, window.raw, ...args)` in `page` and resolves with what it returns. `fn`
 * must be self-contained: it is sent as source, so it sees only the page and its arguments.
 */
export function run(page, fn, ...args) {
  return page.evaluate(
    async ([source, args]) => {
      const fn = (0, eval)(`(${source})`);
      return fn(window.lib, window.raw, ...args);
    },
    [fn.toString(), args],
  );
}

let count = 0;
/** A database name no other test uses. */
export function uniqueDb(label) {
  return `test-${label}-${process.pid}-${Date.now()}-${++count}`;
}
