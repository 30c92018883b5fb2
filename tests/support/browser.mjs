// What the JS tests (and the benchmark) share: a headless browser of the engine TEST_BROWSER names
// (`chromium`, the default, through Playwright: Debian's /usr/bin/chromium or $CHROMIUM, no
// sandbox as root, no background network traffic; `firefox` or `webkit` over WebDriver, see
// webdriver.mjs), the repository served on a free 127.0.0.1 port, pages that fail their test on
// any uncaught error, and one way to run code in a page.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";
import * as webdriver from "./webdriver.mjs";

/** The engine the tests run in: chromium, firefox or webkit. */
export const ENGINE = process.env.TEST_BROWSER ?? "chromium";
if (!["chromium", "firefox", "webkit"].includes(ENGINE)) throw new Error(`TEST_BROWSER=${ENGINE}: chromium, firefox or webkit`);

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
  if (ENGINE !== "chromium") return startWebDriverSite(server, page);
  const browser = await launchBrowser(args);
  const site = {
    base: `http://127.0.0.1:${server.address().port}`,
    browser,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
    newContext: (options) => browser.newContext(options),
    version: () => `chromium ${browser.version()}`,
  };
  return withTabs(site, page);
}

/**
 * Adds to `site` `tab(context)`, which opens `page` in `context` and waits until it is ready, and
 * `tabs(n)`, which opens n of them in a fresh context.
 */
function withTabs(site, page) {
  site.tab = (context) => openPage(site, page, { context, ready: true });
  site.tabs = async (n) => {
    const context = await site.newContext();
    const pages = [];
    for (let i = 0; i < n; i++) pages.push(await site.tab(context));
    return { context, pages };
  };
  return site;
}

/** What Firefox and WebKit pages get first: the recorder of uncaught errors and dialogs. */
const PAGE_HOOKS = `<script>${readFileSync(new URL("./page-hooks.js", import.meta.url), "utf8")}</script>`;

/**
 * The site for Firefox or WebKit: each context a WebDriver session (webdriver.mjs), every HTML
 * page served with PAGE_HOOKS in front, since WebDriver reports neither uncaught errors nor dialogs.
 */
function startWebDriverSite(server, page) {
  server.prependListener("request", (_req, res) => {
    const end = res.end;
    res.end = function (body, ...rest) {
      if (Buffer.isBuffer(body) && /^<!doctype html>/i.test(body.subarray(0, 15).toString())) {
        body = Buffer.concat([body.subarray(0, 15), Buffer.from(PAGE_HOOKS), body.subarray(15)]);
      }
      return end.call(this, body, ...rest);
    };
  });
  const contexts = new Set();
  // Sessions without prefs that a test has closed, reset (Context.reset) for the next test to
  // reuse: a new one costs Firefox about 2.5 s (start and quit) and WebKit about 0.8 s.
  const idle = [];
  let defaultContext = null;
  const site = {
    base: `http://127.0.0.1:${server.address().port}`,
    engine: ENGINE,
    async close() {
      await Promise.all([...contexts].map((c) => c.quit()));
      await new Promise((done) => server.close(done));
    },
    /** A new context; `prefs` (Firefox) are added to its profile's preferences. */
    async newContext({ prefs } = {}) {
      const reusable = !prefs;
      let context = reusable ? idle.pop() : undefined;
      if (!context) {
        context = await webdriver.newContext(ENGINE, { prefs });
        contexts.add(context);
        const quit = context.close.bind(context);
        context.quit = () => (contexts.delete(context), quit());
      }
      context.close = async () => {
        if (idle.includes(context) || !contexts.has(context)) return; // closed already
        if (reusable && (await context.reset(site.base))) idle.push(context);
        else await context.quit();
      };
      return context;
    },
    async defaultContext() {
      defaultContext ??= site.newContext();
      return defaultContext;
    },
    async version() {
      return webdriver.engineVersion(await site.defaultContext());
    },
  };
  return withTabs(site, page);
}

/**
 * Opens `path` in a new page (of `context`, else of the browser's default one) whose uncaught
 * errors are kept in `page.uncaughtErrors` and dialogs (dismissed) in `page.dialogs`; with
 * `ready`, waits until its title is "ready".
 */
export async function openPage(site, path, { context = null, ready = false } = {}) {
  if (ENGINE !== "chromium") {
    const page = await (context ?? (await site.defaultContext())).newPage();
    await page.goto(site.base + path);
    if (ready) await page.waitForFunction(() => document.title === "ready");
    return page;
  }
  const page = await (context ?? site.browser).newPage();
  const errors = [];
  const dialogs = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.goto(site.base + path);
  if (ready) await page.waitForFunction(() => document.title === "ready");
  page.uncaughtErrors = errors;
  page.dialogs = dialogs;
  return page;
}

/**
 * Runs `fn(window.lib, window.raw, ...args)` in `page` and resolves with what it returns. `fn`
 * must be self-contained: it is sent as source, so it sees only the page and its arguments.
 */
export function run(page, fn, ...args) {
  if (ENGINE !== "chromium") {
    return page.call(`(...args) => (${fn})(window.lib, window.raw, ...args)`, args);
  }
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
