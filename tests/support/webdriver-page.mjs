// A page of a WebDriver context (webdriver.mjs): one window, behind the part of Playwright's Page
// the JS tests use. Code run in it is started, then awaited a quarter second at a time, so that
// pages of one context run side by side; uncaught errors and dialogs come from page-hooks.js.
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Key } from "selenium-webdriver";
import { decode, encode } from "./wire.js";

/** How long a wait for the page lasts unless told otherwise, as Playwright's default. */
export const TIMEOUT = 30_000;

// In the page: starts `source` on the arguments, keeping its outcome; returns the job's number.
// Evaluated by the page's own `eval`, so that what it makes belongs to the page's realm (Firefox
// runs WebDriver scripts in a sandbox, whose arrays are not the page's arrays).
const START_IN_PAGE = `(source, args) => {
  const encode = ${encode};
  const decode = ${decode};
  const jobs = (window.__testJobs ??= { next: 0, all: new Map() });
  const id = ++jobs.next;
  const job = {};
  job.promise = (async () => (0, eval)("(" + source + ")")(...decode(args)))().then(
    (value) => { job.outcome = { ok: true, value: encode(value) }; },
    (e) => { job.outcome = { ok: false, error: encode(e instanceof Error ? e : new Error(String(e))) }; });
  jobs.all.set(id, job);
  return id;
}`;
const START = `return window.eval(${JSON.stringify(`(${START_IN_PAGE})`)})(arguments[0], arguments[1]);`;

// In the page: waits up to `ms` for job `id`; answers with its outcome (if done) and the errors
// and dialogs recorded since the last answer.
const WAIT = `
const [id, ms, done] = arguments;
let answered = false;
const answer = (state, outcome) => {
  if (answered) return;
  answered = true;
  const hooks = window.__testHooks;
  done(JSON.stringify({ state, outcome, errors: hooks ? hooks.errors.splice(0) : [],
    dialogs: hooks ? hooks.dialogs.splice(0) : [] }));
};
const job = id === null ? null : window.__testJobs?.all.get(id);
if (id === null) return answer("drained");
if (!job) return answer("lost");
setTimeout(() => answer("pending"), ms);
job.promise.then(() => {
  if (answered) return; // an earlier wait, which answered "pending": the next wait takes the outcome
  window.__testJobs.all.delete(id);
  answer("done", job.outcome);
});`;

// In the page: the first element `selector` matches; `:has-text("...")` at its end keeps those
// whose text contains that (case-insensitively), as in Playwright.
const QUERY = `(selector) => {
  const m = selector.match(/^(.*):has-text\\((['"])(.*)\\2\\)$/);
  const all = [...document.querySelectorAll(m ? m[1] : selector)];
  return (m ? all.filter((e) => e.textContent.toLowerCase().includes(m[3].toLowerCase())) : all)[0] ?? null;
}`;

// Element states, as Playwright defines them.
const VISIBLE = `(e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden"; }`;
const ENABLED = `(e) => !e.matches(":disabled")`;

const KEYS = { Enter: Key.ENTER, Escape: Key.ESCAPE, Tab: Key.TAB };

/** A window of a context, with the part of Playwright's Page the tests use. */
export class Page {
  constructor(context, handle) {
    this.context = context;
    this.handle = handle;
    this.uncaughtErrors = [];
    this.dialogs = [];
    this.closed = false;
  }

  #do(fn) {
    if (this.closed) return Promise.reject(new Error("the page is closed"));
    return this.context.exclusive(this.handle, fn);
  }

  #keep(answer) {
    this.uncaughtErrors.push(...answer.errors);
    this.dialogs.push(...answer.dialogs);
  }

  /** Collects what the page recorded, before it is left. */
  async #drain() {
    try {
      this.#keep(JSON.parse(await this.#do((d) => d.executeAsyncScript(WAIT, null, 0))));
    } catch {
      // a page that crashed or is at about:blank has nothing to give
    }
  }

  /** Runs `source` (a function's text) in the page on `args`, and resolves with what it returns. */
  async call(source, args) {
    return this.result(await this.start(source, args));
  }

  /** Starts `source` in the page on `args`, returning as soon as its first await was reached. */
  start(source, args) {
    return this.#do((d) => d.executeScript(START, source, encode(args)));
  }

  /** Resolves with what the code `start` started returned, or rejects with what it threw. */
  async result(id) {
    for (;;) {
      const answer = JSON.parse(await this.#do((d) => d.executeAsyncScript(WAIT, id, 250)));
      this.#keep(answer);
      if (answer.state === "lost") throw new Error("the page navigated away while running code");
      if (answer.state !== "done") continue;
      if (answer.outcome.ok) return decode(answer.outcome.value);
      throw decode(answer.outcome.error);
    }
  }

  evaluate(fn, arg) {
    return this.call(fn.toString(), [arg]);
  }

  /** Resolves (with a handle on the value) when `fn(arg)` is truthy, polled every 20 ms. */
  async waitForFunction(fn, arg, { timeout = TIMEOUT } = {}) {
    const value = await this.call(`async (source, arg, timeout) => {
      const fn = (0, eval)("(" + source + ")");
      const until = Date.now() + timeout;
      for (;;) {
        const value = await fn(arg);
        if (value) return value;
        if (Date.now() > until) throw new Error("waitForFunction timed out after " + timeout + " ms: " + source);
        await new Promise((r) => setTimeout(r, 20));
      }
    }`, [fn.toString(), arg, timeout]);
    return { jsonValue: async () => value };
  }

  async goto(url) {
    await this.#drain();
    await this.#do((d) => d.get(url));
  }

  async reload() {
    await this.#drain();
    await this.#do((d) => d.navigate().refresh());
  }

  isClosed() {
    return this.closed;
  }

  async close() {
    if (this.closed) return;
    await this.#drain();
    try {
      await this.#do((d) => d.close());
    } finally {
      // Gone either way: a window whose process was killed may refuse to close cleanly.
      this.context.current = null;
      this.closed = true;
      this.context.pages.delete(this);
    }
  }

  waitForTimeout(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Elements, found by CSS selector (plus :has-text), acted on as WebDriver's user would.

  /** Waits until `selector` matches an element in `state` (attached, visible, hidden, enabled). */
  async waitForSelector(selector, { state = "visible", timeout = TIMEOUT } = {}) {
    await this.call(`async (selector, state, timeout) => {
      const query = ${QUERY};
      const visible = ${VISIBLE};
      const enabled = ${ENABLED};
      const until = Date.now() + timeout;
      for (;;) {
        const e = query(selector);
        const ok = state === "attached" ? !!e : state === "hidden" ? !e || !visible(e) :
          state === "enabled" ? !!e && visible(e) && enabled(e) : !!e && visible(e);
        if (ok) return;
        if (Date.now() > until) throw new Error("waiting for " + selector + " to be " + state + ": timed out after " + timeout + " ms");
        await new Promise((r) => setTimeout(r, 20));
      }
    }`, [selector, state, timeout]);
  }

  /** The element `selector` matches, once it is visible and enabled, for WebDriver's element commands. */
  async #actionable(selector, fn) {
    await this.waitForSelector(selector, { state: "enabled" });
    return this.#do(async (d) => fn(await d.executeScript(`return (${QUERY})(arguments[0])`, selector)));
  }

  #read(selector, fn, state = "attached") {
    return this.waitForSelector(selector, { state }).then(() =>
      this.call(`(selector, source) => (0, eval)("(" + source + ")")((${QUERY})(selector))`, [selector, fn]));
  }

  click(selector) {
    return this.#actionable(selector, (e) => e.click());
  }

  fill(selector, text) {
    return this.#actionable(selector, async (e) => {
      await e.clear();
      if (text !== "") await e.sendKeys(text);
    });
  }

  press(selector, key) {
    if (!KEYS[key]) throw new Error(`press: no key ${key}`);
    return this.#actionable(selector, (e) => e.sendKeys(KEYS[key]));
  }

  /** Picks the option of `value` in the <select> `selector`, by clicking it. */
  async selectOption(selector, value) {
    await this.waitForSelector(selector, { state: "enabled" });
    await this.#do(async (d) => {
      const option = await d.executeScript(`return [...(${QUERY})(arguments[0]).options].find((o) => o.value === arguments[1])`,
        selector, value);
      if (!option) throw new Error(`selectOption: ${selector} has no option ${value}`);
      await option.click();
    });
  }

  /** Picks `file` (a path, or `{ name, mimeType, buffer }`) in the file input `selector`. */
  async setInputFiles(selector, file) {
    let path = file;
    if (typeof file !== "string") {
      const dir = await mkdtemp(join(tmpdir(), "upload-"));
      path = join(dir, file.name);
      await writeFile(path, file.buffer);
    }
    await this.waitForSelector(selector, { state: "attached" });
    await this.#do(async (d) => (await d.executeScript(`return (${QUERY})(arguments[0])`, selector)).sendKeys(path));
  }

  textContent(selector) {
    return this.#read(selector, "(e) => e.textContent");
  }

  inputValue(selector) {
    return this.#read(selector, "(e) => e.value");
  }

  getAttribute(selector, name) {
    return this.call(`(selector, name) => (${QUERY})(selector).getAttribute(name)`, [selector, name]);
  }

  isVisible(selector) {
    return this.call(`(selector) => { const e = (${QUERY})(selector); return !!e && (${VISIBLE})(e); }`, [selector]);
  }

  async isHidden(selector) {
    return !(await this.isVisible(selector));
  }

  async isEnabled(selector) {
    await this.waitForSelector(selector, { state: "attached" });
    return this.call(`(selector) => (${ENABLED})((${QUERY})(selector))`, [selector]);
  }

  async isDisabled(selector) {
    return !(await this.isEnabled(selector));
  }

  $$eval(selector, fn) {
    return this.call(`(selector, source) => (0, eval)("(" + source + ")")([...document.querySelectorAll(selector)])`,
      [selector, fn.toString()]);
  }

  /**
   * Resizes the window so that the page's viewport is `width` × `height`, as far as the window
   * goes (headless Firefox's is at least 500 wide, MiniBrowser's about 450); resolves with the
   * viewport's size.
   */
  async setViewportSize({ width, height }) {
    const size = () => this.call("() => [innerWidth, innerHeight, outerWidth, outerHeight]", []);
    for (let i = 0; i < 2; i++) {
      const [iw, ih, ow, oh] = await size();
      if (iw === width && ih === height) break;
      await this.#do((d) => d.manage().window().setRect({ width: width + ow - iw, height: height + oh - ih }));
    }
    const [w, h] = await size();
    return { width: w, height: h };
  }

  async screenshot({ path }) {
    const png = await this.#do((d) => d.takeScreenshot());
    await writeFile(path, Buffer.from(png, "base64"));
  }

  /** For "download": the next file this context's browser saves (both save every download to a folder of the context's). */
  async waitForEvent(event, { timeout = TIMEOUT } = {}) {
    if (event !== "download") throw new Error(`waitForEvent: ${event} is not supported over WebDriver`);
    const { downloads, seenDownloads } = this.context;
    const until = Date.now() + timeout;
    for (;;) {
      // Files only: MiniBrowser also keeps its own folders in $HOME, which is this folder.
      const names = (await readdir(downloads, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      // Firefox writes NAME.part and renames it when the download is complete; WebKit NAME.wkdownload.
      const partial = (n) => n.endsWith(".part") || n.endsWith(".wkdownload");
      const name = names.find((n) => !seenDownloads.has(n) && !partial(n) && !names.some((m) => partial(m) && m.startsWith(n)));
      if (name) {
        seenDownloads.add(name);
        const path = join(downloads, name);
        return {
          suggestedFilename: () => name,
          saveAs: async (to) => writeFile(to, await readFile(path)),
          path: async () => path,
        };
      }
      if (Date.now() > until) throw new Error(`no download within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
