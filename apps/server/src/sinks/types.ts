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

export type SinkConfig = NatsSinkConfig | WebhookSinkConfig

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
