import { postEvents } from '../support/api.ts'
import { expect, test } from '../support/fixtures.ts'

const MESH = 'sign-in-e2e'

// A browser with no token: what an operator sees first when the server runs with EVENTLINE_TOKEN.
test('asks for the access token, refuses a wrong one, and works live with the right one', async ({ browser, server, request }) => {
  await postEvents(request, [{ id: 'signed-1', type: 'normal', reason: 'Deployed', message: 'first', mesh: MESH }])
  // Playwright Test gives manual contexts the configured options too: drop the token header explicitly.
  const context = await browser.newContext({ baseURL: server.url, extraHTTPHeaders: {} })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))

  await page.goto(`/events?mesh=${MESH}`)
  await expect(page.getByText('Access token required')).toBeVisible()

  await page.getByTestId('token-input').fill('not-the-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert')).toContainText('The server refused this token.')

  await page.getByTestId('token-input').fill(server.token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('event-item')).toHaveCount(1)

  // The live stream carries the token in its URL (EventSource sends no headers).
  await page.getByTestId('live-toggle').click()
  await expect(page.locator('.live-toggle')).toContainText('live')
  await postEvents(request, [{ id: 'signed-2', type: 'warning', reason: 'BackOff', message: 'second', mesh: MESH }])
  await expect(page.getByTestId('event-item').first()).toHaveAttribute('data-event-id', 'signed-2')

  // The token stays for the tab: a reload does not ask again.
  await page.reload()
  await expect(page.getByTestId('event-item')).toHaveCount(2)
  expect(errors).toEqual([])
  await context.close()
})
