/**
 * The Loki sink: pushes events to Grafana Loki's push API (`POST <url>/loki/api/v1/push`, JSON),
 * one log line per event (the event as JSON, as the API serves it), timestamped by its `time`.
 *
 * Streams: Loki indexes labels, not lines, and every distinct label set is a stream it keeps in
 * memory; a label with unbounded values (a pod name, an event id) multiplies streams until the
 * tenant's stream limit refuses pushes. So the labels come only from fields with few values (see
 * `LOKI_LABEL_FIELDS`; default mesh, source, type, namespace, kind) plus fixed `staticLabels`
 * (default `job="eventline"`). Everything else is in the line, for LogQL's `| json`. An alert
 * notice goes to the stream of its mesh with `alert_rule` (rule names are few), its line the notice.
 *
 * Batching: the loop sends up to `maxEntries` at a time and, when fewer are pending, waits
 * `batchWaitMs` once for more (promtail's batchwait); a batch is split into pushes of at most
 * `maxBytes` of JSON. Within a push each stream's entries are in time order (older Loki refuses
 * anything else; newer Loki accepts either).
 *
 * What an answer means, beyond the shared HTTP reading (httpSink.ts):
 * - 204/2xx: stored.
 * - 400 naming out-of-order, too-far-behind or too-old/too-new entries: Loki stored the rest of the
 *   push and ignored those; sending them again gets the same answer, forever. They are counted in
 *   `eventline_sink_dropped_total{reason="out_of_order"|"out_of_range"}` and logged, and the push
 *   counts as delivered.
 * - any other 400 (a line over Loki's size limit, a label it refuses): the body itself is refused;
 *   the loop narrows the batch down to the one entry and drops it after 3 refusals.
 * - 429 (ingestion rate or stream limit): retried with backoff, honouring `Retry-After`; nothing is
 *   lost, the outbox holds it.
 *
 * Duplicates: a push whose answer was lost is sent again. Loki drops an entry whose stream,
 * timestamp and line are all the same as a stored one, so a repeat of an unchanged event is
 * harmless; an event updated since (a count bump) is a new line, as it is a new state.
 *
 * Known limits (candidly): JSON only; the snappy-compressed protobuf push would save bandwidth but
 * needs two more dependencies for a format Loki reads either way.
 */
import type { EventItem } from '@eventline/shared'
import { basicAuth, checkReachable, httpRequest, statusError } from './httpSink.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { Delivery, RetrySettings, SendOutcome, Sink } from './sink.ts'
import type { LokiLabelField, LokiSinkConfig } from './types.ts'

export const DEFAULT_LOKI_LABELS: readonly LokiLabelField[] = ['mesh', 'source', 'type', 'namespace', 'kind']

/** One push: its JSON body and how many deliveries (from the current position) it carries. */
export interface LokiPush {
  body: string
  count: number
}

type Labels = Record<string, string>

function fieldValue(event: EventItem, field: LokiLabelField): string | undefined {
  if (field === 'namespace') return event.object.namespace
  if (field === 'kind') return event.object.kind
  return event[field]
}

/** The stream labels and the line of one delivery. */
export function lokiEntry(item: Delivery, config: Pick<LokiSinkConfig, 'labels' | 'staticLabels'>): { labels: Labels; ns: string; line: string } {
  const labels: Labels = { ...config.staticLabels }
  if ('alert' in item) {
    const { alert } = item
    labels.mesh = alert.event.mesh
    labels.alert_rule = alert.rule
    const at = alert.kind === 'first' ? Date.parse(alert.event.time) : alert.windowEnd
    return { labels, ns: nanoseconds(at), line: JSON.stringify(alert) }
  }
  // Loki has no empty label values: a field the event lacks is left out of its labels.
  for (const field of config.labels) {
    const value = fieldValue(item.event, field)
    if (value !== undefined && value !== '') labels[field] = value
  }
  return { labels, ns: nanoseconds(Date.parse(item.event.time)), line: JSON.stringify(item.event) }
}

const nanoseconds = (ms: number) => (BigInt(Math.trunc(ms)) * 1_000_000n).toString()

/** A stream's key: its labels sorted, as Loki identifies streams. */
const streamKey = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/** Splits deliveries into pushes of at most `maxBytes` (one entry always fits alone), in order. */
export function lokiPushes(items: readonly Delivery[], config: Pick<LokiSinkConfig, 'labels' | 'staticLabels' | 'maxBytes'>): LokiPush[] {
  const pushes: LokiPush[] = []
  let streams = new Map<string, { stream: Labels; values: Array<[string, string]> }>()
  let count = 0
  let bytes = 0
  const flush = () => {
    if (count === 0) return
    const body = [...streams.values()].map(({ stream, values }) => ({
      stream,
      // Stable: entries with the same timestamp keep their outbox order.
      values: values.map((value, index) => ({ value, index })).sort((a, b) => compareNs(a.value[0], b.value[0]) || a.index - b.index).map(({ value }) => value),
    }))
    pushes.push({ body: JSON.stringify({ streams: body }), count })
    streams = new Map()
    count = 0
    bytes = 0
  }
  for (const item of items) {
    const { labels, ns, line } = lokiEntry(item, config)
    const size = line.length + ns.length + 8
    if (count > 0 && bytes + size > config.maxBytes) flush()
    const key = streamKey(labels)
    let stream = streams.get(key)
    if (!stream) {
      stream = { stream: labels, values: [] }
      streams.set(key, stream)
      bytes += key.length
    }
    stream.values.push([ns, line])
    count++
    bytes += size
  }
  flush()
  return pushes
}

function compareNs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

/** Loki's per-entry refusals in a push it otherwise stored: the reason label, or undefined. */
export function lokiDiscardReason(text: string): 'out_of_order' | 'out_of_range' | undefined {
  if (/out of order|too far behind/i.test(text)) return 'out_of_order'
  if (/timestamp too (old|new)|greater_than_max_sample_age|too far in the future/i.test(text)) return 'out_of_range'
  return undefined
}

export class LokiSink implements Sink {
  readonly name: string
  readonly maxBatch: number
  readonly retry: RetrySettings
  readonly batchWaitMs: number
  private readonly pushUrl: string
  private readonly headers: Headers
  private reachable = false

  constructor(private readonly config: LokiSinkConfig) {
    this.name = config.name
    this.maxBatch = config.maxEntries
    this.retry = config.retry
    this.batchWaitMs = config.batchWaitMs
    this.pushUrl = `${config.url.replace(/\/+$/, '')}/loki/api/v1/push`
    this.headers = new Headers({ 'content-type': 'application/json', 'user-agent': 'eventline' })
    if (config.tenant !== undefined) this.headers.set('x-scope-orgid', config.tenant)
    if (config.username !== undefined) this.headers.set('authorization', basicAuth(config.username, config.password ?? ''))
    else if (config.bearerToken !== undefined) this.headers.set('authorization', `Bearer ${config.bearerToken}`)
    for (const [name, value] of Object.entries(config.headers)) this.headers.set(name, value)
  }

  async open(): Promise<void> {
    if (this.reachable) return
    await checkReachable(this.config.url, this.config.timeoutMs, 'Loki')
    this.reachable = true
  }

  async send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome> {
    let delivered = 0
    let discarded: SendOutcome['discarded']
    for (const push of lokiPushes(items, this.config)) {
      let error: SinkError | undefined
      try {
        const answer = await httpRequest(this.pushUrl, { method: 'POST', headers: this.headers, body: push.body }, this.config.timeoutMs, signal)
        const reason = answer.status === 400 ? lokiDiscardReason(answer.text) : undefined
        if (reason) {
          // "total ignored: 3 out of 50": Loki stored the others.
          const ignored = Number(/total ignored: (\d+)/.exec(answer.text)?.[1] ?? push.count)
          const count = (discarded?.count ?? 0) + Math.min(ignored, push.count)
          discarded = { reason, count, detail: answer.text.trim().split('\n')[0]!.slice(0, 300) }
        } else if (answer.status < 200 || answer.status >= 300) {
          error = statusError(answer)
        }
      } catch (thrown) {
        error = thrown instanceof SinkError ? thrown : new SinkError(reasonOf(thrown))
      }
      if (error) return { delivered, error, failed: push.count, ...(discarded ? { discarded } : {}) }
      delivered += push.count
    }
    return { delivered, ...(discarded ? { discarded } : {}) }
  }

  /** Nothing held open: requests use fetch's shared connection pool. */
  async close(): Promise<void> {}
}
