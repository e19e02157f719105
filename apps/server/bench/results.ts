/** What every benchmark shares: `bench-results.json` at the repository root (each merges its keys in) and the printed tables. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const RESULTS_FILE = fileURLToPath(new URL('../../../bench-results.json', import.meta.url))

/** Writes `results`' top-level keys into the results file, keeping the other benchmarks' keys. */
export function mergeResults(results: Record<string, unknown>): void {
  const existing: unknown = existsSync(RESULTS_FILE) ? JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) : {}
  const base = typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {}
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...base, ...results }, null, 2)}\n`)
}

/** Prints rows as a table: the first row is the header, the first column left-aligned, the others right-aligned. */
export function printTable(rows: ReadonlyArray<readonly string[]>): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)))
  for (const [index, row] of rows.entries()) {
    console.log(widths.map((width, column) => (column === 0 ? (row[0] ?? '').padEnd(width) : (row[column] ?? '').padStart(width))).join('  '))
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  }
}

/** Nearest-rank percentile of `values` (0 < q <= 1). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export interface Latency {
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** `value` rounded to `digits` decimals, for printed and stored figures. */
export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

/** p50, p99 and max of latencies in ms (NaN for no samples). */
export function latency(values: readonly number[]): Latency {
  if (values.length === 0) return { samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN }
  return { samples: values.length, p50Ms: round(percentile(values, 0.5)), p99Ms: round(percentile(values, 0.99)), maxMs: round(Math.max(...values)) }
}

export const showLatency = (figures: Latency) => `${figures.p50Ms} / ${figures.p99Ms} / ${figures.maxMs} ms`
