// Turns wasm-pack's two builds into one npm package in pkg/ (run by `make build`).
//
// wasm-pack writes pkg/ (--target web) and pkg-bundler/ (--target bundler) from the same wasm:
// both bind the same imports ("./idb_session_store_bg.js" and ./snippets/), so the binaries are
// byte for byte the same. The package therefore ships the wasm and the snippets once, and adds
// the bundler build's glue beside them:
//
//   idb_session_store.js   + .d.ts   "idb-session-store"          web build: `await init()` first
//   bundler.js             + .d.ts   "idb-session-store/bundler"  bundler build (webpack 5 & co.)
//   idb_session_store_bg.js          the bundler build's bindings; the wasm imports it by this name
//   idb_session_store_bg.wasm, snippets/, README.md
//
// It then rewrites pkg/package.json (wasm-pack's lists neither the snippets nor a `module` or
// `exports` field) with the metadata from Cargo.toml that wasm-pack put there.
import { cp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WEB = join(ROOT, "pkg");
const BUNDLER = join(ROOT, "pkg-bundler");
const NAME = "idb_session_store";

async function filesUnder(dir, prefix = "") {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

async function sameBytes(a, b) {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  return x.equals(y);
}

function fail(message) {
  console.error(`scripts/package.mjs: ${message}`);
  process.exit(1);
}

// 1. The two builds must share the wasm and the snippets, or one copy cannot serve both.
if (!(await sameBytes(join(WEB, `${NAME}_bg.wasm`), join(BUNDLER, `${NAME}_bg.wasm`)))) {
  fail("the web and bundler builds produced different wasm; ship them separately instead");
}
const snippets = await filesUnder(join(WEB, "snippets"));
const bundlerSnippets = await filesUnder(join(BUNDLER, "snippets"));
if (JSON.stringify(snippets) !== JSON.stringify(bundlerSnippets)) fail("the snippets differ");
for (const file of snippets) {
  if (!(await sameBytes(join(WEB, "snippets", file), join(BUNDLER, "snippets", file)))) {
    fail(`snippet ${file} differs between the builds`);
  }
}

// 2. The bundler build's glue, next to the shared wasm.
const entry = await readFile(join(BUNDLER, `${NAME}.js`), "utf8");
const retyped = entry.replace(`@ts-self-types="./${NAME}.d.ts"`, '@ts-self-types="./bundler.d.ts"');
if (retyped === entry || !entry.includes(`from "./${NAME}_bg.wasm"`)) {
  fail("wasm-pack's bundler entry changed shape; check scripts/package.mjs");
}
await writeFile(join(WEB, "bundler.js"), retyped);
await cp(join(BUNDLER, `${NAME}.d.ts`), join(WEB, "bundler.d.ts"));
await cp(join(BUNDLER, `${NAME}_bg.js`), join(WEB, `${NAME}_bg.js`));

// 3. package.json: wasm-pack's fields (name, version, description, license, repository,
// keywords, all from Cargo.toml) plus what a package used from npm needs.
const generated = JSON.parse(await readFile(join(WEB, "package.json"), "utf8"));
const pkg = {
  name: generated.name,
  version: generated.version,
  description: generated.description,
  license: generated.license,
  repository: generated.repository,
  keywords: [...generated.keywords, "indexeddb-storage", "llm", "chat-history", "webassembly"],
  type: "module",
  main: `./${NAME}.js`,
  module: `./${NAME}.js`,
  types: `./${NAME}.d.ts`,
  exports: {
    ".": { types: `./${NAME}.d.ts`, default: `./${NAME}.js` },
    "./bundler": { types: "./bundler.d.ts", default: "./bundler.js" },
    [`./${NAME}_bg.wasm`]: `./${NAME}_bg.wasm`,
    "./package.json": "./package.json",
  },
  files: [
    `${NAME}.js`,
    `${NAME}.d.ts`,
    `${NAME}_bg.wasm`,
    `${NAME}_bg.wasm.d.ts`,
    `${NAME}_bg.js`,
    "bundler.js",
    "bundler.d.ts",
    "snippets/",
  ],
  // Importing the web build does nothing until init(); the bundler entry instantiates the wasm.
  sideEffects: ["./bundler.js", "./snippets/*"],
};
for (const field of ["name", "version", "description", "license", "repository"]) {
  if (!pkg[field]) fail(`package.json lacks ${field}; is it set in Cargo.toml?`);
}
await writeFile(join(WEB, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
// wasm-pack's pkg/.gitignore ("*") keeps the build out of git; npm honours "files" over it.
await rm(BUNDLER, { recursive: true, force: true });
console.log(`pkg/: ${pkg.name}@${pkg.version} (web build, and ./bundler for bundlers)`);
