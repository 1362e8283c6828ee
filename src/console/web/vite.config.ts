import { join } from 'node:path';
import { defineConfig } from 'vite';

// The owner console (GET /console): built by `npm run build` into dist/console, served by the API role.
export default defineConfig({
  root: __dirname,
  base: '/console/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: join(__dirname, '..', '..', '..', 'dist', 'console'),
    emptyOutDir: true,
    // Every asset is a file of its own: the CSP allows no data: URLs and no inline code.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
