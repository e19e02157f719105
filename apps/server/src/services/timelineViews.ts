/**
 * Views derived from a timeline's filters (CONTRACT section 3): the event-rate histogram, value
 * facets, and the streamed export. Each reads through the store in bounded steps: the histogram
 * aggregates index ranges, facets count a bounded sample of the newest matches, the export walks
 * keyset pages one at a time and waits for the client to take each before reading the next.
 *
 * Export and spreadsheets: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
 * is a formula to Excel, LibreOffice and Google Sheets, and event text comes from anyone who can
 * create a Kubernetes event or register a service. CSV text cells starting so are prefixed with
 * `'` (OWASP's advice), which spreadsheets show as text; times, counts, types, sources and IPs are
 * never prefixed. NDJSON is data for programs and carries every value unchanged.
 */
import type { ExportQuery, FacetsQuery, Facets, Histogram, HistogramQuery, EventItem } from '@eventline/shared'
import { EXPORT_CSV_COLUMNS, MAX_FACET_VALUES } from '@eventline/shared'
import type { Response } from 'express'
import type { Logger } from '../log.ts'
import type { EventStore, TimelinePosition } from '../store/types.ts'
import type { IngestActivity } from './ingestActivity.ts'
import { toFilter } from './timeline.ts'
import type { TimelineScope } from './timeline.ts'

/** Without `since` and without any match, the histogram shows the hour before `until`. */
const EMPTY_RANGE_MS = 3_600_000
/** Events per export page: one page of rows is what the export holds in memory at a time. */
const EXPORT_PAGE = 1000

type Column = (typeof EXPORT_CSV_COLUMNS)[number]

const CSV_VALUE: Record<Column, (item: EventItem) => string | number | undefined> = {
  time: (item) => item.time,
  firstTime: (item) => item.firstTime,
  count: (item) => item.count,
  type: (item) => item.type,
  reason: (item) => item.reason,
  message: (item) => item.message,
  source: (item) => item.source,
  component: (item) => item.component,
  mesh: (item) => item.mesh,
  kind: (item) => item.object.kind,
  namespace: (item) => item.object.namespace,
  name: (item) => item.object.name,
  application: (item) => item.application,
  instance: (item) => item.instance,
  ip: (item) => item.ip,
  service: (item) => item.service,
}
/** Columns whose values are produced by Eventline itself and cannot start a formula. */
const TRUSTED_COLUMNS = new Set<Column>(['time', 'firstTime', 'count', 'type', 'source', 'ip'])
const FORMULA_START = /^[=+\-@\t\r]/

/** One CSV field: RFC 4180 quoting where needed, formula starts neutralised in text columns. */
export function csvField(value: string | number | undefined, column: Column): string {
  if (value === undefined) return ''
  let text = String(value)
  if (!TRUSTED_COLUMNS.has(column) && FORMULA_START.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(item: EventItem): string {
  return `${EXPORT_CSV_COLUMNS.map((column) => csvField(CSV_VALUE[column](item), column)).join(',')}\r\n`
}

/** Resolves when the response can take more (`drain`) or the client went away (`close`). */
function writable(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

export class TimelineViewsService {
  constructor(
    private readonly store: EventStore,
    private readonly activity: IngestActivity | undefined,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async histogram(query: HistogramQuery, scope: TimelineScope = {}): Promise<Histogram> {
    const { buckets: wanted, ...rest } = query
    const filter = toFilter(rest, scope)
    const until = filter.until ?? this.now()
    const since = filter.since ?? (await this.store.oldestMatch({ ...filter, until })) ?? until - EMPTY_RANGE_MS
    // An oldest match at `until` itself cannot be (time < until); a range is at least 1 ms.
    const start = Math.min(since, until - 1)
    const bucketMs = Math.max(1, Math.ceil((until - start) / wanted))
    const count = Math.ceil((until - start) / bucketMs)
    const { counts, capped } = await this.store.histogram({ ...filter, since: start, until }, bucketMs, count)
    const gaps = this.activity ? await this.activity.gaps({ ...(filter.mesh === undefined ? {} : { mesh: filter.mesh }), since: start, until }) : []
    const histogram: Histogram = {
      since: new Date(start).toISOString(),
      until: new Date(until).toISOString(),
      bucketMs,
      buckets: counts.map((bucket, index) => ({ start: new Date(start + index * bucketMs).toISOString(), ...bucket })),
      gaps,
    }
    if (capped) histogram.capped = true
    return histogram
  }

  async facets(query: FacetsQuery, scope: TimelineScope = {}): Promise<Facets> {
    const { field, ...rest } = query
    const result = await this.store.facets(toFilter(rest, scope), field, MAX_FACET_VALUES)
    return { field, items: result.items, capped: result.capped }
  }

  /**
   * Streams every match, newest first, up to `max`. Memory stays one page whatever the size: a
   * page is read only after the client has taken the previous one (backpressure), and the walk
   * stops when the client goes away. A failure after the first byte destroys the response, so a
   * truncated download never looks complete.
   */
  async export(res: Response, query: ExportQuery, scope: TimelineScope = {}): Promise<void> {
    const { format, max, ...rest } = query
    const filter = toFilter(rest, scope)
    const stamp = new Date(this.now()).toISOString().replaceAll(':', '').replace(/\.\d+Z$/, 'Z')
    res.status(200).set({
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="eventline-events-${stamp}.${format}"`,
    })
    let gone = false
    res.once('close', () => {
      gone = true
    })
    const encode = format === 'csv' ? csvRow : (item: EventItem) => `${JSON.stringify(item)}\n`
    try {
      if (format === 'csv' && !res.write(`${EXPORT_CSV_COLUMNS.join(',')}\r\n`)) await writable(res)
      let after: TimelinePosition | undefined
      let written = 0
      while (!gone && written < max) {
        const page = await this.store.timelinePage(filter, Math.min(EXPORT_PAGE, max - written), after)
        written += page.items.length
        if (page.items.length > 0 && !res.write(page.items.map(encode).join('')) && !gone) await writable(res)
        if (!page.next) break
        after = page.next
      }
      if (!gone) res.end()
    } catch (error) {
      if (!res.headersSent) throw error // nothing sent yet: the error handler answers properly
      this.log.error('export failed', { error: (error as Error).message })
      res.destroy(error as Error)
    }
  }
}
