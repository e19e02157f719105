/**
 * axe-core in the page under test. The console's CSP (`script-src 'self'`) refuses an inline
 * `<script>` (so `page.addScriptTag({ content })` would be blocked and log a CSP error);
 * `page.evaluate` of the source runs through the DevTools protocol, which the CSP does not govern,
 * so the page keeps its real policy while it is checked.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from '@playwright/test'

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeFinding {
  id: string
  impact: string | null
  help: string
  targets: string[]
  /** What axe says is wrong with the first node (for contrast: the colours and the ratio). */
  summary: string | undefined
}

/** Runs axe-core (WCAG 2.x A and AA rules) on the page; returns the critical and serious findings. */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(`${AXE_SOURCE}\n;undefined`)
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }> }> } }).axe
    // Options alone: axe then checks the whole document (no DOM types here, this file is checked for Node).
    const result = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
    return result.violations
      .filter((violation) => violation.impact === 'critical' || violation.impact === 'serious')
      .map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, targets: violation.nodes.slice(0, 5).map((node) => node.target.join(' ')), summary: violation.nodes[0]?.failureSummary }))
  })
}
