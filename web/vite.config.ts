import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Preact's JSX through esbuild alone: no Babel preset needed.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    // One script and one style sheet: the preload polyfill would be an
    // inline-free but useless extra for a single chunk.
    modulePreload: { polyfill: false },
    target: 'es2022',
    // Two pages: the shop at / and the admin console at /admin; the shop
    // never loads the console's code.
    rollupOptions: {
      input: {
        shop: fileURLToPath(new URL('index.html', import.meta.url)),
        admin: fileURLToPath(new URL('admin/index.html', import.meta.url)),
      },
      // The one chunk both pages load (Preact, the API client, the forms).
      output: { chunkFileNames: 'assets/shared-[hash].js' },
    },
  },
  server: {
    // `npm run dev` talks to the gateway of `make run` (its CORS list
    // names this dev server).
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
});
