/**
 * Reach (issue 13): a 390 px phone, dark mode and its toggle, the skip link, and zero critical or
 * serious axe-core findings on every route in both themes; the first start that teaches.
 */
import type { Page } from '@playwright/test'
import { postEvents } from '../support/api.ts'
import { seriousAxeFindings } from '../support/axe.ts'
import { expect, test } from '../support/fixtures.ts'
import { startServer } from '../support/server.ts'
import { TL_APP, TL_MESH, timelineEvents } from '../support/timelineData.ts'

const INSTANCE = '10.9.0.1:20880'
const SERVICE = 'org.example.CheckoutService'

// Every route of CONTRACT section 5 (the Dubbo admin redirects land on these).
const ROUTES = [
  `/events?mesh=${TL_MESH}`,
  `/applications?mesh=${TL_MESH}`,
  `/applications/${TL_APP}?mesh=${TL_MESH}`,
  `/applications/${TL_APP}/events?mesh=${TL_MESH}`,
  `/instances?mesh=${TL_MESH}`,
  `/instances/${encodeURIComponent(INSTANCE)}?mesh=${TL_MESH}`,
  `/instances/${encodeURIComponent(INSTANCE)}/events?mesh=${TL_MESH}`,
  `/services?mesh=${TL_MESH}`,
  `/services/${SERVICE}?mesh=${TL_MESH}`,
  `/services/${SERVICE}/events?mesh=${TL_MESH}`,
]

test.beforeAll(async ({ playwright, server }) => {
  const api = await playwright.request.newContext({ baseURL: server.url, extraHTTPHeaders: { Authorization: `Bearer ${server.token}` } })
  // Idempotent: re-posting an id updates it, so this file runs alone or after timeline.spec.ts.
  await postEvents(api, timelineEvents(Date.now()))
  await api.dispose()
})

/**
 * A timeline mounts its filter bar, and the header its selects, just after the first rows: audits
 * and measurements wait for them, so they cover the whole page.
 */
async function chromeMounted(page: Page): Promise<void> {
  await expect(page.getByTestId('mesh-selector')).toBeAttached()
  if ((await page.getByTestId('event-timeline').count()) > 0) await expect(page.getByTestId('event-search')).toBeAttached()
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`axe-core, ${colorScheme} theme`, () => {
    test.use({ colorScheme, viewport: { width: 1280, height: 800 } })

    test('finds nothing critical or serious on any route', async ({ page }) => {
      test.setTimeout(120_000)
      const findings: Record<string, unknown> = {}
      for (const route of ROUTES) {
        await page.goto(route)
        await expect(page.locator('html')).toHaveAttribute('data-theme', colorScheme)
        // Loaded: a timeline's first row, a list's table, or an overview's content.
        await expect(page.locator('[data-testid="event-item"], .ant-table-row, .overview, [data-testid="event-empty"]').first()).toBeAttached()
        await chromeMounted(page)
        const found = await seriousAxeFindings(page)
        if (found.length > 0) findings[route] = found
      }
      expect(findings).toEqual({})
    })
  })
}

test.describe('on a 390 px phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true })

  test('nothing overflows sideways and the side menu folds behind a button', async ({ page }) => {
    for (const route of ROUTES.slice(0, 4)) {
      await page.goto(route)
      await expect(page.locator('[data-testid="event-item"], .ant-table-row, .overview').first()).toBeAttached()
      await chromeMounted(page)
      const width = await page.locator('html').evaluate((element) => element.scrollWidth)
      expect(width, `page width of ${route}`).toBeLessThanOrEqual(390)
    }
    const nav = page.getByRole('navigation', { name: 'Sections' })
    await expect(nav).toBeHidden()
    await page.getByRole('button', { name: 'Menu' }).click()
    await expect(nav).toBeVisible()
    await nav.getByRole('link', { name: 'Events' }).click()
    await expect(page).toHaveURL(/\/events/)
    await expect(nav).toBeHidden()
  })
})

test('the theme toggle switches to dark and back, and is remembered', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(`/events?mesh=${TL_MESH}`)
  const html = page.locator('html')
  await expect(html).toHaveAttribute('data-theme', 'light')
  await page.getByTestId('theme-toggle').click()
  await expect(html).toHaveAttribute('data-theme', 'dark')
  await page.reload()
  await expect(html).toHaveAttribute('data-theme', 'dark')
  await page.getByTestId('theme-toggle').click()
  await expect(html).toHaveAttribute('data-theme', 'light')
})

test('the skip link is the first stop and jumps to the content', async ({ page }) => {
  await page.goto(`/events?mesh=${TL_MESH}`)
  await expect(page.getByTestId('event-item').first()).toBeAttached()
  await page.keyboard.press('Tab')
  const skip = page.getByRole('link', { name: 'Skip to content' })
  await expect(skip).toBeFocused()
  await expect(skip).toBeInViewport()
  await page.keyboard.press('Enter')
  await expect(page.locator('#main')).toBeFocused()
})

test('a first start without sources says how to start the demo and how to add a source', async ({ browser }) => {
  // Its own server: the shared one has events posted by the other tests.
  const fresh = await startServer()
  try {
    const context = await browser.newContext({ baseURL: fresh.url, extraHTTPHeaders: { Authorization: `Bearer ${fresh.token}` } })
    const page = await context.newPage()
    await page.goto('/events')
    const empty = page.getByTestId('event-empty')
    await expect(empty).toContainText('pnpm start -- --demo')
    await expect(empty).toContainText('EVENTLINE_REGISTRIES')
    await expect(empty).toContainText('EVENTLINE_KUBERNETES')
    await context.close()
  } finally {
    await fresh.stop()
  }
})
