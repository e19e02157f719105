/**
 * `pnpm bench` (alone: `BENCH=console pnpm bench`): the console in headless Chromium on loopback,
 * against Eventline holding 1,000,000 stored events (`BENCH_EVENTS` to change; `BENCH_WEB_DIR` serves
 * another build of the console, to compare two builds under the same load).
 *
 * 1. First event: a fresh browser context (empty cache, as a link opened from a chat message)
 *    navigates to the deep-linked Events tab of the application with the most events; the time
 *    from starting the navigation to the first `event-item` being visible. Median of 10.
 * 2. Further pages: on one page, the time from scrolling the `event-load-more` sentinel into view
 *    to the next 50 items being rendered, for 10 pages in a row.
 * 3. For context, the API's own answer time for the same first page (`limit=50`).
 *
 * 1 and 2 are each given twice: as this process sees them through Playwright (which adds its own
 * DevTools round-trips and polling, some tens of ms), and on the page's own clock, from a
 * MutationObserver added before the console's scripts (navigation start, or the scroll, to the
 * items entering the DOM): what a reader waits for.
 *
 * The seeded database is cached in the temp directory per event count and schema version (the
 * first run writes 1M events through the real store, a few minutes); the server runs in this
 * process with its writer thread, the browser in its own processes. Not part of CI.
 */
import { existsSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Page } from 'playwright-core'
import { startEventline } from '../src/eventline.ts'
import { silentLogger } from '../src/log.ts'
import { openDatabase } from '../src/store/sqlite/db.ts'
import { MIGRATIONS } from '../src/store/sqlite/migrations.ts'
import { SqliteStore } from '../src/store/sqlite/sqliteStore.ts'
import { createWorld, generateEvents, inChunks } from './generate.ts'
import { mergeResults, printTable, RESULTS_FILE, round } from './results.ts'

const DAY_MS = 86_400_000
const WORLD_SEED = 20_240_601
const EVENT_SEED = 7
const SAMPLES = 10
const PAGES = 10
const PAGE_SIZE = 50
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
// BENCH_WEB_DIR: another build of the console (a copy of apps/web/dist), to compare two builds in turn.
const WEB_DIR = process.env.BENCH_WEB_DIR || fileURLToPath(new URL('../../web/dist', import.meta.url))

function eventCount(): number {
  const n = Number(process.env.BENCH_EVENTS ?? 1_000_000)
  if (!Number.isInteger(n) || n < 1000) throw new Error(`BENCH_EVENTS must be an integer >= 1000, got "${process.env.BENCH_EVENTS}"`)
  return n
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * A database with `count` generated events over the 7 days before now (retention keeps 14), written
 * through the real store; reused while its event count and schema match. Time moves on between runs:
 * the events age, which changes nothing the console measures.
 */
async function seededDatabase(count: number): Promise<{ path: string; seededMs: number | undefined }> {
  const path = join(tmpdir(), `eventline-bench-console-${count}-schema${MIGRATIONS.length}.db`)
  if (existsSync(path)) return { path, seededMs: undefined }
  const partial = `${path}.partial`
  rmSync(partial, { force: true })
  const started = performance.now()
  const store = new SqliteStore(partial)
  const world = createWorld(WORLD_SEED)
  const end = Date.now() - 60_000
  let written = 0
  for (const events of inChunks(generateEvents(world, { count, seed: EVENT_SEED, end, spanMs: 7 * DAY_MS }), 5000)) {
    await store.writeBatch({ events, catalog: [], checkpoints: [], outbox: [] })
    written += events.length
    if (written % 100_000 === 0) process.stdout.write(`  seeded ${written.toLocaleString('en')} events\n`)
  }
  await store.close()
  for (const suffix of ['-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true })
  renameSync(partial, path)
  return { path, seededMs: performance.now() - started }
}

/** The application whose timeline is longest: the heaviest deep link there is. */
function largestApplication(path: string): { mesh: string; name: string; events: number } {
  const db = openDatabase(path)
  try {
    const row = db
      .prepare("SELECT v.mesh, v.entity AS name, count(*) AS events FROM views AS v JOIN event_links AS l ON l.view = v.id WHERE v.kind = 'a' AND v.mesh <> '' GROUP BY v.id ORDER BY events DESC LIMIT 1")
      .get() as { mesh: string; name: string; events: number }
    return row
  } finally {
    db.close()
  }
}

/** Milliseconds as seen from this process (Playwright) and inside the page (the browser's own clock). */
interface Timing {
  observed: number
  inPage: number
}

/** When the `target`-th `event-item` entered the DOM (`at`), and when the wait began (`since`), in the page. */
interface ItemClock {
  target: number
  at?: number
  since: number
}

/**
 * The few browser globals the in-page timers touch: this file is type-checked for Node, without
 * the DOM library, and the functions below run in the page.
 */
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): { length: number }
    querySelector(selector: string): { scrollIntoView(options: { block: 'end' }): void } | null
  }
  MutationObserver: new (callback: () => void) => { observe(target: object, options: { childList: boolean; subtree: boolean }): void }
  eventlineItems: ItemClock
}

/**
 * Inside the page, before its scripts run: records when the `target`-th `event-item` enters the
 * DOM (`performance.now()`, from navigation start), with a MutationObserver. Added through the
 * DevTools protocol, so the console's CSP does not apply to it.
 */
function recordItems(): void {
  const page = globalThis as unknown as PageGlobals
  const clock: ItemClock = { target: 1, since: 0 }
  page.eventlineItems = clock
  const observer = new page.MutationObserver(() => {
    if (clock.at === undefined && page.document.querySelectorAll('[data-testid="event-item"]').length >= clock.target) clock.at = performance.now()
  })
  // No named inner functions: tsx (esbuild keepNames) would wrap them in a `__name` helper that
  // does not exist in the page. The document itself, since an init script may run before it has
  // an element.
  observer.observe(page.document, { childList: true, subtree: true })
}

async function firstItemMs(browser: Awaited<ReturnType<typeof chromium.launch>>, url: string): Promise<Timing> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.addInitScript(recordItems)
  const page = await context.newPage()
  const started = performance.now()
  await page.goto(url, { waitUntil: 'commit' })
  await page.getByTestId('event-item').first().waitFor({ state: 'visible' })
  const observed = performance.now() - started
  const inPage = await page.evaluate(() => (globalThis as unknown as PageGlobals).eventlineItems.at ?? Number.NaN)
  await context.close()
  return { observed, inPage }
}

async function nextPagesMs(page: Page): Promise<Timing[]> {
  const items = page.getByTestId('event-item')
  await items.first().waitFor({ state: 'visible' })
  // The sentinel prefetches a screen ahead: let the pages it asked for on arrival land first.
  await page.waitForLoadState('networkidle')
  const timings: Timing[] = []
  for (let index = 0; index < PAGES; index++) {
    const before = await items.count()
    const started = performance.now()
    // Scrolled from inside the page, so the page's clock starts with the scroll itself.
    await page.evaluate((target) => {
      const page = globalThis as unknown as PageGlobals
      Object.assign(page.eventlineItems, { target, at: undefined, since: performance.now() })
      page.document.querySelector('[data-testid="event-load-more"]')!.scrollIntoView({ block: 'end' })
    }, before + PAGE_SIZE)
    // A locator wait, not waitForFunction: the console's CSP (script-src 'self') forbids the eval
    // that waitForFunction needs in the page, and Playwright's locators run in their own world.
    await items.nth(before + PAGE_SIZE - 1).waitFor({ state: 'attached' })
    const observed = performance.now() - started
    const inPage = await page.evaluate(() => {
      const clock = (globalThis as unknown as PageGlobals).eventlineItems
      return (clock.at ?? Number.NaN) - clock.since
    })
    timings.push({ observed, inPage })
  }
  return timings
}

async function main(): Promise<void> {
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new Error('apps/web/dist is missing: run `pnpm build` first')
  const count = eventCount()
  console.log(`console benchmark: ${count.toLocaleString('en')} events, headless Chromium on loopback`)
  const { path, seededMs } = await seededDatabase(count)
  console.log(seededMs === undefined ? `  reusing ${path}` : `  seeded ${path} in ${round(seededMs / 1000, 1)} s`)
  const target = largestApplication(path)

  const eventline = await startEventline({ port: 0, host: '127.0.0.1', db: path, retentionMs: 14 * DAY_MS, demo: false, webDir: WEB_DIR }, silentLogger)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const url = `${eventline.url}/applications/${encodeURIComponent(target.name)}/events?mesh=${encodeURIComponent(target.mesh)}`
    await firstItemMs(browser, url) // warm the server's page cache and statements, as a running console would be

    const first: Timing[] = []
    for (let sample = 0; sample < SAMPLES; sample++) first.push(await firstItemMs(browser, url))

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.addInitScript(recordItems)
    const page = await context.newPage()
    await page.goto(url)
    const pages = await nextPagesMs(page)
    await context.close()

    const api: number[] = []
    const apiUrl = `${eventline.url}/api/v1/applications/${encodeURIComponent(target.name)}/events?mesh=${encodeURIComponent(target.mesh)}&limit=${PAGE_SIZE}`
    for (let sample = 0; sample < 20; sample++) {
      const started = performance.now()
      await (await fetch(apiUrl)).json()
      api.push(performance.now() - started)
    }

    const figure = (timings: readonly Timing[], key: keyof Timing) => {
      const values = timings.map((timing) => timing[key])
      return { median: round(median(values), 1), max: round(Math.max(...values), 1), samples: values.map((value) => round(value, 1)) }
    }
    const row = (label: string, values: { median: number; max: number; samples: number[] }): [string, string, string, string] => [label, `${values.median} ms`, `${values.max} ms`, String(values.samples.length)]
    const results = {
      firstItemMs: figure(first, 'observed'),
      firstItemInPageMs: figure(first, 'inPage'),
      nextPageMs: figure(pages, 'observed'),
      nextPageInPageMs: figure(pages, 'inPage'),
    }
    printTable([
      ['figure', 'median', 'max', 'samples'],
      row(`first event-item visible, deep link (${target.name}, ${target.events.toLocaleString('en')} events), seen by Playwright`, results.firstItemMs),
      row('  the same in the page: navigation start -> first event-item in the DOM', results.firstItemInPageMs),
      row(`each further page of ${PAGE_SIZE} by scrolling, seen by Playwright`, results.nextPageMs),
      row(`  the same in the page: scroll -> ${PAGE_SIZE} more event-items in the DOM`, results.nextPageInPageMs),
      row(`API first page (limit ${PAGE_SIZE}), for context`, { median: round(median(api), 1), max: round(Math.max(...api), 1), samples: api }),
    ])
    mergeResults({
      console: {
        events: count,
        application: { mesh: target.mesh, name: target.name, events: target.events },
        ...results,
        apiFirstPageMs: { median: round(median(api), 1), max: round(Math.max(...api), 1) },
      },
    })
    console.log(`results merged into ${RESULTS_FILE}`)
  } finally {
    await browser.close()
    await eventline.stop()
  }
}

await main()
