import type { PostEvent } from '@eventline/shared'
import { postEvents } from '../support/api.ts'
import { expect, test } from '../support/fixtures.ts'

const MESH = 'live-e2e'

function event(id: string, minutesAgo: number, extra: Partial<PostEvent> = {}): PostEvent {
  return {
    id,
    time: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    type: 'normal',
    reason: 'Deployed',
    message: `deployment ${id}`,
    mesh: MESH,
    application: 'checkout',
    ...extra,
  }
}

test('a posted event appears live at the top of the timeline, without a reload', async ({ page, request }) => {
  await postEvents(request, [event('old-1', 30), event('old-2', 20)])
  await page.goto(`/applications/checkout/events?mesh=${MESH}`)
  const items = page.getByTestId('event-item')
  await expect(items).toHaveCount(2)

  await page.getByTestId('live-toggle').click()
  await expect(page).toHaveURL(/[?&]live=1/)
  await expect(page.locator('.live-toggle')).toContainText('live')

  await postEvents(request, [event('new-1', 0, { type: 'warning', reason: 'BackOff', message: 'Back-off restarting failed container' })])
  await expect(items.first()).toHaveAttribute('data-event-id', 'new-1')
  await expect(items.first()).toHaveAttribute('data-type', 'warning')
  await expect(items).toHaveCount(3)

  // Another application's event is not this timeline's.
  await postEvents(request, [event('elsewhere', 0, { application: 'payments' })])
  await postEvents(request, [event('new-2', 0)])
  await expect(items.first()).toHaveAttribute('data-event-id', 'new-2')
  await expect(page.locator('[data-event-id="elsewhere"]')).toHaveCount(0)
  await expect(items).toHaveCount(4)
})
