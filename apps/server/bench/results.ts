/** `bench-results.json` at the repository root, shared by every benchmark: each merges its keys in. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const RESULTS_FILE = fileURLToPath(new URL('../../../bench-results.json', import.meta.url))

/** Writes `results`' top-level keys into the results file, keeping the other benchmarks' keys. */
export function mergeResults(results: Record<string, unknown>): void {
  const existing: unknown = existsSync(RESULTS_FILE) ? JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) : {}
  const base = typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {}
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...base, ...results }, null, 2)}\n`)
}
