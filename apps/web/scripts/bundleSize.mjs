#!/usr/bin/env node
// Adds up the JavaScript (gzip) a first visit to each kind of page downloads, from the build
// manifest: the entry, the route's lazy views, and every chunk they import statically.
// `node scripts/bundleSize.mjs` prints a table; `bundleSizes()` serves the budget test.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

/** The lazy view modules each page kind loads on a deep link (see src/router/index.ts). */
export const PAGES = {
  'entity events tab': ['src/views/EntityView.vue', 'src/views/EntityEventsView.vue'],
  'entity overview tab': ['src/views/EntityView.vue', 'src/views/OverviewView.vue'],
  events: ['src/views/EventsView.vue'],
  'application list': ['src/views/ApplicationsView.vue'],
}

/** `{ page: { files, gzipBytes } }` for every page of PAGES. */
export function bundleSizes(dist = DIST) {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'))
  const gzipped = new Map()
  const gzipSize = (file) => {
    if (!gzipped.has(file)) gzipped.set(file, gzipSync(readFileSync(join(dist, file))).length)
    return gzipped.get(file)
  }
  const closure = (keys) => {
    const files = new Set()
    const visit = (key) => {
      const chunk = manifest[key]
      if (!chunk) throw new Error(`${key} is not in the build manifest; was it renamed?`)
      if (files.has(chunk.file)) return
      files.add(chunk.file)
      for (const imported of chunk.imports ?? []) visit(imported)
    }
    for (const key of keys) visit(key)
    return [...files].filter((file) => file.endsWith('.js'))
  }
  const result = {}
  for (const [page, views] of Object.entries(PAGES)) {
    const files = closure(['index.html', ...views])
    result[page] = { files, gzipBytes: files.reduce((sum, file) => sum + gzipSize(file), 0) }
  }
  return result
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [page, { files, gzipBytes }] of Object.entries(bundleSizes())) {
    console.log(`${page.padEnd(22)} ${(gzipBytes / 1024).toFixed(1).padStart(7)} kB gzip in ${files.length} files`)
  }
}
