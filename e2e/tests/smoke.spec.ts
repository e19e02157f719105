import type { PostEvent } from '@eventline/shared'
import { getEvents, minutesBefore, postEvents } from '../support/api.ts'
import { findChromium } from '../support/chromium.ts'
import { EventsPage } from '../support/eventsPage.ts'
import { expect, test } from '../support/fixtures.ts'

const XSS_MESSAGE = '<img src=x onerror=alert(1)>'

/** Three events a minute apart in `mesh`, listed oldest first; the markup message is the newest. */
function smokeEvents(mesh: string, now: number): PostEvent[] {
  return [
    {
      id: `${mesh}-1`,
      time: minutesBefore(now, 3),
      type: 'normal',
      reason: 'InstanceRegistered',
      message: 'Instance registered: demo-provider 10.0.0.7:20880',
      mesh,
      application: 'demo-provider',
      instance: '10.0.0.7:20880',
      ip: '10.0.0.7',
    },
    {
      id: `${mesh}-2`,
      time: minutesBefore(now, 2),
      type: 'warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container',
      mesh,
      application: 'demo-provider',
      object: { kind: 'Pod', name: 'demo-provider-7d9f-abcde', namespace: 'default' },
      component: 'kubelet',
    },
    {
      id: `${mesh}-3`,
      time: minutesBefore(now, 1),
      type: 'normal',
      reason: 'MarkupInMessage',
      message: XSS_MESSAGE,
      mesh,
      service: 'org.apache.dubbo.demo.DemoService',
    },
  ]
}

const NEWEST_FIRST = ['MarkupInMessage', 'BackOff', 'InstanceRegistered']

test('the API stores posted events and lists them newest first', async ({ request }) => {
  const mesh = 'smoke-api'
  const posted = smokeEvents(mesh, Date.now())
  await postEvents(request, posted)

  const page = await getEvents(request, { mesh })

  expect(page.items.map((item) => item.reason)).toEqual(NEWEST_FIRST)
  expect(page.items.map((item) => item.message)).toEqual(posted.map((event) => event.message).reverse())
  expect(page.items.every((item) => item.mesh === mesh && item.source === 'api')).toBe(true)
  expect(page).toMatchObject({ total: 3, totalCapped: false, nextCursor: null })
})

test.describe('events page', () => {
  const chromium = findChromium()
  test.skip(!chromium.found, `browser tests skipped: ${chromium.problem}`)

  test('shows the events of the mesh in the URL, newest first', async ({ page, request }) => {
    const mesh = 'smoke-ui'
    await postEvents(request, smokeEvents(mesh, Date.now()))
    const ids = (await getEvents(request, { mesh })).items.map((item) => item.id)

    const events = new EventsPage(page)
    await events.goto({ mesh })

    await expect(events.items).toHaveCount(3)
    await expect(events.items).toContainText(NEWEST_FIRST)
    for (const [index, id] of ids.entries()) {
      await expect(events.items.nth(index)).toHaveAttribute('data-event-id', id)
    }
    await expect(events.items.nth(1)).toHaveAttribute('data-type', 'warning')
    await expect(events.meshSelector).toContainText(mesh)
    await expect(events.empty).toBeHidden()
  })

  test('renders a message that looks like markup as text', async ({ page, request }) => {
    const mesh = 'smoke-xss'
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    await postEvents(request, smokeEvents(mesh, Date.now()))
    const [newest] = (await getEvents(request, { mesh })).items

    const events = new EventsPage(page)
    await events.goto({ mesh })

    const item = events.item(newest!.id)
    await expect(item).toContainText(XSS_MESSAGE)
    await expect(events.timeline.locator('img')).toHaveCount(0)
    expect(dialogs).toEqual([])
  })

  test('shows the empty state for a mesh without events', async ({ page }) => {
    const events = new EventsPage(page)
    await events.goto({ mesh: 'smoke-nothing-here' })

    await expect(events.empty).toBeVisible()
    await expect(events.items).toHaveCount(0)
  })
})
