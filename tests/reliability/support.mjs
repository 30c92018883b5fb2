// Shared set-up for the reliability tests: one served origin and Chromium per test file, pages
// that share one browser context (so they share IndexedDB, like tabs), and in-page calls.
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../support/browser.mjs";
import { serve } from "../../scripts/serve.mjs";

export const PAGE = "/tests/reliability/page.html";

/**
 * Serves the repository (answering cross-origin loads too if `cors`) and starts Chromium (with
 * `args` added to the usual ones); returns
 * `{ base, browser, close, newContext, tab, tabs }`, where `tabs(n)` opens n pages in a fresh
 * shared context.
 */
export async function startOrigin({ args = [], cors = false } = {}) {
  const server = await serve({ port: 0 });
  // For pages with an opaque origin (sandboxed frames), whose every load is cross-origin.
  if (cors) server.prependListener("request", (_req, res) => res.setHeader("access-control-allow-origin", "*"));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args] });
  const site = {
    base: `http://127.0.0.1:${server.address().port}`,
    browser,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
  };
  site.newContext = () => site.browser.newContext();
  site.tab = async (context) => {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    await page.goto(site.base + PAGE);
    await page.waitForFunction(() => document.title === "ready");
    page.uncaughtErrors = errors;
    return page;
  };
  site.tabs = async (n) => {
    const context = await site.newContext();
    const pages = [];
    for (let i = 0; i < n; i++) pages.push(await site.tab(context));
    return { context, pages };
  };
  return site;
}

/** Runs `fn(lib, raw, arg)` in `page`; `fn` must be self-contained (it is sent as source). */
export function run(page, fn, arg) {
  return page.evaluate(
    async ([source, arg]) => {
      const fn = (0, eval)(`(${source})`);
      return fn(window.lib, window.raw, arg);
    },
    [fn.toString(), arg],
  );
}

let count = 0;
/** A database name no other test uses. */
export function uniqueDb(label) {
  return `rel-${label}-${process.pid}-${Date.now()}-${++count}`;
}
