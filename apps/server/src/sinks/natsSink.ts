/**
 * The NATS JetStream sink: each event as a CloudEvents 1.0 JSON message (structured mode) on a
 * subject after the "ops" scheme, in a stream it creates when absent. `Nats-Msg-Id` is the
 * CloudEvent id (event id and count), so a message sent again within the stream's duplicate window
 * (a retry after a lost ack, a restart before the outbox delete) is dropped by JetStream itself.
 *
 * The cost of that id, as the issue asks for it: JetStream de-duplicates by id alone, not by
 * content. An update that changes an event without changing its count (for example an API re-post
 * with the same id and time but a new message) has the same `id:count` as the message already
 * published, so within the stream's duplicate window (`stream.duplicateWindowMs`, 2 min by default)
 * JetStream acks it as a duplicate and does not store it: consumers keep the earlier content. After
 * the window it is stored as a second message with the same CloudEvent id. Only a new occurrence
 * (a higher count) reliably reaches consumers as a new message.
 *
 * An existing stream is used as it is, never modified: `open()` fails when its subjects do not
 * capture `{prefix}.>`, and a warning is logged (once) when its limits differ from the configured ones.
 *
 * Subjects (`{prefix}` is `subjectPrefix`, every other part one token, see `subjectToken`):
 * - namespaced Kubernetes objects: `{prefix}.clusters.{cluster}.namespaces.{ns}.{kind}s.{name}.events`
 * - nodes: `{prefix}.clusters.{cluster}.nodes.{node}.events`, whatever their namespace (the API
 *   gives node events `metadata.namespace: default`, which the normaliser keeps)
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
  // Before the namespace: Kubernetes files node events under namespace `default`.
  if (kind === 'Node') return `${cluster}.nodes.${subjectToken(name)}.events`
  if (namespace !== undefined) return `${cluster}.namespaces.${subjectToken(namespace)}.${subjectToken(kindPlural(kind))}.${subjectToken(name)}.events`
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

/** The first tokens after the prefix of every subject this sink publishes on (see the module comment). */
const SUBJECT_ROOTS = ['clusters', 'meshes', 'alerts']

/**
 * Whether a stream subject filter captures every subject `wanted` does (both NATS subjects with
 * wildcards: `*` one token, `>` one or more trailing tokens).
 */
function filterCovers(filter: string, wanted: string): boolean {
  const have = filter.split('.')
  const want = wanted.split('.')
  for (const [index, token] of want.entries()) {
    const own = have[index]
    if (own === undefined) return false
    if (own === '>') return true
    if (token === '>' || (own !== '*' && own !== token)) return false
  }
  return have.length === want.length
}

/**
 * Whether a stream with these subjects captures everything a sink publishes under `prefix`: one
 * filter covers `{prefix}.>` (itself, `>`, a shorter prefix with `.>`, wildcards), or filters
 * cover each of the subject roots (`{prefix}.clusters.>`, `{prefix}.meshes.>`, `{prefix}.alerts.>`).
 */
export function streamCaptures(subjects: readonly string[], prefix: string): boolean {
  const covered = (wanted: string) => subjects.some((filter) => filterCovers(filter, wanted))
  return covered(`${prefix}.>`) || SUBJECT_ROOTS.every((root) => covered(`${prefix}.${root}.>`))
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
  /** Whether the differing limits of an existing stream were logged (once per sink). */
  private limitsWarned = false
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

  /**
   * Finds the stream, or creates it with the configured limits. An existing stream is left as it
   * is: it must capture the sink's subjects (else this throws), and differing limits are logged.
   */
  private async ensureStream(): Promise<void> {
    const manager = await this.connection!.jetstreamManager()
    const { stream } = this.config
    try {
      this.checkExisting((await manager.streams.info(stream.name)).config)
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
      const existing = await manager.streams.info(stream.name).catch(() => {
        throw error
      })
      this.checkExisting(existing.config)
    }
  }

  /** Throws when an existing stream does not capture the sink's subjects; warns (once) about other limits. */
  private checkExisting(existing: StreamConfig): void {
    const { stream } = this.config
    const subjects = existing.subjects ?? []
    if (!streamCaptures(subjects, this.prefix)) {
      throw new SinkError(
        `NATS stream ${stream.name} does not capture ${this.prefix}.> (its subjects: ${subjects.length > 0 ? subjects.join(', ') : 'none'}); ` +
          `add ${this.prefix}.> to the stream, or configure another stream or subjectPrefix`,
      )
    }
    if (this.limitsWarned) return
    const configured: Array<[string, number | undefined, number | undefined]> = [
      ['maxAgeMs', stream.maxAgeMs, existing.max_age / 1e6],
      ['maxBytes', stream.maxBytes, existing.max_bytes],
      ['maxMsgs', stream.maxMsgs, existing.max_msgs],
      ['replicas', stream.replicas, existing.num_replicas],
      ['duplicateWindowMs', stream.duplicateWindowMs, existing.duplicate_window / 1e6],
    ]
    const differing = Object.fromEntries(
      configured.filter(([, wanted, actual]) => wanted !== undefined && wanted !== actual).map(([field, wanted, actual]) => [field, { configured: wanted, stream: actual }]),
    )
    if (Object.keys(differing).length === 0) return
    this.limitsWarned = true
    this.log.warn('the existing NATS stream has other limits than configured; it is used as it is', { sink: this.name, stream: stream.name, differing })
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
