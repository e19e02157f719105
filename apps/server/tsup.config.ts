import { defineConfig } from 'tsup'

// One ESM bundle of the server; the shared package is inlined (it ships TypeScript source),
// runtime dependencies stay external and are installed next to it.
export default defineConfig({
  // The SQLite writer runs on a worker thread and loads its own file beside main.js.
  entry: { main: 'src/main.ts', writerWorker: 'src/store/sqlite/writerWorker.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  noExternal: ['@eventline/shared'],
})
