/**
 * Where a server process's time went during a benchmark window, from its own `/metrics`: two
 * scrapes (at the start and the end of the window) and the difference of their histograms. The
 * event-loop delay gauges of prom-client are reset by every scrape, so the second scrape reports
 * the window alone. CPU seconds come from `/proc/<pid>/stat` (every thread of the process).
 */
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { round } from './results.ts'

/** `name{labels}` -> value, as the Prometheus text format lists them. */
export type Scrape = Map<string, number>

export function scrape(base: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    httpRequest(`${base}/metrics`, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve(parseMetrics(text)))
      response.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

function parseMetrics(text: string): Scrape {
  const samples: Scrape = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

/** Count, mean and an upper bound of p99 (the bucket it falls in) of one histogram series over the window. */
export interface Stage {
  count: number
  meanMs: number
  p99UpToMs: number
  totalS: number
}

/**
 * The window's figures of histogram `name` for the series whose labels are exactly `labels`
 * (written as Prometheus prints them, `role="reader",stage="wait"`; '' for none).
 */
export function stage(before: Scrape, after: Scrape, name: string, labels = ''): Stage {
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0)
  const suffix = labels === '' ? '' : `{${labels}}`
  const count = delta(`${name}_count${suffix}`)
  const sum = delta(`${name}_sum${suffix}`)
  // prom-client prints `le` first: name_bucket{le="0.005",role="reader",stage="wait"}.
  const bucket = new RegExp(`^${name}_bucket\\{le="([^"]+)"${labels === '' ? '' : `,${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`}\\}$`)
  const buckets = [...after.keys()]
    .flatMap((key) => {
      const le = bucket.exec(key)?.[1]
      return le === undefined ? [] : [{ le: le === '+Inf' ? Infinity : Number(le), n: delta(key) }]
    })
    .sort((a, b) => a.le - b.le)
  const p99 = buckets.find(({ n }) => n >= count * 0.99)?.le ?? Infinity
  return { count, meanMs: count === 0 ? 0 : round((sum / count) * 1000), p99UpToMs: p99 === Infinity ? Infinity : round(p99 * 1000), totalS: round(sum) }
}

/** CPU seconds (user + system, every thread) of process `pid` so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticksPerSecond = 100
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

export const showStage = (figures: Stage) => `${figures.meanMs} ms mean, p99 <= ${figures.p99UpToMs} ms`
