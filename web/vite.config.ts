import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

// Preact's JSX through esbuild alone: no Babel preset needed.
const esbuild: UserConfig['esbuild'] = { jsx: 'automatic', jsxImportSource: 'preact' };

const shop: UserConfig = {
  esbuild,
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
};

// The trace viewer (`vite build --mode traces`), which Jaeger serves at
// its own port (tools/jaeger/config.yaml points its query extension at
// dist-traces), apart from what the gateway serves: Jaeger answers every
// unknown path with the index.html at the root of that directory and
// serves the other files only under /static/.
const traces: UserConfig = {
  root: fileURLToPath(new URL('traces', import.meta.url)),
  esbuild,
  build: {
    outDir: '../dist-traces',
    emptyOutDir: true,
    assetsDir: 'static',
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    // `npm run dev:traces` reads the Jaeger of `make run`.
    port: 5174,
    proxy: { '/api': 'http://127.0.0.1:16686' },
  },
};

export default defineConfig(({ mode }) => (mode === 'traces' ? traces : shop));
