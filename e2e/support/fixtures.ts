/**
 * `test` with the real server: one per worker, started before its first test and stopped after
 * its last. `baseURL` points at it and every request (the page's and `request`'s) carries the token.
 */
import { test as base, expect } from '@playwright/test'
import { startServer } from './server.ts'
import type { RunningServer } from './server.ts'

interface WorkerFixtures {
  server: RunningServer
}

interface TestFixtures {
  /** Console errors a test expects (a 404 the page shows as its not-found state); any other fails it. */
  expectedConsoleErrors: RegExp[]
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  expectedConsoleErrors: [[], { option: true }],
  server: [
    // The empty pattern is how Playwright learns this fixture depends on no other.
    async ({}, use) => {
      const server = await startServer()
      try {
        await use(server)
      } finally {
        await server.stop()
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  baseURL: async ({ server }, use) => {
    await use(server.url)
  },
  // The server runs with a token, so the SPA's own API calls need it too; the console has no
  // sign-in yet, so the browser context sends it the way a proxy in front of Eventline would.
  extraHTTPHeaders: async ({ server }, use) => {
    await use({ Authorization: `Bearer ${server.token}` })
  },
  // A page that logged an error (a script failure, a request the CSP blocked) fails its test.
  page: async ({ page, expectedConsoleErrors }, use) => {
    const errors: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' && !expectedConsoleErrors.some((pattern) => pattern.test(message.text()))) errors.push(message.text())
    })
    page.on('pageerror', (error) => errors.push(error.message))
    await use(page)
    expect(errors, 'errors in the browser console').toEqual([])
  },
})

export { expect }
