/**
 * The timeline of issue 13: dense rows, histogram, time range, facet filters, bursts, links,
 * export, keyboard. Needs the server endpoints `P/histogram`, `P/facets`, `P/export`, `/gaps`
 * and `/events/:id` (CONTRACT section 3).
 */
import { readFile } from 'node:fs/promises'
import type { EventPage } from '@eventline/shared'
import type { Page } from '@playwright/test'
import { postEvents } from '../support/api.ts'
import { TimelinePage } from '../support/consolePage.ts'
import { expect, test } from '../support/fixtures.ts'
import { BURST_SIZE, LINKED_ID, TL_APP, TL_MESH, timelineEvents } from '../support/timelineData.ts'

/** The clipboard's text, read in the page (the DOM types are not in this Node-checked file). */
const readClipboard = (page: Page) => page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())

const EVENTS_TAB = `/applications/${TL_APP}/events?mesh=${TL_MESH}`

test.use({ viewport: { width: 1280, height: 800 } })

test.beforeAll(async ({ playwright, server }) => {
  const api = await playwright.request.newContext({ baseURL: server.url, extraHTTPHeaders: { Authorization: `Bearer ${server.token}` } })
  await postEvents(api, timelineEvents(Date.now()))
  await api.dispose()
})

interface HistogramAnswer {
  since: string
  until: string
  bucketMs: number
  buckets: Array<{ start: string; normal: number; warning: number }>
}

test('rows show the absolute time, in UTC on request (remembered), with day separators and object links', async ({ page, request }) => {
  const first = (await (await request.get(`/api/v1/applications/${TL_APP}/events`, { params: { mesh: TL_MESH, limit: '50' } })).json()) as EventPage
  const timeline = new TimelinePage(page)
  await page.goto(EVENTS_TAB)
  await expect(timeline.items.first()).toBeAttached()

  await page.locator('.event-time-mode').getByText('UTC').click()
  const item = first.items.find((event) => event.id === 'tl-0')!
  const row = timeline.items.and(page.locator('[data-event-id="tl-0"]'))
  await expect(row.getByTestId('event-time')).toHaveText(item.time.slice(11, 19))
  await page.reload()
  await expect(row.getByTestId('event-time')).toHaveText(item.time.slice(11, 19))
  // 40 events 45 minutes apart span two days or more: a separator each. The file's burst of 30 shares
  // the first page, which then spans less than a day from mid-afternoon UTC on: every page is loaded first.
  await timeline.scrollToEnd()
  expect(await page.locator('.event-day').count()).toBeGreaterThanOrEqual(2)

  await page.locator('.event-time-mode').getByText('Relative').click()
  await expect(row.locator('.event-ago')).toHaveText(/minutes ago/)
  await page.locator('.event-time-mode').getByText('Local').click()

  // A workload's row links to its application's page.
  const link = row.getByTestId('event-object-link')
  await expect(link).toHaveText('Deployment/shop/checkout-0')
  await link.click()
  await expect(page).toHaveURL(new RegExp(`/applications/${TL_APP}\\?mesh=${TL_MESH}$`))
})

test('the histogram shows the API buckets, and a click on a bar narrows the timeline to it', async ({ page, request }) => {
  // A fixed range: without one the histogram ends "now", which moves between two requests.
  const rangeUntil = new Date(Date.now() + 60_000).toISOString()
  const rangeSince = new Date(Date.now() - 36 * 3_600_000).toISOString()
  const timeline = new TimelinePage(page)
  await page.goto(`${EVENTS_TAB}&since=${rangeSince}&until=${rangeUntil}`)
  const bars = page.getByTestId('event-histogram-bar')
  await expect(bars.first()).toBeAttached()
  const answer = (await (
    await request.get(`/api/v1/applications/${TL_APP}/events/histogram`, { params: { mesh: TL_MESH, buckets: '60', since: rangeSince, until: rangeUntil } })
  ).json()) as HistogramAnswer
  await expect(bars).toHaveCount(answer.buckets.length)
  const shown = await bars.evaluateAll((elements) => elements.map((element) => [element.getAttribute('data-start'), Number(element.getAttribute('data-normal')), Number(element.getAttribute('data-warning'))]))
  expect(shown).toEqual(answer.buckets.map((bucket) => [bucket.start, bucket.normal, bucket.warning]))

  // The busiest bucket (the burst) is the one to zoom into.
  const busiest = answer.buckets.reduce((best, bucket, index) => (bucket.normal + bucket.warning > answer.buckets[best]!.normal + answer.buckets[best]!.warning ? index : best), 0)
  const bucket = answer.buckets[busiest]!
  await bars.nth(busiest).click()
  const since = new Date(Date.parse(bucket.start)).toISOString()
  const until = new Date(Date.parse(bucket.start) + answer.bucketMs).toISOString()
  await expect.poll(() => [new URL(page.url()).searchParams.get('since'), new URL(page.url()).searchParams.get('until')]).toEqual([since, until])
  await expect(timeline.items).toHaveCount(bucket.normal + bucket.warning)
  const times = await timeline.items.locator('[data-testid="event-time"]').evaluateAll((elements) => elements.map((element) => element.getAttribute('datetime') ?? ''))
  for (const time of times) {
    expect(Date.parse(time)).toBeGreaterThanOrEqual(Date.parse(since))
    expect(Date.parse(time)).toBeLessThan(Date.parse(until))
  }
  await expect(page.getByTestId('time-range')).toContainText('–')
})

test('an absolute from / to range goes into the URL and narrows the timeline', async ({ page }) => {
  const timeline = new TimelinePage(page)
  await page.goto(EVENTS_TAB)
  await expect(timeline.items.first()).toBeAttached()
  await page.getByTestId('event-filter-range').click()
  await page.locator('.ant-select-item-option').filter({ hasText: 'Custom range' }).click()
  const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
  const now = Date.now()
  await page.getByTestId('time-range').getByLabel('From').fill(local(now - 3 * 3_600_000))
  await page.getByTestId('time-range').getByLabel('To').fill(local(now - 3_600_000))
  await page.getByTestId('time-range').getByRole('button', { name: 'Apply' }).click()
  await expect(page).toHaveURL(/[?&]since=[^&]+&until=|[?&]until=[^&]+.*since=/)
  const times = await timeline.items.locator('[data-testid="event-time"]').evaluateAll((elements) => elements.map((element) => Date.parse(element.getAttribute('datetime') ?? '')))
  expect(times.length).toBeGreaterThan(0)
  for (const time of times) {
    expect(time).toBeGreaterThanOrEqual(now - 3 * 3_600_000 - 60_000)
    expect(time).toBeLessThan(now - 3_600_000 + 60_000)
  }
})

test('the reason filter lists facet counts, narrows the timeline and lives in the URL', async ({ page, request }) => {
  const timeline = new TimelinePage(page)
  await page.goto(EVENTS_TAB)
  await expect(timeline.items.first()).toBeAttached()

  await page.getByTestId('event-filter-reason').click()
  const facets = (await (await request.get(`/api/v1/applications/${TL_APP}/events/facets`, { params: { mesh: TL_MESH, field: 'reason' } })).json()) as { items: Array<{ value: string; count: number }> }
  const backOff = facets.items.find((item) => item.value === 'BackOff')!
  await page.locator('.ant-select-item-option').filter({ hasText: `BackOff (${backOff.count})` }).click()
  await expect(page).toHaveURL(/[?&]reason=BackOff/)
  await expect(timeline.items).toHaveCount(backOff.count)
  await page.keyboard.press('Escape')
  await page.reload()
  await expect(timeline.items).toHaveCount(backOff.count)
})

test('namespace and kind filters are multi-selects kept in the URL as comma lists', async ({ page, request }) => {
  const timeline = new TimelinePage(page)
  await page.goto(EVENTS_TAB)
  await expect(timeline.items.first()).toBeAttached()
  await page.getByTestId('event-filter-namespace').click()
  await page.locator('.ant-select-item-option').filter({ hasText: /^shop \(\d+\)$/ }).click()
  await expect(page).toHaveURL(/[?&]namespace=shop(&|$)/)
  await page.locator('.ant-select-item-option').filter({ hasText: /^payments \(\d+\)$/ }).click()
  await expect(page).toHaveURL(/[?&]namespace=shop(,|%2C)payments(&|$)/)
  await page.keyboard.press('Escape')
  await page.getByTestId('event-filter-kind').click()
  await page.locator('.ant-select-item-option').filter({ hasText: /^Pod \(\d+\)$/ }).click()
  await expect(page).toHaveURL(/[?&]kind=Pod(&|$)/)
  await page.locator('.ant-select-item-option').filter({ hasText: /^Deployment \(\d+\)$/ }).click()
  await expect(page).toHaveURL(/[?&]kind=Pod(,|%2C)Deployment(&|$)/)
  const events = async (params: Record<string, string>) =>
    ((await (await request.get(`/api/v1/applications/${TL_APP}/events`, { params: { mesh: TL_MESH, limit: '50', ...params } })).json()) as EventPage).items
  const both = await events({ namespace: 'shop,payments', kind: 'Pod,Deployment' })
  expect(both.length).toBeGreaterThan((await events({ namespace: 'shop', kind: 'Pod' })).length)
  await expect(timeline.items).toHaveCount(both.length)
  await page.reload()
  await expect(timeline.items).toHaveCount(both.length)
  await expect(page.getByTestId('event-filter-namespace')).toContainText('shop')
  await expect(page.getByTestId('event-filter-namespace')).toContainText('payments')
})

test('search matches are marked in the text', async ({ page }) => {
  await page.goto(`${EVENTS_TAB}&q=Readiness`)
  const row = page.locator('[data-event-id="tl-linked"]')
  await expect(row.locator('mark')).toHaveText(['Readiness'])
})

test('a burst of unregistrations is one expandable group row', async ({ page }) => {
  await page.goto(EVENTS_TAB)
  const group = page.getByTestId('event-group')
  await expect(group).toHaveCount(1)
  await expect(group).toHaveAttribute('data-count', String(BURST_SIZE))
  await expect(group).toContainText(`${BURST_SIZE} × ProviderUnregistered across ${BURST_SIZE} instances in`)
  const members = group.getByTestId('event-item')
  await expect(members).toHaveCount(BURST_SIZE)
  await expect(members.first()).toBeHidden()
  await group.getByRole('button', { expanded: false }).click()
  await expect(members.first()).toBeVisible()
})

test('event=<id> opens the timeline at that event, highlighted; copy-link and the row action copy links', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  await page.goto(`${EVENTS_TAB}&event=${LINKED_ID}`)
  const row = page.locator(`[data-testid="event-item"][data-event-id="${LINKED_ID}"]`)
  await expect(row).toBeVisible()
  await expect(row).toHaveAttribute('aria-current', 'true')
  await expect(row).toBeInViewport()
  // The history is read up to it: nothing newer is on top.
  await expect(page.getByTestId('event-item').first()).toHaveAttribute('data-event-id', LINKED_ID)

  await page.getByTestId('copy-link').click()
  expect(await readClipboard(page)).toBe(page.url())

  const other = page.getByTestId('event-item').nth(1)
  const id = await other.getAttribute('data-event-id')
  await other.hover()
  await other.getByRole('button', { name: 'Copy link to this event' }).click()
  const copied = new URL(await readClipboard(page))
  expect(copied.searchParams.get('event')).toBe(id)

  await page.getByRole('button', { name: 'Show the latest events' }).click()
  await expect(page).not.toHaveURL(/event=/)
})

test('export downloads the current filter as CSV and NDJSON', async ({ page, request, server }) => {
  // Signed in as an operator would be (the token kept for the tab): a link cannot send the token,
  // so the console fetches the export with it and saves the answer (see ExportButton.vue).
  await page.addInitScript((token) => {
    ;(globalThis as unknown as { sessionStorage: { setItem(key: string, value: string): void } }).sessionStorage.setItem('eventline.token', token)
  }, server.token)
  await page.goto(`${EVENTS_TAB}&reason=BackOff`)
  await expect(page.getByTestId('event-item').first()).toBeAttached()
  const expected = (await (await request.get(`/api/v1/applications/${TL_APP}/events`, { params: { mesh: TL_MESH, reason: 'BackOff', limit: '200' } })).json()) as EventPage

  await page.getByTestId('export-button').click()
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('[data-format="csv"]').click()])
  const lines = (await readFile((await csv.path())!, 'utf8')).trim().split(/\r?\n/)
  expect(lines[0]).toBe('time,firstTime,count,type,reason,message,source,component,mesh,kind,namespace,name,application,instance,ip,service')
  expect(lines).toHaveLength(expected.items.length + 1)

  await page.getByTestId('export-button').click()
  const [ndjson] = await Promise.all([page.waitForEvent('download'), page.locator('[data-format="ndjson"]').click()])
  const records = (await readFile((await ndjson.path())!, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { id: string })
  expect(records.map((record) => record.id)).toEqual(expected.items.map((item) => item.id))
})

test('keyboard: / focuses the search, j and k move between events, Enter opens the object', async ({ page }) => {
  await page.goto(`${EVENTS_TAB}&reason=BackOff`)
  const items = page.getByTestId('event-item')
  await expect(items.first()).toBeVisible()
  await page.locator('h1, .entity-name').first().click()
  await page.keyboard.press('/')
  await expect(page.getByTestId('event-search')).toBeFocused()
  await page.getByTestId('event-search').blur()
  await page.keyboard.press('j')
  await expect(items.nth(0)).toBeFocused()
  await page.keyboard.press('j')
  await expect(items.nth(1)).toBeFocused()
  await page.keyboard.press('k')
  await expect(items.nth(0)).toBeFocused()
  // The newest BackOff is a Deployment's: its link is the application page.
  const href = await items.nth(0).getByTestId('event-object-link').getAttribute('href')
  expect(href).toBe(`/applications/${TL_APP}?mesh=${TL_MESH}`)
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(new RegExp(`${href!.replace(/[?.]/g, '\\$&')}$`))
})

test('the application Overview triages: top warning reasons, recent changes; the list names the noisiest applications', async ({ page }) => {
  await page.goto(`/applications/${TL_APP}?mesh=${TL_MESH}`)
  const warnings = page.getByTestId('triage-warnings').getByRole('listitem')
  await expect(warnings.first()).toContainText(`ProviderUnregistered × ${BURST_SIZE}`)
  await expect(warnings.nth(1)).toContainText('BackOff × 8')
  await expect(page.getByTestId('triage-changes').getByRole('listitem')).toHaveCount(10)
  await warnings.first().getByRole('link').click()
  await expect(page).toHaveURL(/\/applications\/checkout\/events\?.*reason=ProviderUnregistered/)
  await expect(page.getByTestId('event-group')).toHaveAttribute('data-count', String(BURST_SIZE))

  await page.goto(`/applications?mesh=${TL_MESH}`)
  await expect(page.getByTestId('triage-noisiest')).toContainText(`${TL_APP} × ${BURST_SIZE + 9}`)
})
