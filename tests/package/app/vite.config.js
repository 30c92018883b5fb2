// `vite build`: vite/ into dist-vite/, with relative URLs so it can be served from a subfolder.
export default {
  root: "vite",
  base: "./",
  logLevel: "warn",
  build: { outDir: "../dist-vite", emptyOutDir: true },
};
