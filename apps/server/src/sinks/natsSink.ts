/**
 * The NATS JetStream sink: each event as a CloudEvents 1.0 JSON message (structured mode) on a
 * subject after the "ops" scheme, in a stream it creates when absent. `Nats-Msg-Id` is the
 * CloudEvent id (event id and count), so a message sent again within the stream's duplicate window
 * (a retry after a lost ack, a restart before the outbox delete) is dropped by JetStream itself.
 *
 * Subjects (`{prefix}` is `subjectPrefix`, every other part one token, see `subjectToken`):
 * - namespaced Kubernetes objects: `{prefix}.clusters.{cluster}.namespaces.{ns}.{kind}s.{name}.events`
 * - nodes: `{prefix}.clusters.{cluster}.nodes.{node}.events`
 * - other cluster-scoped Kubernetes objects: `{prefix}.clusters.{cluster}.{kind}s.{name}.events`
 * - registry events (and posted or demo events without a namespace):
 *   `{prefix}.meshes.{mesh}.applications.{app}.events`, or `{prefix}.meshes.{mesh}.events` when
 *   the event names no application
 * - alert notices: `{prefix}.alerts.{rule}`
 * The cluster is the event's mesh (the Kubernetes source's cluster name).
 */
import { createHash } from 'node:crypto'
import type { EventItem } from '@eventline/shared'
import { connect, headers as natsHeaders, nanos, NatsError, RetentionPolicy, StorageType } from 'nats'
import type { ConnectionOptions, JetStreamClient, NatsConnection, StreamConfig } from 'nats'
import type { Logger } from '../log.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { Delivery, SendOutcome, Sink } from './sink.ts'
import type { AlertNotice, NatsSinkConfig } from './types.ts'

/** A CloudEvents 1.0 event in JSON (structured content mode). */
export interface CloudEvent<T> {
  specversion: '1.0'
  id: string
  source: string
  type: string
  subject: string
  time: string
  datacontenttype: 'application/json'
  data: T
}

export interface NatsSinkOptions {
  /** How long to wait for JetStream's ack of one message (default 5 s). */
  publishTimeoutMs?: number
  /** How long one connection attempt may take (default 5 s). */
  connectTimeoutMs?: number
}

// Characters a NATS subject token cannot hold: the separator, the wildcards, whitespace and
// controls. `%` is escaped too, so the mapping can be undone.
const UNSAFE = /[%.*>\s\p{Cc}]/gu

/**
 * One subject token for a name: `%`, `.`, `*`, `>`, whitespace and control characters become `%`
 * and two upper-case hex digits per UTF-8 byte (`10.0.0.7` -> `10%2E0%2E0%2E7`, `a b` -> `a%20b`);
 * decoding with `decodeURIComponent` gives the name back. An empty name becomes `_`.
 */
export function subjectToken(name: string): string {
  if (name === '') return '_'
  return name.replace(UNSAFE, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  )
}

/** The lower-case plural of a Kubernetes kind, as in resource paths (`Pod` -> `pods`, `Ingress` -> `ingresses`). */
export function kindPlural(kind: string): string {
  const lower = kind.toLowerCase()
  if (lower === 'endpoints') return lower
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`
  return `${lower}s`
}

/** The subject an event is published on (see the module comment). */
export function eventSubject(prefix: string, event: EventItem): string {
  const { kind, name, namespace } = event.object
  const cluster = `${prefix}.clusters.${subjectToken(event.mesh)}`
  if (namespace !== undefined) return `${cluster}.namespaces.${subjectToken(namespace)}.${subjectToken(kindPlural(kind))}.${subjectToken(name)}.events`
  if (kind === 'Node') return `${cluster}.nodes.${subjectToken(name)}.events`
  if (event.source === 'kubernetes') return `${cluster}.${subjectToken(kindPlural(kind))}.${subjectToken(name)}.events`
  const mesh = `${prefix}.meshes.${subjectToken(event.mesh)}`
  return event.application === undefined ? `${mesh}.events` : `${mesh}.applications.${subjectToken(event.application)}.events`
}

/** The subject an alert notice is published on. */
export function alertSubject(prefix: string, alert: AlertNotice): string {
  return `${prefix}.alerts.${subjectToken(alert.rule)}`
}

/** The CloudEvent of an event. Its id (event id and count) names the occurrence: a retry repeats it. */
export function eventCloudEvent(event: EventItem): CloudEvent<EventItem> {
  const { kind, name, namespace } = event.object
  return {
    specversion: '1.0',
    id: `${event.id}:${event.count}`,
    source: `eventline/${encodeURIComponent(event.mesh)}`,
    type: `io.eventline.event.${event.source}`,
    subject: namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`,
    time: event.time,
    datacontenttype: 'application/json',
    data: event,
  }
}

/**
 * The CloudEvent of an alert notice. Its id derives from the rule, the group, the window and the
 * kind of notice, so a retry repeats it and the next window's notice differs.
 */
export function alertCloudEvent(alert: AlertNotice): CloudEvent<AlertNotice> {
  const group = createHash('sha256').update(alert.group).digest('hex').slice(0, 16)
  return {
    specversion: '1.0',
    id: `alert:${alert.rule}:${group}:${alert.windowStart}:${alert.kind}`,
    source: `eventline/${encodeURIComponent(alert.event.mesh)}`,
    type: `io.eventline.alert.${alert.kind}`,
    subject: alert.rule,
    time: new Date(alert.kind === 'first' ? alert.windowStart : alert.windowEnd).toISOString(),
    datacontenttype: 'application/json',
    data: alert,
  }
}

/** Checks a configured subject prefix: dot-separated tokens, none empty, no wildcard or whitespace. */
function checkedPrefix(prefix: string, sink: string): string {
  if (prefix.split('.').some((token) => token === '' || /[*>\s]/.test(token))) {
    throw new Error(`sink ${sink}: subjectPrefix "${prefix}" is not a NATS subject (tokens separated by ".", no "*", ">" or whitespace)`)
  }
  return prefix
}

const encoder = new TextEncoder()

export class NatsSink implements Sink {
  readonly maxBatch = 100
  readonly name: string
  private readonly prefix: string
  private readonly publishTimeoutMs: number
  private readonly connectTimeoutMs: number
  private connection: NatsConnection | undefined
  private jetstream: JetStreamClient | undefined
  /** Whether the stream was found or created since the last failure. */
  private streamReady = false
  private closed = false

  constructor(
    private readonly config: NatsSinkConfig,
    private readonly log: Logger,
    options: NatsSinkOptions = {},
  ) {
    this.name = config.name
    this.prefix = checkedPrefix(config.subjectPrefix, config.name)
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000
  }

  async open(): Promise<void> {
    if (this.closed) throw new Error('sink is closed')
    if (!this.connection || this.connection.isClosed()) await this.connect()
    if (!this.streamReady) {
      await this.ensureStream()
      this.streamReady = true
    }
  }

  private async connect(): Promise<void> {
    const options: ConnectionOptions = {
      servers: this.config.servers,
      name: `eventline/${this.name}`,
      timeout: this.connectTimeoutMs,
      // Once connected, the client reconnects by itself for as long as it takes; meanwhile
      // publishes time out, the loop backs off and the outbox keeps the entries.
      reconnect: true,
      maxReconnectAttempts: -1,
    }
    if (this.config.user !== undefined) options.user = this.config.user
    if (this.config.pass !== undefined) options.pass = this.config.pass
    if (this.config.token !== undefined) options.token = this.config.token
    const connection = await connect(options)
    if (this.closed) {
      // Closed while connecting (a shutdown that did not wait): do not leave a connection behind.
      await connection.close()
      throw new Error('sink is closed')
    }
    this.connection = connection
    this.jetstream = connection.jetstream()
    this.streamReady = false
    void connection.closed().then((error) => {
      if (error && !this.closed) this.log.warn('NATS connection closed', { sink: this.name, error })
    })
  }

  /** Finds the stream, or creates it with the configured limits. An existing stream is left as it is. */
  private async ensureStream(): Promise<void> {
    const manager = await this.connection!.jetstreamManager()
    const { stream } = this.config
    try {
      await manager.streams.info(stream.name)
      return
    } catch (error) {
      if (!(error instanceof NatsError && error.api_error?.err_code === 10059)) throw error
    }
    const config: Partial<StreamConfig> & { name: string } = {
      name: stream.name,
      subjects: [`${this.prefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    }
    if (stream.maxAgeMs !== undefined) config.max_age = nanos(stream.maxAgeMs)
    if (stream.maxBytes !== undefined) config.max_bytes = stream.maxBytes
    if (stream.maxMsgs !== undefined) config.max_msgs = stream.maxMsgs
    if (stream.replicas !== undefined) config.num_replicas = stream.replicas
    if (stream.duplicateWindowMs !== undefined) config.duplicate_window = nanos(stream.duplicateWindowMs)
    try {
      await manager.streams.add(config)
      this.log.info('created NATS stream', { sink: this.name, stream: stream.name, subjects: config.subjects })
    } catch (error) {
      // Another Eventline may have created it meanwhile; anything else is a real failure.
      await manager.streams.info(stream.name).catch(() => {
        throw error
      })
    }
  }

  async send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome> {
    const jetstream = this.jetstream
    if (!jetstream) return { delivered: 0, error: new SinkError('not connected'), failed: items.length }
    // Every message of the batch in flight at once; acks come back in any order, and only an
    // unbroken run of acks from the first message counts as delivered. A message acked after a
    // failed one is sent again later and dropped by JetStream as a duplicate.
    const acked: boolean[] = items.map(() => false)
    const publishes = items.map(async (item, index) => {
      const { subject, cloudEvent } = 'event' in item
        ? { subject: eventSubject(this.prefix, item.event), cloudEvent: eventCloudEvent(item.event) }
        : { subject: alertSubject(this.prefix, item.alert), cloudEvent: alertCloudEvent(item.alert) }
      const headers = natsHeaders()
      headers.set('Content-Type', 'application/cloudevents+json; charset=utf-8')
      await jetstream.publish(subject, encoder.encode(JSON.stringify(cloudEvent)), { msgID: cloudEvent.id, headers, timeout: this.publishTimeoutMs })
      acked[index] = true
    })
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal.aborted) resolve('aborted')
      signal.addEventListener('abort', () => resolve('aborted'), { once: true })
    })
    const settled = await Promise.race([Promise.allSettled(publishes), aborted])
    let delivered = 0
    while (delivered < items.length && acked[delivered]) delivered++
    if (delivered === items.length) return { delivered }
    if (settled === 'aborted') return { delivered, error: new SinkError('abandoned on shutdown'), failed: items.length - delivered }
    const failure = settled[delivered]
    const reason = failure?.status === 'rejected' ? failure.reason : undefined
    // The stream may have gone (deleted by an operator): look for it again before the next attempt.
    this.streamReady = false
    const tooLarge = reason instanceof NatsError && reason.code === 'MAX_PAYLOAD_EXCEEDED'
    return { delivered, error: new SinkError(describe(reason, this.config.stream.name), tooLarge), failed: items.length - delivered }
  }

  async close(): Promise<void> {
    this.closed = true
    const connection = this.connection
    this.connection = undefined
    this.jetstream = undefined
    if (connection && !connection.isClosed()) await connection.close()
  }
}

/** A publish failure in words an operator can act on. */
function describe(error: unknown, stream: string): string {
  if (error instanceof NatsError && error.code === '503') return `no JetStream stream captures the subject (is stream ${stream} there?)`
  if (error instanceof NatsError && error.code === 'TIMEOUT') return 'no ack from JetStream in time'
  return reasonOf(error)
}
