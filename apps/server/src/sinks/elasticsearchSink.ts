/**
 * The Elasticsearch / OpenSearch sink: indexes events with the `_bulk` API, one `index` action per
 * event keyed by the event id, so an updated event (a count bump) replaces its document and a
 * redelivery is harmless. The index name comes from a pattern (`%Y`, `%m`, `%d`: the event's UTC
 * date; default `eventline-%Y.%m.%d`, one index a day, as Beats and Logstash name theirs).
 *
 * When the sink opens it makes sure an index template covers the pattern (created only when
 * absent, never overwritten: an operator's edits win): keyword fields for everything the console
 * filters by, text for the message, dates for the times, `@timestamp` for Kibana and OpenSearch
 * Dashboards. Unmapped fields stay in `_source` without being indexed (`dynamic: false`), so an
 * event can never add a field mapping of its own.
 *
 * What a `_bulk` answer means:
 * - 200 with `errors: false`: every document indexed.
 * - 200 with `errors: true`: items are read in order. The items before the first failed one are
 *   delivered; the failed one is retried (429, 5xx: the cluster is busy) or treated as refused
 *   (other 4xx, e.g. a mapping conflict): the loop narrows the batch to it, retries it alone and
 *   drops it after 3 refusals, counted in `eventline_sink_dropped_total{reason="rejected"}`.
 *   Items after it that were indexed are sent again with it; being keyed by id, that is harmless.
 * - other statuses: the shared HTTP reading (httpSink.ts): 429/5xx/401/403 retried, 400/413
 *   refused and narrowed.
 *
 * Alert notices are indexed too, in the index of their window's end, `_id` from rule, group,
 * window and kind (a repeat replaces itself), with `kind: "alert"`.
 */
import { createHash } from 'node:crypto'
import type { EventItem } from '@eventline/shared'
import { basicAuth, checkReachable, httpRequest, statusError } from './httpSink.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { Delivery, RetrySettings, SendOutcome, Sink } from './sink.ts'
import type { AlertNotice, ElasticsearchSinkConfig } from './types.ts'

export const DEFAULT_ES_INDEX = 'eventline-%Y.%m.%d'
export const DEFAULT_ES_TEMPLATE = 'eventline'

/** The index of a date under `pattern` (UTC). */
export function indexName(pattern: string, ms: number): string {
  const date = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return pattern
    .replaceAll('%Y', String(date.getUTCFullYear()))
    .replaceAll('%m', two(date.getUTCMonth() + 1))
    .replaceAll('%d', two(date.getUTCDate()))
}

/** The index pattern a template must cover for `pattern`. */
export function templatePatterns(pattern: string): string[] {
  return [pattern.replace(/%[Ymd]/g, '*').replace(/\*+/g, '*')]
}

const keyword = { type: 'keyword' }
const date = { type: 'date' }

/** The index template: the console's filter fields as keywords, the message as text. */
export function indexTemplate(pattern: string): unknown {
  return {
    index_patterns: templatePatterns(pattern),
    // Above the built-in templates' 100 (logs-*-*), so ours applies to our indices.
    priority: 200,
    template: {
      mappings: {
        dynamic: false,
        properties: {
          '@timestamp': date,
          id: keyword,
          time: date,
          firstTime: date,
          count: { type: 'long' },
          type: keyword,
          reason: keyword,
          message: { type: 'text' },
          source: keyword,
          component: keyword,
          host: keyword,
          mesh: keyword,
          object: { properties: { kind: keyword, name: keyword, namespace: keyword, uid: keyword, fieldPath: keyword } },
          application: keyword,
          instance: keyword,
          ip: keyword,
          service: keyword,
          category: keyword,
          action: keyword,
          kind: keyword,
          notice: keyword,
          rule: keyword,
          title: { type: 'text' },
          windowStart: date,
          windowEnd: date,
        },
      },
    },
    _meta: { description: 'Eventline events and alert notices', managed_by: 'eventline' },
  }
}

interface BulkDocument {
  index: string
  id: string
  source: Record<string, unknown>
}

/** The document (index, `_id`, body) of one delivery. */
export function bulkDocument(item: Delivery, pattern: string): BulkDocument {
  if ('event' in item) return eventDocument(item.event, pattern)
  return alertDocument(item.alert, pattern)
}

function eventDocument(event: EventItem, pattern: string): BulkDocument {
  return { index: indexName(pattern, Date.parse(event.time)), id: event.id, source: { '@timestamp': event.time, ...event } }
}

function alertDocument(alert: AlertNotice, pattern: string): BulkDocument {
  const id = `alert:${createHash('sha256').update([alert.rule, alert.group, alert.windowStart, alert.kind].join('\u0000')).digest('hex').slice(0, 40)}`
  const { windowStart, windowEnd, kind, ...rest } = alert
  return {
    index: indexName(pattern, windowEnd),
    id,
    source: { '@timestamp': new Date(windowEnd).toISOString(), kind: 'alert', notice: kind, ...rest, windowStart: new Date(windowStart).toISOString(), windowEnd: new Date(windowEnd).toISOString() },
  }
}

/** One `_bulk` request: NDJSON and how many deliveries it carries. */
export interface BulkRequest {
  body: string
  count: number
}

/** Splits deliveries into `_bulk` requests of at most `maxBytes` (one document always fits alone). */
export function bulkRequests(items: readonly Delivery[], pattern: string, maxBytes: number): BulkRequest[] {
  const requests: BulkRequest[] = []
  let lines = ''
  let count = 0
  for (const item of items) {
    const document = bulkDocument(item, pattern)
    const pair = `${JSON.stringify({ index: { _index: document.index, _id: document.id } })}\n${JSON.stringify(document.source)}\n`
    if (count > 0 && lines.length + pair.length > maxBytes) {
      requests.push({ body: lines, count })
      lines = ''
      count = 0
    }
    lines += pair
    count++
  }
  if (count > 0) requests.push({ body: lines, count })
  return requests
}

interface BulkItem {
  status: number
  error?: { type?: string; reason?: string }
}

/**
 * Reads a `_bulk` answer: how many items from the start were indexed, and the error of the first
 * one that was not (undefined when all were).
 */
export function readBulkAnswer(text: string, count: number): { indexed: number; error?: SinkError } {
  let answer: { errors?: boolean; items?: Array<Record<string, BulkItem>> }
  try {
    answer = JSON.parse(text) as typeof answer
  } catch {
    return { indexed: 0, error: new SinkError('the _bulk answer is not JSON') }
  }
  if (answer.errors !== true) return { indexed: count }
  const items = answer.items ?? []
  for (let index = 0; index < count; index++) {
    const result = items[index] && Object.values(items[index]!)[0]
    if (!result) return { indexed: index, error: new SinkError(`the _bulk answer has no item ${index}`) }
    if (result.status >= 200 && result.status < 300) continue
    const why = `document ${index}: ${result.status} ${result.error?.type ?? ''}: ${(result.error?.reason ?? '').slice(0, 200)}`
    const busy = result.status === 429 || result.status >= 500
    return { indexed: index, error: new SinkError(why, !busy) }
  }
  return { indexed: count }
}

export class ElasticsearchSink implements Sink {
  readonly name: string
  readonly maxBatch: number
  readonly retry: RetrySettings
  private readonly base: string
  private readonly headers: Headers
  private reachable = false
  private templateChecked = false

  constructor(private readonly config: ElasticsearchSinkConfig) {
    this.name = config.name
    this.maxBatch = config.maxDocuments
    this.retry = config.retry
    this.base = config.url.replace(/\/+$/, '')
    this.headers = new Headers({ 'content-type': 'application/json', 'user-agent': 'eventline' })
    if (config.username !== undefined) this.headers.set('authorization', basicAuth(config.username, config.password ?? ''))
    else if (config.apiKey !== undefined) this.headers.set('authorization', `ApiKey ${config.apiKey}`)
    for (const [name, value] of Object.entries(config.headers)) this.headers.set(name, value)
  }

  /** Reachable, then the index template in place (created when absent). */
  async open(): Promise<void> {
    if (!this.reachable) {
      await checkReachable(this.config.url, this.config.timeoutMs, 'Elasticsearch')
      this.reachable = true
    }
    if (this.templateChecked || this.config.template === undefined) return
    const url = `${this.base}/_index_template/${encodeURIComponent(this.config.template)}`
    const stop = new AbortController().signal
    const found = await httpRequest(url, { method: 'GET', headers: this.headers }, this.config.timeoutMs, stop)
    if (found.status === 404) {
      const created = await httpRequest(url, { method: 'PUT', headers: this.headers, body: JSON.stringify(indexTemplate(this.config.index)) }, this.config.timeoutMs, stop)
      if (created.status < 200 || created.status >= 300) throw new SinkError(`creating the index template "${this.config.template}": ${statusError(created, new Set()).message}`)
    } else if (found.status < 200 || found.status >= 300) {
      throw new SinkError(`reading the index template "${this.config.template}": ${statusError(found, new Set()).message}`)
    }
    this.templateChecked = true
  }

  async send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome> {
    let delivered = 0
    const headers = new Headers(this.headers)
    headers.set('content-type', 'application/x-ndjson')
    for (const request of bulkRequests(items, this.config.index, this.config.maxBytes)) {
      try {
        const answer = await httpRequest(`${this.base}/_bulk`, { method: 'POST', headers, body: request.body }, this.config.timeoutMs, signal)
        if (answer.status < 200 || answer.status >= 300) return { delivered, error: statusError(answer), failed: request.count }
        const { indexed, error } = readBulkAnswer(answer.text, request.count)
        if (error) return { delivered: delivered + indexed, error, failed: 1 }
      } catch (thrown) {
        return { delivered, error: thrown instanceof SinkError ? thrown : new SinkError(reasonOf(thrown)), failed: request.count }
      }
      delivered += request.count
    }
    return { delivered }
  }

  async close(): Promise<void> {}
}
