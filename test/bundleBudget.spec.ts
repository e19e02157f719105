import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bundleSizes } from '../apps/web/scripts/bundleSize.mjs'

const DIST = join(import.meta.dirname, '..', 'apps', 'web', 'dist')
const BUDGET_BYTES = 300 * 1024

describe('console bundle', () => {
  it('downloads at most 300 kB of JavaScript (gzip) for a deep-linked Events tab', () => {
    // `pnpm test` builds before it tests; run `pnpm build` first when running this file alone.
    expect(existsSync(join(DIST, '.vite', 'manifest.json')), 'apps/web/dist has no build manifest: run `pnpm build`').toBe(true)
    const sizes = bundleSizes(DIST)
    const tab = sizes['entity events tab']!
    expect(tab.files.length).toBeGreaterThan(1)
    expect(tab.gzipBytes).toBeLessThanOrEqual(BUDGET_BYTES)
    // The Overview's tables stay out of the Events tab's download.
    expect(tab.gzipBytes).toBeLessThan(sizes['entity overview tab']!.gzipBytes)
  })

  it('renders a deep-linked timeline without antd: no chunk on its way holds the CSS-in-JS every antd component loads', () => {
    const sizes = bundleSizes(DIST)
    for (const page of ['entity events tab', 'events']) {
      const withAntd = sizes[page]!.files.filter((file) => readFileSync(join(DIST, file), 'utf8').includes('data-css-hash'))
      expect(withAntd, page).toEqual([])
    }
  })
})
