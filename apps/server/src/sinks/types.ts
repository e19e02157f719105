/**
 * Where forwarding (sinks, the outbox) meets the rules (routes, alerts): the shapes both sides
 * build against. `rules/` decides which sink gets what; `sinks/` delivers it at least once.
 */
import type { EventItem } from '@eventline/shared'

/** NATS JetStream: CloudEvents 1.0 JSON on subjects after the "ops" scheme. */
export interface NatsSinkConfig {
  type: 'nats'
  name: string
  /** `host:port` or `nats://host:port` entries. */
  servers: string[]
  /** First subject token(s): `{prefix}.clusters.{cluster}...` (default `eventline`). */
  subjectPrefix: string
  /** The stream publishing lands in; created when absent. */
  stream: {
    name: string
    maxAgeMs?: number
    maxBytes?: number
    maxMsgs?: number
    replicas?: number
    /** JetStream's de-duplication window for `Nats-Msg-Id` (default 2 min on the server). */
    duplicateWindowMs?: number
  }
  user?: string
  pass?: string
  token?: string
}

/** An HTTP endpoint: generic JSON, or the message formats Slack and DingTalk webhooks accept. */
export interface WebhookSinkConfig {
  type: 'webhook'
  name: string
  url: string
  format: 'json' | 'slack' | 'dingtalk'
  headers: Record<string, string>
  timeoutMs: number
  retry: { initialMs: number; maxMs: number }
}

/** Event fields a Loki stream may be labelled by: each has few values (never an id, a name or a message). */
export const LOKI_LABEL_FIELDS = ['mesh', 'source', 'type', 'namespace', 'kind', 'category', 'action', 'component', 'reason', 'application'] as const
export type LokiLabelField = (typeof LOKI_LABEL_FIELDS)[number]

/** Credentials of an HTTP sink: basic, or a bearer token (Loki) / an API key (Elasticsearch). */
export interface HttpSinkAuth {
  username?: string
  password?: string
  bearerToken?: string
  apiKey?: string
}

/** Grafana Loki's push API: one JSON line per event, in streams labelled by a few bounded fields. */
export interface LokiSinkConfig extends HttpSinkAuth {
  type: 'loki'
  name: string
  /** Base URL; events go to `<url>/loki/api/v1/push`. */
  url: string
  /** `X-Scope-OrgID` of a multi-tenant Loki. */
  tenant?: string
  /** Event fields that become stream labels (default mesh, source, type, namespace, kind). */
  labels: LokiLabelField[]
  /** Fixed labels on every stream (default `job: eventline`). */
  staticLabels: Record<string, string>
  headers: Record<string, string>
  timeoutMs: number
  retry: { initialMs: number; maxMs: number }
  /** A push waits this long for more entries when fewer than `maxEntries` are pending (promtail's batchwait). */
  batchWaitMs: number
  /** Most entries, and most bytes of JSON, in one push (promtail's batchsize is 1 MiB). */
  maxEntries: number
  maxBytes: number
}

/** Elasticsearch or OpenSearch `_bulk`: one document per event, `_id` the event id. */
export interface ElasticsearchSinkConfig extends HttpSinkAuth {
  type: 'elasticsearch'
  name: string
  /** Base URL; `_bulk` and `_index_template` are under it. */
  url: string
  /** Index name; `%Y`, `%m`, `%d` are the event's UTC date (default `eventline-%Y.%m.%d`). */
  index: string
  /** The index template created when absent (name; `false` in the file turns it off). */
  template: string | undefined
  headers: Record<string, string>
  timeoutMs: number
  retry: { initialMs: number; maxMs: number }
  /** Most documents, and most bytes of NDJSON, in one `_bulk` request. */
  maxDocuments: number
  maxBytes: number
}

export type SinkConfig = NatsSinkConfig | WebhookSinkConfig | LokiSinkConfig | ElasticsearchSinkConfig

/**
 * What an alert rule sends: the first matching occurrence of a (rule, object, reason) group, then,
 * when its window closes with more occurrences, one summary with the count.
 */
export interface AlertNotice {
  rule: string
  sink: string
  kind: 'first' | 'summary'
  /** `rule \0 object \0 reason`: the grouping key. */
  group: string
  /** Occurrences in the window (1 for `first`). */
  count: number
  windowStart: number
  windowEnd: number
  /** The latest event of the group. */
  event: EventItem
  /** One line for chat titles, and the body text (plain text, no markup). */
  title: string
  text: string
}

/** One outbox entry: an event (read back from the store when delivered) or an alert notice. */
export type OutboxEntry = { sink: string; eventId: string } | { sink: string; alert: AlertNotice }
