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
  },
  server: {
    // `npm run dev` talks to the gateway of `make run` (its CORS list
    // names this dev server).
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
});
