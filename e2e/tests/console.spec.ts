import type { Page } from '@playwright/test'
import { getEvents, postEvents } from '../support/api.ts'
import { consoleEvents, COUNTS, XSS_ID, XSS_MESSAGE } from '../support/consoleData.ts'
import { TimelinePage } from '../support/consolePage.ts'
import { expect, test } from '../support/fixtures.ts'

const PROD = 'console-prod'
const STAGING = 'console-staging'
const APP = 'order-service'
/** A timeline's filter bar and the header's selects come just after its first rows: a screenshot waits for them. */
async function chromeVisible(page: Page): Promise<void> {
  await expect(page.getByTestId('mesh-selector')).toBeVisible()
  await expect(page.getByTestId('event-search')).toBeVisible()
}

// The README's screenshots are refreshed on request (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
const SCREENSHOTS = new URL(process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../test-results/screenshots/', import.meta.url).pathname

test.use({ viewport: { width: 1280, height: 800 } })

test.beforeAll(async ({ playwright, server }) => {
  const api = await playwright.request.newContext({ baseURL: server.url, extraHTTPHeaders: { Authorization: `Bearer ${server.token}` } })
  const events = consoleEvents(Date.now())
  for (let start = 0; start < events.length; start += 500) await postEvents(api, events.slice(start, start + 500))
  await api.dispose()
})

test('a deep link to an application Events tab shows its events newest first', async ({ page, request }) => {
  const expected = await getEvents(request, { mesh: PROD, application: APP, limit: '50' })
  const timeline = new TimelinePage(page)
  await page.goto(`/applications/${APP}/events?mesh=${PROD}`)

  await expect(timeline.items).toHaveCount(expected.items.length)
  expect(await timeline.ids()).toEqual(expected.items.map((item) => item.id))
  await expect(timeline.tab('events')).toHaveAttribute('aria-current', 'page')
  await expect(page.getByText(`Showing 50 of ${expected.total}`)).toBeVisible()
  await chromeVisible(page)
  await page.screenshot({ path: `${SCREENSHOTS}application-events.png` })
})

// antd's component CSS comes from the build's stylesheet (apps/web/scripts/antdStyles.ts): the page
// generates none of it at run time, in either theme, which is what keeps it off the first rows' path.
for (const colorScheme of ['light', 'dark'] as const) {
  test(`a deep link styles antd's components from the build's stylesheet, not at run time (${colorScheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme })
    await page.goto(`/applications/${APP}/events?mesh=${PROD}`)
    await chromeVisible(page)
    await expect(page.locator('html')).toHaveAttribute('data-theme', colorScheme)
    await expect(page.getByTestId('theme-toggle')).toBeVisible()
    expect(await page.locator('style[data-css-hash]').count()).toBe(0)
  })
}

test('scrolling to the end loads every page exactly once', async ({ page, request }) => {
  const { total } = await getEvents(request, { mesh: PROD, application: APP })
  expect(total).toBe(COUNTS[PROD][APP] + 1)
  const timeline = new TimelinePage(page)
  // Every older page is one request with a cursor; the dense rows let the sentinel prefetch
  // several while the reader scrolls, so the pages are counted on the wire, not by scrolls.
  const cursors: string[] = []
  page.on('request', (sent) => {
    const url = new URL(sent.url())
    if (url.pathname === `/api/v1/applications/${APP}/events` && url.searchParams.has('cursor')) cursors.push(url.searchParams.get('cursor')!)
  })
  await page.goto(`/applications/${APP}/events?mesh=${PROD}`)
  await expect(timeline.items.first()).toBeVisible()

  await timeline.scrollToEnd()
  const ids = await timeline.ids()
  expect(cursors).toHaveLength(Math.ceil(total / 50) - 1)
  expect(new Set(cursors).size).toBe(cursors.length)
  expect(ids).toHaveLength(total)
  expect(new Set(ids).size).toBe(total)
  await expect(timeline.endOfHistory).toContainText('Kubernetes itself keeps events for only about an hour')
  await expect(timeline.sentinel).toHaveCount(0)
})

test('the mesh selector changes the timeline and the URL, and keeps the page', async ({ page, request }) => {
  const timeline = new TimelinePage(page)
  await page.goto(`/events?mesh=${PROD}`)
  await expect(timeline.items.first()).toBeVisible()
  await chromeVisible(page)
  await page.screenshot({ path: `${SCREENSHOTS}events.png` })

  await timeline.selectMesh(STAGING)
  await expect(page).toHaveURL(new RegExp(`/events\\?mesh=${STAGING}$`))
  const staging = await getEvents(request, { mesh: STAGING, limit: '50' })
  await expect(timeline.items.first()).toHaveAttribute('data-event-id', staging.items[0]!.id)
  await expect(timeline.meshSelector).toContainText(STAGING)

  // On an entity page, switching mesh stays on that page.
  await page.goto(`/applications/${APP}/events?mesh=${PROD}`)
  await expect(timeline.items.first()).toBeVisible()
  await timeline.selectMesh(STAGING)
  await expect(page).toHaveURL(new RegExp(`/applications/${APP}/events\\?mesh=${STAGING}$`))
  const stagingApp = await getEvents(request, { mesh: STAGING, application: APP })
  await expect(timeline.items).toHaveCount(stagingApp.total)
})

test('filters narrow the timeline, live in the URL and survive a reload', async ({ page, request }) => {
  const timeline = new TimelinePage(page)
  await page.goto(`/applications/${APP}/events?mesh=${PROD}`)
  await expect(timeline.items.first()).toBeVisible()

  await timeline.typeFilter.getByText('Warning').click()
  await expect(page).toHaveURL(/[?&]type=warning/)
  const warnings = await getEvents(request, { mesh: PROD, application: APP, type: 'warning', limit: '50' })
  await expect(timeline.items).toHaveCount(warnings.items.length)
  expect(await timeline.ids()).toEqual(warnings.items.map((item) => item.id))
  await expect(timeline.items.and(page.locator('[data-type="normal"]'))).toHaveCount(0)

  await timeline.search.fill('Readiness probe')
  await timeline.search.press('Enter')
  await expect(page).toHaveURL(/[?&]q=Readiness(\+|%20)probe/)
  const searched = await getEvents(request, { mesh: PROD, application: APP, type: 'warning', q: 'Readiness probe', limit: '50' })
  expect(searched.total).toBeGreaterThan(0)
  expect(searched.total).toBeLessThan(warnings.total)
  await expect(timeline.items).toHaveCount(searched.items.length)

  await timeline.selectRange('Last 6 hours')
  await expect(page).toHaveURL(/[?&]since=6h/)
  const recent = await getEvents(request, { mesh: PROD, application: APP, type: 'warning', q: 'Readiness probe', since: '6h', limit: '50' })
  expect(recent.total).toBeLessThan(searched.total)
  await expect(timeline.items).toHaveCount(recent.items.length)
  const filtered = await timeline.ids()

  await page.reload()
  await expect(timeline.items).toHaveCount(recent.items.length)
  expect(await timeline.ids()).toEqual(filtered)
  await expect(timeline.typeFilter.getByRole('radio', { name: 'Warning' })).toBeChecked()
  await expect(timeline.search).toHaveValue('Readiness probe')
  await expect(page.getByTestId('event-filter-range')).toContainText('Last 6 hours')

  await page.getByRole('button', { name: 'Clear filters' }).click()
  await expect(page).toHaveURL(new RegExp(`/applications/${APP}/events\\?mesh=${PROD}$`))
  await expect(timeline.items).toHaveCount(50)
})

test('Dubbo admin links land on the matching Events tab', async ({ page }) => {
  const timeline = new TimelinePage(page)
  await page.goto(`/resources/applications/event/${APP}?mesh=${PROD}`)
  await expect(page).toHaveURL(new RegExp(`/applications/${APP}/events\\?mesh=${PROD}$`))
  await expect(timeline.tab('events')).toHaveAttribute('aria-current', 'page')
  await expect(timeline.items.first()).toBeVisible()

  await page.goto(`/resources/instances/event/10.1.0.5/${APP}?mesh=${PROD}`)
  await expect(page).toHaveURL(new RegExp(`/instances/10\\.1\\.0\\.5/events\\?mesh=${PROD}$`))
  await expect(timeline.tab('events')).toHaveAttribute('aria-current', 'page')
  await expect(timeline.items.first()).toBeVisible()

  await page.goto(`/resources/services/event/org.apache.dubbo.demo.PaymentService?mesh=${PROD}`)
  await expect(page).toHaveURL(new RegExp(`/services/org\\.apache\\.dubbo\\.demo\\.PaymentService/events\\?mesh=${PROD}$`))
  await expect(timeline.items.first()).toBeVisible()
})

test('a message that looks like markup is shown as text and runs nothing', async ({ page }) => {
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  const timeline = new TimelinePage(page)
  await page.goto(`/applications/${APP}/events?mesh=${PROD}`)
  const item = timeline.items.and(page.locator(`[data-event-id="${XSS_ID}"]`))
  await expect(item).toContainText(XSS_MESSAGE)
  await expect(timeline.timeline.locator('img')).toHaveCount(0)
  expect(dialogs).toEqual([])
})

test.describe('an unknown application', () => {
  // The browser logs the catalog's 404 answer; that answer is what the page shows.
  test.use({ expectedConsoleErrors: [/status of 404/] })

  test('shows the not-found state', async ({ page }) => {
  await page.goto(`/applications/no-such-app/events?mesh=${PROD}`)
  const notFound = page.getByTestId('entity-not-found')
  await expect(notFound).toContainText('Application "no-such-app" was not found')
  await expect(notFound).toContainText(`Mesh "${PROD}" does not know it.`)
  await expect(page.getByTestId('event-timeline')).toHaveCount(0)
  await page.screenshot({ path: `${SCREENSHOTS}not-found.png` })
  })
})

test('lists and overview pages link to each other', async ({ page, request }) => {
  const warnings24h = await getEvents(request, { mesh: PROD, application: APP, type: 'warning', since: '24h' })
  await page.goto(`/applications?mesh=${PROD}`)
  const row = page.getByRole('row').filter({ hasText: APP })
  await expect(row.getByRole('cell').nth(4)).toHaveText(String(warnings24h.total))
  await page.screenshot({ path: `${SCREENSHOTS}applications.png` })

  await row.getByRole('link', { name: APP }).click()
  await expect(page).toHaveURL(new RegExp(`/applications/${APP}\\?mesh=${PROD}$`))
  const timeline = new TimelinePage(page)
  await expect(timeline.tab('overview')).toHaveAttribute('aria-current', 'page')
  // The instances table (the triage above it may name the same instance as restarting).
  const instanceLink = page.getByRole('table').getByRole('link', { name: '10.1.0.5:20880' })
  await expect(instanceLink).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}application-overview.png` })

  await instanceLink.click()
  await expect(page).toHaveURL(/\/instances\/10\.1\.0\.5(:|%3A)20880\?mesh=console-prod$/)
  await expect(page.getByRole('link', { name: APP })).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}instance-overview.png` })

  await timeline.tab('events').click()
  await expect(timeline.items.first()).toBeVisible()
})

test('the console speaks Chinese when asked, and remembers it', async ({ page }) => {
  await page.goto(`/events?mesh=${PROD}`)
  await page.getByTestId('locale-switch').click()
  await page.locator('.ant-select-item-option').filter({ hasText: '简体中文' }).click()
  await expect(page.getByRole('navigation', { name: '导航' })).toContainText('应用')
  await expect(page.getByRole('heading', { name: '事件' })).toBeVisible()
  await page.reload()
  await expect(page.getByRole('heading', { name: '事件' })).toBeVisible()
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')
  await chromeVisible(page)
  await page.screenshot({ path: `${SCREENSHOTS}events-zh-CN.png` })
})
