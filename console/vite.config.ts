// The console's build: Preact components compiled by esbuild, bundled into dist/console-ui/, served
// by the api role at /console (src/console/static.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console-ui/', import.meta.url)),
    emptyOutDir: true,
    // One script and one stylesheet, no inline code (the console's CSP allows scripts from 'self' only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
