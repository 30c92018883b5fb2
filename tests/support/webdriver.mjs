// Firefox and WebKit behind the small interface the JS tests use with Playwright's Chromium, over
// W3C WebDriver (selenium-webdriver as the client): a context is one WebDriver session (its own
// profile, so its own IndexedDB, shared by its pages as tabs of one profile share it), and a page
// is one window of it (webdriver-page.mjs). The commands of a session are serialized, switching
// windows as needed. Firefox is the stock ESR with geckodriver, WebKit is WebKitGTK's MiniBrowser
// with WebKitWebDriver (it needs a display: run under xvfb-run). One driver process per session,
// as geckodriver serves one session at a time.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebDriver } from "selenium-webdriver";
import { Executor, HttpClient } from "selenium-webdriver/http/index.js";
import { freePort, listening, WEBKIT_CAPABILITIES } from "../../scripts/webdriver-servers.mjs";
import { Page } from "./webdriver-page.mjs";

/** Firefox ESR (or $FIREFOX_BINARY), through a wrapper that keeps it running when a tab's process dies. */
const FIREFOX = new URL("./firefox.sh", import.meta.url).pathname;

/** Each engine's WebDriver server and the capabilities of a new session. */
const ENGINES = {
  firefox: {
    driver: "geckodriver",
    args: (port) => [`--port=${port}`, "--host=127.0.0.1", "--log=fatal"],
    capabilities: ({ downloads, prefs }) => ({
      browserName: "firefox",
      "moz:firefoxOptions": {
        binary: FIREFOX,
        args: ["-headless"],
        prefs: {
          // Downloads go to this context's folder without asking.
          "browser.download.folderList": 2,
          "browser.download.dir": downloads,
          "browser.download.useDownloadDir": true,
          "browser.download.always_ask_before_handling_new_types": false,
          "browser.download.manager.showWhenStarting": false,
          "browser.helperApps.neverAsk.saveToDisk": "application/jsonl,application/x-ndjson,application/octet-stream",
          ...prefs,
        },
      },
    }),
  },
  webkit: {
    driver: "WebKitWebDriver",
    args: (port) => [`--port=${port}`, "--host=127.0.0.1"],
    // MiniBrowser saves downloads, without asking, to the XDG download folder, else to $HOME.
    env: ({ downloads }) => ({ HOME: downloads }),
    capabilities: () => WEBKIT_CAPABILITIES,
  },
};

/** The process ids below `pid` (children, their children, ...), with their command lines. */
export async function descendants(pid) {
  const all = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").join(" ").trim();
      all.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const below = (p) => {
    for (const child of all.filter((c) => c.ppid === p)) {
      out.push(child);
      below(child.pid);
    }
  };
  below(pid);
  return out;
}

/** The engine's version, as the first session reports it. */
export async function engineVersion(context) {
  const caps = await context.driver.getCapabilities();
  return `${caps.get("browserName")} ${caps.get("browserVersion")}`;
}

/**
 * A new context of `engine`: a WebDriver session with its own profile. `prefs` (Firefox only) are
 * added to the profile's preferences.
 */
export async function newContext(engine, { prefs = {} } = {}) {
  const spec = ENGINES[engine];
  if (!spec) throw new Error(`unknown engine ${engine}`);
  const port = await freePort();
  const downloads = await mkdtemp(join(tmpdir(), `downloads-${engine}-`));
  const env = { ...process.env, ...spec.env?.({ downloads }) };
  const server = spawn(spec.driver, spec.args(port), { stdio: "ignore", env });
  const exited = new Promise((resolve) => server.once("exit", resolve));
  try {
    await Promise.race([listening(port, spec.driver), exited.then(() => { throw new Error(`${spec.driver} exited`); })]);
    const driver = await WebDriver.createSession(new Executor(new HttpClient(`http://127.0.0.1:${port}`)),
      spec.capabilities({ downloads, prefs }));
    await driver.manage().setTimeouts({ script: 600_000, pageLoad: 60_000 });
    const context = new Context(engine, server, exited, driver, await driver.getWindowHandle(), downloads);
    await context.takeBaseline();
    return context;
  } catch (e) {
    server.kill();
    await rm(downloads, { recursive: true, force: true });
    throw e;
  }
}

export class Context {
  constructor(engine, server, exited, driver, home, downloads) {
    this.engine = engine;
    this.server = server;
    this.exited = exited;
    this.driver = driver;
    this.home = home; // the session's first window, kept open (closing a session's last window ends it)
    this.current = home;
    this.downloads = downloads;
    this.seenDownloads = new Set();
    this.queue = Promise.resolve();
    this.pages = new Set();
    this.closed = false;
  }

  /** Runs `fn(driver)` alone on the session, with window `handle` current (if given). */
  exclusive(handle, fn) {
    const result = this.queue.then(async () => {
      if (handle && this.current !== handle) {
        await this.driver.switchTo().window(handle);
        this.current = handle;
      }
      return fn(this.driver);
    });
    this.queue = result.catch(() => {});
    return result;
  }

  /** A new page (window) of this context, at about:blank. */
  async newPage() {
    const handle = await this.exclusive(null, async (driver) => {
      if (this.current === null) await driver.switchTo().window(this.home); // a window to open it from
      await driver.switchTo().newWindow("window");
      this.current = await driver.getWindowHandle();
      return this.current;
    });
    const page = new Page(this, handle);
    this.pages.add(page);
    return page;
  }

  /** The browser's processes (the driver's descendants). */
  processes() {
    return descendants(this.server.pid);
  }

  /** Notes the processes running before any page of a test: `baseline`, the pids not its pages'. */
  async takeBaseline() {
    this.baseline = new Set((await this.processes()).map((p) => p.pid));
  }

  /**
   * Readies the session for another test, as if new: closes every window but the first (left at
   * about:blank), clears `base`'s localStorage and sessionStorage, deletes the files downloaded
   * (a browser may overwrite a file of the same name, which would then not be news) and takes the
   * process baseline again. IndexedDB keeps the databases of earlier tests, which uniqueDb names
   * apart. False if the session did not answer (its browser gone, say), to be quit instead.
   */
  async reset(base) {
    if (this.closed) return false;
    for (const page of this.pages) page.closed = true;
    this.pages.clear();
    for (const entry of await readdir(this.downloads, { withFileTypes: true })) {
      if (entry.isFile()) await rm(join(this.downloads, entry.name), { force: true });
    }
    this.seenDownloads.clear();
    try {
      return await this.exclusive(null, async (driver) => {
        for (const handle of await driver.getAllWindowHandles()) {
          if (handle === this.home) continue;
          await driver.switchTo().window(handle);
          await driver.close();
        }
        await driver.switchTo().window(this.home);
        this.current = this.home;
        await driver.get(`${base}/README.md`); // a page of the site's origin, served as text/plain
        await driver.executeScript("localStorage.clear(); sessionStorage.clear();");
        await driver.get("about:blank");
        await this.takeBaseline();
        return true;
      });
    } catch {
      return false;
    }
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.driver.quit().catch(() => {});
    this.server.kill();
    await this.exited;
    await rm(this.downloads, { recursive: true, force: true });
  }
}
