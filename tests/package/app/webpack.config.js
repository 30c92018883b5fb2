// `webpack`: webpack/main.js into dist-webpack/, with WebAssembly as async modules (webpack 5).
import { fileURLToPath } from "node:url";

export default {
  mode: "production",
  entry: "./webpack/main.js",
  output: { path: fileURLToPath(new URL("dist-webpack/", import.meta.url)), filename: "main.js", clean: true },
  experiments: { asyncWebAssembly: true },
  performance: { hints: false },
  stats: "errors-warnings",
};
