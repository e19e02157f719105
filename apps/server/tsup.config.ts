import { defineConfig } from 'tsup'

// One ESM bundle of the server; the shared package is inlined (it ships TypeScript source),
// runtime dependencies stay external and are installed next to it.
export default defineConfig({
  // The SQLite writer and readers run on worker threads and load their own file beside main.js.
  entry: { main: 'src/main.ts', storeWorker: 'src/store/sqlite/storeWorker.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  noExternal: ['@eventline/shared'],
})
