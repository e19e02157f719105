/**
 * The webhook sink: POSTs JSON to an HTTP endpoint, in one of three formats.
 *
 * - `json`: consecutive events go together as `{ "events": EventItem[] }` (up to 100 per request),
 *   consecutive alert notices as `{ "alerts": AlertNotice[] }`. Outbox order is kept.
 * - `slack`: one message per event or notice, `{ text, blocks }` as Slack incoming webhooks take
 *   it. `text` is mrkdwn (the notification and fallback), so `&`, `<` and `>` are escaped as Slack
 *   documents; the blocks are `plain_text`, shown as they are.
 * - `dingtalk`: one `{ msgtype: "text", text: { content } }` message per event or notice. DingTalk's
 *   markdown has no escaping, so plain text is the only way to show a message as it is. A robot
 *   takes 20 messages a minute and is blocked for 10 minutes when sent more, so posts start at
 *   least 3 s apart (retries included); errcode 130101 ("send too fast") waits a minute (capped
 *   at `retry.maxMs`) before the next attempt.
 *
 * Configured headers replace the defaults (`Content-Type`, `User-Agent`) whatever their case.
 *
 * `open()` checks once that the URL's host resolves and accepts a TCP connection (no HTTP request,
 * so nothing is posted): a mistyped host is reported when the sink starts, not when the first page
 * fails. Until the check passes the loop logs it and retries, and nothing is sent.
 *
 * What a response means (an operator wants an outage to delay delivery, never to lose it, and one
 * bad message not to block the rest behind it):
 * - 2xx: delivered (for DingTalk, also `errcode` 0 in the body; DingTalk reports errors with 200).
 * - 5xx, 408, 429, timeouts, connection errors, redirects and 4xx that point at the endpoint or its
 *   credentials (401, 403, 404, 410, ...): retried with backoff (honouring `Retry-After`, capped at
 *   `retry.maxMs`) for as long as it takes; the outbox holds the entries and
 *   `eventline_sink_pending` shows them growing.
 * - 400, 413, 415, 422: the receiver refuses the body itself. The loop narrows a refused batch down
 *   to the one entry and drops it after 3 refusals, logged as an error and counted in
 *   `eventline_sink_dropped_total{reason="rejected"}`.
 *
 * Duplicates: a request that timed out, or was cut off or abandoned on shutdown after the receiver
 * got it, is sent again, so a receiver may see an event twice (at least once). It recognises a
 * repeat by the event's `id` and `count` (an alert notice by rule, group, window and kind).
 */
import type { EventItem } from '@eventline/shared'
import { checkReachable, httpRequest, statusError, truncate } from './httpSink.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { Delivery, RetrySettings, SendOutcome, Sink } from './sink.ts'
import type { AlertNotice, WebhookSinkConfig } from './types.ts'

const SLACK_HEADER_MAX = 150
const SLACK_TEXT_MAX = 3000
const DINGTALK_TEXT_MAX = 4000
/** DingTalk robots take 20 messages a minute: one every 3 s. */
const DINGTALK_INTERVAL_MS = 3_000
/** DingTalk's errcode for "send too fast": the robot's per-minute limit was hit. */
const DINGTALK_TOO_FAST = 130101
const DINGTALK_TOO_FAST_WAIT_MS = 60_000

export interface WebhookSinkOptions {
  /** Least time between the starts of two DingTalk posts (default 3 s); for tests. */
  dingtalkIntervalMs?: number
}

/** One request: its JSON body and how many deliveries (from the current position) it carries. */
export interface WebhookRequest {
  body: unknown
  count: number
}

/** Title and plain-text body of a chat message about an event or an alert notice. */
export function chatMessage(item: Delivery): { title: string; text: string } {
  if ('alert' in item) return { title: item.alert.title, text: item.alert.text }
  return eventMessage(item.event)
}

function eventMessage(event: EventItem): { title: string; text: string } {
  const { kind, name, namespace } = event.object
  const object = namespace === undefined ? `${kind} ${name}` : `${kind} ${namespace}/${name}`
  const where = [`mesh ${event.mesh}`]
  if (event.application !== undefined) where.push(`application ${event.application}`)
  if (event.instance !== undefined) where.push(`instance ${event.instance}`)
  const times = event.count === 1 ? `at ${event.time}` : `${event.count} times, last at ${event.time}`
  return {
    title: `${event.type === 'warning' ? 'Warning' : 'Normal'} ${event.reason}: ${object}`,
    text: `${event.message}\n${where.join(', ')}; ${times}`,
  }
}

/** Escapes the three characters Slack's mrkdwn gives meaning to (its "escaping text" rules). */
export function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** The Slack incoming-webhook message of one delivery. */
export function slackBody(item: Delivery): unknown {
  const { title, text } = chatMessage(item)
  // Slack refuses empty plain_text objects: leave out a block with nothing to show.
  const blocks: unknown[] = []
  if (title !== '') blocks.push({ type: 'header', text: { type: 'plain_text', text: truncate(title, SLACK_HEADER_MAX), emoji: false } })
  if (text !== '') blocks.push({ type: 'section', text: { type: 'plain_text', text: truncate(text, SLACK_TEXT_MAX), emoji: false } })
  return { text: slackEscape([title, text].filter(Boolean).join('\n')), blocks }
}

/** The DingTalk robot message of one delivery. */
export function dingtalkBody(item: Delivery): unknown {
  const { title, text } = chatMessage(item)
  return { msgtype: 'text', text: { content: truncate([title, text].filter(Boolean).join('\n'), DINGTALK_TEXT_MAX) } }
}

/** Splits deliveries into requests in the sink's format, in order. */
export function webhookRequests(format: WebhookSinkConfig['format'], items: readonly Delivery[]): WebhookRequest[] {
  if (format === 'slack') return items.map((item) => ({ body: slackBody(item), count: 1 }))
  if (format === 'dingtalk') return items.map((item) => ({ body: dingtalkBody(item), count: 1 }))
  const requests: WebhookRequest[] = []
  let events: EventItem[] = []
  let alerts: AlertNotice[] = []
  const flush = () => {
    if (events.length > 0) requests.push({ body: { events }, count: events.length })
    if (alerts.length > 0) requests.push({ body: { alerts }, count: alerts.length })
    events = []
    alerts = []
  }
  for (const item of items) {
    if ('event' in item) {
      if (alerts.length > 0) flush()
      events.push(item.event)
    } else {
      if (events.length > 0) flush()
      alerts.push(item.alert)
    }
  }
  flush()
  return requests
}

export class WebhookSink implements Sink {
  readonly name: string
  readonly maxBatch: number
  readonly retry: RetrySettings
  /** Least time between the starts of two posts (DingTalk's rate limit), 0 for the others. */
  private readonly intervalMs: number
  /** When the next post may start. */
  private nextPostAt = 0
  /** Whether the host was found reachable once. */
  private reachable = false

  constructor(
    private readonly config: WebhookSinkConfig,
    options: WebhookSinkOptions = {},
  ) {
    this.name = config.name
    // Chat messages go one per request; fewer per batch keeps a shutdown's wait short.
    this.maxBatch = config.format === 'json' ? 100 : 20
    this.retry = config.retry
    this.intervalMs = config.format === 'dingtalk' ? (options.dingtalkIntervalMs ?? DINGTALK_INTERVAL_MS) : 0
  }

  /**
   * Checks once that the URL's host resolves and accepts a TCP connection, within the sink's
   * timeout. No HTTP request: nothing is posted. Throws a `SinkError` naming host and port (never
   * the URL: chat webhook URLs carry their token).
   */
  async open(): Promise<void> {
    if (this.reachable) return
    await checkReachable(this.config.url, this.config.timeoutMs, 'webhook')
    this.reachable = true
  }

  async send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome> {
    let delivered = 0
    for (const request of webhookRequests(this.config.format, items)) {
      try {
        await this.post(request.body, signal)
      } catch (error) {
        return { delivered, error: error instanceof SinkError ? error : new SinkError(reasonOf(error)), failed: request.count }
      }
      delivered += request.count
    }
    return { delivered }
  }

  /** Nothing held open: requests use fetch's shared connection pool. */
  async close(): Promise<void> {}

  /** Waits until the next post may start (DingTalk's spacing); throws when `stop` aborts first. */
  private async spaced(stop: AbortSignal): Promise<void> {
    const wait = this.nextPostAt - Date.now()
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          stop.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, wait)
        stop.addEventListener('abort', done, { once: true })
      })
    }
    if (stop.aborted) throw new SinkError('abandoned on shutdown')
    this.nextPostAt = Date.now() + this.intervalMs
  }

  private async post(body: unknown, stop: AbortSignal): Promise<void> {
    if (stop.aborted) throw new SinkError('abandoned on shutdown')
    // Configured headers are set over the defaults: `Content-Type` replaces `content-type`.
    const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'user-agent': 'eventline' })
    for (const [name, value] of Object.entries(this.config.headers)) headers.set(name, value)
    const payload = JSON.stringify(body)
    // Spaced last: the interval runs from the moment the request goes out, not from before the
    // work of building it (a loaded machine started DingTalk posts 139 ms apart at 150).
    await this.spaced(stop)
    const answer = await httpRequest(this.config.url, { method: 'POST', headers, body: payload }, this.config.timeoutMs, stop)
    if (answer.status >= 200 && answer.status < 300) {
      if (this.config.format === 'dingtalk') checkDingtalk(answer.text)
      return
    }
    throw statusError(answer)
  }
}

/** DingTalk answers 200 with `errcode` set when it did not post the message (rate limit, keyword, token). */
function checkDingtalk(text: string): void {
  let answer: unknown
  try {
    answer = JSON.parse(text)
  } catch {
    return // not DingTalk's JSON (a proxy or a compatible receiver): the 2xx stands
  }
  if (typeof answer !== 'object' || answer === null || !('errcode' in answer)) return
  const { errcode, errmsg } = answer as { errcode: unknown; errmsg?: unknown }
  if (errcode === 0) return
  // Over the robot's per-minute limit: wait the minute out rather than back off from the start.
  const wait = errcode === DINGTALK_TOO_FAST ? DINGTALK_TOO_FAST_WAIT_MS : undefined
  throw new SinkError(`DingTalk errcode ${String(errcode)}: ${String(errmsg ?? '')}`, false, wait)
}
