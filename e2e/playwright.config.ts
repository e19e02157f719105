import { defineConfig, devices } from '@playwright/test'
import { CHROMIUM_ARGS, findChromium } from './support/chromium.ts'

const onCi = process.env.CI === 'true'
const chromium = findChromium()

if (!chromium.found) {
  // CI must prove the console works in a browser: a missing one fails the run instead of passing it quietly.
  if (onCi) throw new Error(`[e2e] the browser tests cannot run on CI: ${chromium.problem}`)
  // The config loads in every worker too; say it once, from the runner.
  if (process.env.TEST_WORKER_INDEX === undefined) console.warn(`[e2e] browser tests will be skipped: ${chromium.problem}`)
}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  // One server per worker and one SQLite file per server: a single worker keeps the run small and ordered.
  workers: 1,
  fullyParallel: false,
  forbidOnly: onCi,
  retries: 0,
  // Waits are for conditions; these bounds only decide how long a real failure takes to report. Parts
  // that load after the first rows (header controls, toolbar) took over 5 s at a load average of 30.
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: 'list',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: { executablePath: chromium.path, args: CHROMIUM_ARGS },
      },
    },
  ],
})
