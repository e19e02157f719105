/**
 * `eventline.yaml`: sinks, routes, the ingestion filter and alert rules. The file is parsed with
 * positions, validated against a strict schema (an unknown field is an error, not ignored), then
 * checked for names that do not resolve. Every error is a `ConfigError` naming the file, the path
 * inside it and its line: `eventline.yaml: sinks[1].urll (line 12): unknown field "urll"; ...`.
 *
 * `${NAME}` in a string value is replaced by that environment variable (as kubernetes-event-exporter
 * expands its config), so webhook URLs and NATS credentials can come from a Secret; a variable that
 * is not set is an error. Keys are never expanded.
 */
import { readFileSync } from 'node:fs'
import { EVENT_SOURCES, EVENT_TYPES, parseDuration } from '@eventline/shared'
import { RE2JS } from 're2js'
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml'
import type { Node as YamlNode } from 'yaml'
import { z } from 'zod'
import { ConfigError } from '../configError.ts'
import { DEFAULT_ES_INDEX, DEFAULT_ES_TEMPLATE } from '../sinks/elasticsearchSink.ts'
import { DEFAULT_LOKI_LABELS } from '../sinks/lokiSink.ts'
import { LOKI_LABEL_FIELDS } from '../sinks/types.ts'
import type { ElasticsearchSinkConfig, HttpSinkAuth, LokiSinkConfig, NatsSinkConfig, SinkConfig, WebhookSinkConfig } from '../sinks/types.ts'
import type { LabelCondition, MatcherSpec, Selector } from './matcher.ts'

/**
 * Which events a sink receives (alert notices come on top, from the alert rules naming it):
 * - `{ route }`: the events its route selects;
 * - `all`: it has no `route` and no alert rule names it, so it is a catch-all that forwards every
 *   stored event, like kubernetes-event-exporter's usual `match: [{receiver: dump}]`;
 * - `alerts-only`: it has no `route` and an alert rule names it. A chat sink meant for alerts then
 *   gets no event stream by accident; give it a `route` to have both.
 */
export type SinkEvents = { route: string } | 'all' | 'alerts-only'

export interface RouteRule extends Selector {
  name: string
}

/** An alert rule: matching events, grouped by (rule, object, reason), notify `sink` once per window. */
export interface AlertRule {
  name: string
  sink: string
  windowMs: number
  match: MatcherSpec[]
  drop?: MatcherSpec[]
}

/** `eventline.yaml`, validated, defaults applied, durations in milliseconds. */
export interface FileConfig {
  /** The file as the operator named it, for messages. */
  file: string
  /** What `sinks/` builds, in file order. */
  sinks: SinkConfig[]
  /** By sink name: which events it receives. */
  sinkEvents: Record<string, SinkEvents>
  /**
   * By sink name: where it is defined, as a `ConfigError` names it (`eventline.yaml: sinks[1] (line 12)`),
   * so a sink that cannot start is reported like any other error of the file.
   */
  sinkLocations: Record<string, string>
  routes: RouteRule[]
  /** Ingestion filter (`keep` any-of as `match`, then `drop`); absent: every event is stored. */
  ingest?: Selector
  alerts: AlertRule[]
}

export const DEFAULT_SUBJECT_PREFIX = 'eventline'
export const DEFAULT_STREAM_NAME = 'EVENTLINE'
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000
export const DEFAULT_RETRY = { initialMs: 1_000, maxMs: 300_000 } as const
/** Loki and Elasticsearch answer a large batch more slowly than a webhook a message. */
export const DEFAULT_STORE_SINK_TIMEOUT_MS = 10_000
/** promtail's defaults: wait up to 1 s for a fuller push, at most 1 MiB of it. */
export const DEFAULT_LOKI_BATCH = { waitMs: 1_000, maxEntries: 1_000, maxBytes: 1 << 20 } as const
export const DEFAULT_ES_BATCH = { maxDocuments: 500, maxBytes: 5 << 20 } as const
export const DEFAULT_ALERT_WINDOW_MS = 600_000
/** Longer windows would keep alert groups (and their memory) open for too long. */
const MAX_ALERT_WINDOW_MS = 86_400_000

type Path = ReadonlyArray<string | number>

// --- schema -------------------------------------------------------------------------------

/** A strict object whose unknown-field error lists the fields it knows. */
function strict<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field "${String(issue.keys[0])}"; expected one of ${known}` : undefined),
  })
}

/** One value or a non-empty list of them, read as a list. */
function oneOrMany<Item extends z.ZodType>(item: Item) {
  return z.preprocess(asList, z.array(item).min(1, 'must not be an empty list'))
}

/** `oneOrMany`'s reading; exported so the file's JSON Schema can say "one value or a list" (docs/). */
export const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value])

/** A custom check as a transform: `read` returns the value or a reason. */
function checked<T>(read: (value: unknown) => { value: T } | string) {
  return z.unknown().transform((input, ctx): T => {
    const result = input === undefined ? 'is required' : read(input)
    if (typeof result === 'string') {
      ctx.addIssue({ code: 'custom', message: result })
      return z.NEVER
    }
    return result.value
  })
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const name = z.string().regex(NAME, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')

/**
 * Why `source` cannot be a pattern, or `undefined` when it can. Patterns run on RE2 (linear time,
 * see `matcher.ts`); one that only a backtracking engine can run (a backreference, lookaround) is
 * refused here, at start, rather than given a way to stall ingestion.
 */
function regexProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source)
    return undefined
  } catch (error) {
    // "error parsing regexp: invalid escape sequence: `\1`" -> "invalid escape sequence: `\1`"
    const detail = (error as Error).message.replace(/^error parsing regexp: /, '')
    if (jsRegexAccepts(source)) {
      return `regex ${JSON.stringify(source)} needs a backtracking engine (${detail}); patterns run in linear time (RE2 syntax: no backreferences or lookaround)`
    }
    return `invalid regex ${JSON.stringify(source)}: ${detail}`
  }
}

/** Whether JavaScript's own engine would take the pattern: then the problem is RE2's missing features. */
function jsRegexAccepts(source: string): boolean {
  try {
    new RegExp(source)
    return true
  } catch {
    return false
  }
}

const regex = checked<string>((value) => {
  if (typeof value !== 'string') return 'must be a regular expression (a string)'
  return regexProblem(value) ?? { value }
}).meta({ type: 'string', description: 'a regular expression' })

function duration(minMs: number, maxMs = Infinity) {
  return checked<number>((value) => {
    const ms = typeof value === 'string' ? parseDuration(value) : undefined
    if (ms === undefined) return `must be a duration like 30s, 10m or 2h, got ${JSON.stringify(value)}`
    if (ms < minMs || ms > maxMs) return `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got ${JSON.stringify(value)}`
    return { value: ms }
  }).meta({ type: 'string', description: 'a duration like 30s, 10m or 2h' })
}

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }
/** Bytes as a number or with a unit: `1073741824`, `512MB`, `10GiB`. */
const size = checked<number>((value) => {
  const match = typeof value === 'string' ? /^(\d+)\s*([KMGT]i?B|B)$/.exec(value) : undefined
  const bytes = typeof value === 'number' ? value : match ? Number(match[1]) * SIZE_UNITS[match[2]!]! : NaN
  if (!Number.isSafeInteger(bytes) || bytes < 1) return `must be a size in bytes like 1073741824, 512MB or 10GiB, got ${JSON.stringify(value)}`
  return { value: bytes }
}).meta({ type: ['integer', 'string'], description: 'bytes, or a size like 512MB or 10GiB' })

const positiveInteger = z.int().min(1)

const eventType = z.preprocess((value) => (typeof value === 'string' ? value.toLowerCase() : value), z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }))
const eventSource = z.enum(EVENT_SOURCES, { error: `must be one of ${EVENT_SOURCES.join(', ')}` })
const exactValue = z.string().min(1)

const labelCondition = checked<LabelCondition>((value) => {
  if (typeof value === 'boolean') return { value }
  if (typeof value !== 'string') return 'must be a regex for the value, true (key present) or false (key absent)'
  return regexProblem(value) ?? { value }
}).meta({ type: ['string', 'boolean'], description: 'a regex for the value, true (key present) or false (key absent)' })
const LABEL_NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?'
/** `name`, `prefix/name`, or `prefix/*` (every key under the prefix). */
const LABEL_KEY = new RegExp(`^(?:[A-Za-z0-9][A-Za-z0-9._-]*/(?:${LABEL_NAME}|\\*)|${LABEL_NAME})$`)

const matcher = strict({
  type: oneOrMany(eventType).optional(),
  reason: oneOrMany(regex).optional(),
  kind: oneOrMany(exactValue).optional(),
  namespace: oneOrMany(exactValue).optional(),
  name: oneOrMany(regex).optional(),
  mesh: oneOrMany(exactValue).optional(),
  application: oneOrMany(exactValue).optional(),
  source: oneOrMany(eventSource).optional(),
  // An empty map would match every event: a templated `drop: [{ labels: {} }]` must not drop them all.
  labels: z
    .record(z.string().regex(LABEL_KEY, 'is not a label key (prefix/name, or prefix/* for any key under prefix)'), labelCondition)
    .refine((labels) => Object.keys(labels).length > 0, 'needs at least one label key')
    .optional(),
}).refine((spec) => Object.values(spec).some((value) => value !== undefined), 'a matcher needs at least one field; leave match out to select every event')

const matchers = oneOrMany(matcher)

const NATS_SERVER = /^(?:(?:nats|tls):\/\/)?(?:[^\s/@]+@)?[A-Za-z0-9._-]+(?::(\d{1,5}))?$/
const natsServer = z
  .string()
  .regex(NATS_SERVER, 'must be host:port or nats://host:port')
  .refine((server) => Number(NATS_SERVER.exec(server)?.[1] ?? 4222) <= 65535, 'has a port above 65535')
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const natsSink = strict({
  type: z.literal('nats'),
  name,
  route: name.optional(),
  servers: oneOrMany(natsServer),
  subjectPrefix: z.string().regex(SUBJECT_PREFIX, 'must be subject tokens separated by "." (no spaces or wildcards)').default(DEFAULT_SUBJECT_PREFIX),
  stream: strict({
    name: z.string().regex(STREAM_NAME, 'must be 1-64 letters, digits, "_" or "-"').default(DEFAULT_STREAM_NAME),
    maxAge: duration(1_000).optional(),
    maxBytes: size.optional(),
    maxMsgs: positiveInteger.optional(),
    replicas: z.int().min(1).max(5).optional(),
    duplicateWindow: duration(1_000).optional(),
  }).prefault({}),
  user: z.string().min(1).optional(),
  pass: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
})

const httpUrl = checked<string>((value) => {
  // The URL is not echoed: chat webhook URLs carry their secret.
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined
  return url && (url.protocol === 'http:' || url.protocol === 'https:') ? { value: value as string } : 'must be an http:// or https:// URL'
})
// A CR or LF would make every request fail to send, retried forever as a connection error.
const headers = z.record(z.string().regex(HEADER_NAME, 'is not an HTTP header name'), z.string().regex(/^[^\r\n]*$/, 'must not contain a line break')).default({})
const httpTimeout = duration(1_000, 300_000).optional()
const retry = strict({ initial: duration(1_000).optional(), max: duration(1_000).optional() }).optional()
const secret = z.string().min(1).regex(/^[^\r\n]*$/, 'must not contain a line break').optional()

const webhookSink = strict({
  type: z.literal('webhook'),
  name,
  route: name.optional(),
  url: httpUrl,
  format: z.enum(['json', 'slack', 'dingtalk'], { error: 'must be one of json, slack, dingtalk' }).default('json'),
  headers,
  timeout: httpTimeout,
  retry,
})

/** Prometheus/Loki label names. */
const STREAM_LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Loki's tenant ids: up to 150 of these characters. */
const TENANT = /^[A-Za-z0-9!_.*'()-]{1,150}$/

const lokiSink = strict({
  type: z.literal('loki'),
  name,
  route: name.optional(),
  url: httpUrl,
  tenant: z.string().regex(TENANT, "must be 1-150 letters, digits or !_.*'()-").optional(),
  labels: z
    .array(z.enum(LOKI_LABEL_FIELDS, { error: `must be one of ${LOKI_LABEL_FIELDS.join(', ')} (fields with few values: an id, a name or a message would make a stream per event)` }))
    .default([...DEFAULT_LOKI_LABELS]),
  staticLabels: z.record(z.string().regex(STREAM_LABEL, 'is not a label name'), z.string().min(1, 'must not be empty')).default({ job: 'eventline' }),
  username: secret,
  password: secret,
  bearerToken: secret,
  headers,
  timeout: httpTimeout,
  retry,
  batch: strict({ wait: duration(0, 60_000).optional(), maxEntries: z.int().min(1).max(10_000).optional(), maxBytes: size.optional() }).optional(),
})

/**
 * Elasticsearch index names: lower case, none of \ / * ? " < > | , # : or space, not starting with
 * -, _ or +; `%Y`, `%m`, `%d` stand for the date.
 */
const INDEX_PATTERN = /^(?![-_+.])(?:[a-z0-9._+-]|%[Ymd])+$/
const elasticsearchSink = strict({
  type: z.literal('elasticsearch'),
  name,
  route: name.optional(),
  url: httpUrl,
  index: z.string().max(200).regex(INDEX_PATTERN, 'must be a lower-case index name (letters, digits, ".", "_", "+", "-", and %Y, %m, %d for the date), not starting with -, _, + or .').default(DEFAULT_ES_INDEX),
  template: z.union([z.literal(false), z.string().regex(/^[a-z0-9][a-z0-9._-]{0,254}$/, 'must be a lower-case template name')]).default(DEFAULT_ES_TEMPLATE),
  username: secret,
  password: secret,
  apiKey: secret,
  headers,
  timeout: httpTimeout,
  retry,
  batch: strict({ maxDocuments: z.int().min(1).max(10_000).optional(), maxBytes: size.optional() }).optional(),
})

const sink = z.discriminatedUnion('type', [natsSink, webhookSink, lokiSink, elasticsearchSink], { error: 'must be nats, webhook, loki or elasticsearch' })

const route = strict({ name, match: matchers.optional(), drop: matchers.optional() })

const alert = strict({
  name,
  sink: name,
  window: duration(1_000, MAX_ALERT_WINDOW_MS).optional(),
  match: matchers,
  drop: matchers.optional(),
})

/** An empty section (`sinks:` with nothing under it) reads as absent. */
const section = <S extends z.ZodType>(schema: S) => z.preprocess(nullAsAbsent, schema)
/** `section`'s reading; exported so the file's JSON Schema allows an empty section (docs/). */
export const nullAsAbsent = (value: unknown): unknown => (value === null ? undefined : value)

/** The schema of `eventline.yaml` (docs/eventline.schema.json is generated from it). */
export const fileSchema = strict({
  sinks: section(z.array(sink).default([])),
  routes: section(z.array(route).default([])),
  ingest: section(strict({ keep: matchers.optional(), drop: matchers.optional() }).optional()),
  alerts: section(z.array(alert).default([])),
})

type ParsedFile = z.output<typeof fileSchema>

// --- loading ------------------------------------------------------------------------------

/**
 * Reads and validates a config file. `shownAs` is how messages name it (the path as the operator
 * gave it); `env` feeds `${NAME}` expansion.
 */
export function loadFileConfig(path: string, env: NodeJS.ProcessEnv, shownAs: string = path): FileConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(shownAs, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  return parseFileConfig(text, shownAs, env)
}

/** Validates the text of a config file named `file` (pure; `loadFileConfig` reads it). */
export function parseFileConfig(text: string, file: string, env: NodeJS.ProcessEnv = {}): FileConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const syntax = doc.errors[0]
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line
    throw new ConfigError(`${file} (line ${line})`, syntax.message.split('\n')[0]!)
  }
  const where = (path: Path) => {
    const { shown, line } = locate(doc.contents, path)
    return `${file}: ${shown || '(top level)'}${line === undefined ? '' : ` (line ${lineCounter.linePos(line).line})`}`
  }
  const fail = (path: Path, reason: string): never => {
    throw new ConfigError(where(path), reason)
  }

  let json: unknown
  try {
    json = doc.toJS({ maxAliasCount: 100 })
  } catch (error) {
    // An alias bomb ("Excessive alias count") or an alias to nothing.
    throw new ConfigError(file, (error as Error).message)
  }
  const raw = expandEnv(json ?? {}, env, [], fail)
  const parsed = fileSchema.safeParse(raw, { reportInput: true })
  if (!parsed.success) {
    // An unknown field first: a typo (`urll`) also makes the field it meant missing, and is the cause.
    const issues = parsed.error.issues
    const issue = issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0]!
    const path = issue.path.map((key) => (typeof key === 'number' ? key : String(key)))
    if (issue.code === 'unrecognized_keys') fail([...path, String(issue.keys[0])], issue.message)
    fail(path, describeIssue(issue))
  }
  const config = resolve(parsed.data!, file, fail)
  config.sinks.forEach((sink, index) => (config.sinkLocations[sink.name] = where(['sinks', index])))
  return config
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}, got ${typeOf(issue.input)}`
  if (issue.code === 'invalid_value' && issue.values.length === 1) return `must be ${JSON.stringify(issue.values[0])}`
  // A record key that fails its pattern (a label key, a header name): the key's own message.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message
  return issue.message
}

const TYPE_NAMES: Record<string, string> = { array: 'a list', object: 'a map', record: 'a map', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false' }
const article = (expected: string) => TYPE_NAMES[expected] ?? `a ${expected}`
// Only the type, not the value: a misplaced password must not end up in a log line.
const typeOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a map' : `a ${typeof value}`)

/** Checks what the schema cannot: unique names and names that refer to something defined. */
function resolve(parsed: ParsedFile, file: string, fail: (path: Path, reason: string) => never): FileConfig {
  unique(parsed.sinks, 'sinks', 'sink', fail)
  unique(parsed.routes, 'routes', 'route', fail)
  unique(parsed.alerts, 'alerts', 'alert', fail)
  const routeNames = new Set(parsed.routes.map((rule) => rule.name))
  const sinkNames = new Set(parsed.sinks.map((entry) => entry.name))
  const alerted = new Set(parsed.alerts.map((rule) => rule.sink))

  const sinkEvents: Record<string, SinkEvents> = {}
  const sinks = parsed.sinks.map((entry, index): SinkConfig => {
    if (entry.route !== undefined && !routeNames.has(entry.route)) fail(['sinks', index, 'route'], `route "${entry.route}" is not defined${defined(routeNames, 'routes')}`)
    sinkEvents[entry.name] = entry.route !== undefined ? { route: entry.route } : alerted.has(entry.name) ? 'alerts-only' : 'all'
    switch (entry.type) {
      case 'nats':
        return natsConfig(entry, index, fail)
      case 'webhook':
        return webhookConfig(entry, index, fail)
      case 'loki':
        return lokiConfig(entry, index, fail)
      case 'elasticsearch':
        return elasticsearchConfig(entry, index, fail)
    }
  })
  parsed.alerts.forEach((rule, index) => {
    if (!sinkNames.has(rule.sink)) fail(['alerts', index, 'sink'], `sink "${rule.sink}" is not defined${defined(sinkNames, 'sinks')}`)
  })

  const config: FileConfig = {
    file,
    sinks,
    sinkEvents,
    sinkLocations: {},
    routes: parsed.routes.map((rule) => selector(rule, { name: rule.name })),
    alerts: parsed.alerts.map((rule) => {
      const alertRule: AlertRule = { name: rule.name, sink: rule.sink, windowMs: rule.window ?? DEFAULT_ALERT_WINDOW_MS, match: rule.match.map(matcherSpec) }
      if (rule.drop) alertRule.drop = rule.drop.map(matcherSpec)
      return alertRule
    }),
  }
  if (parsed.ingest && (parsed.ingest.keep || parsed.ingest.drop)) config.ingest = selector({ match: parsed.ingest.keep, drop: parsed.ingest.drop }, {})
  return config
}

type ParsedMatcher = z.output<typeof matcher>
type ParsedNats = z.output<typeof natsSink>
type ParsedWebhook = z.output<typeof webhookSink>
type ParsedLoki = z.output<typeof lokiSink>
type ParsedElasticsearch = z.output<typeof elasticsearchSink>

/** Drops the fields left out, so specs compare and print cleanly. */
function matcherSpec(parsed: ParsedMatcher): MatcherSpec {
  return Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as MatcherSpec
}

function selector<T extends object>(parsed: { match?: ParsedMatcher[] | undefined; drop?: ParsedMatcher[] | undefined }, into: T): T & Selector {
  const result: T & Selector = into
  if (parsed.match) result.match = parsed.match.map(matcherSpec)
  if (parsed.drop) result.drop = parsed.drop.map(matcherSpec)
  return result
}

function natsConfig(entry: ParsedNats, index: number, fail: (path: Path, reason: string) => never): NatsSinkConfig {
  if ((entry.user === undefined) !== (entry.pass === undefined)) fail(['sinks', index, entry.pass === undefined ? 'pass' : 'user'], 'user and pass go together')
  if (entry.token !== undefined && entry.user !== undefined) fail(['sinks', index, 'token'], 'use either token or user and pass')
  const { stream } = entry
  const config: NatsSinkConfig = { type: 'nats', name: entry.name, servers: entry.servers, subjectPrefix: entry.subjectPrefix, stream: { name: stream.name } }
  if (stream.maxAge !== undefined) config.stream.maxAgeMs = stream.maxAge
  if (stream.maxBytes !== undefined) config.stream.maxBytes = stream.maxBytes
  if (stream.maxMsgs !== undefined) config.stream.maxMsgs = stream.maxMsgs
  if (stream.replicas !== undefined) config.stream.replicas = stream.replicas
  if (stream.duplicateWindow !== undefined) config.stream.duplicateWindowMs = stream.duplicateWindow
  if (entry.user !== undefined) config.user = entry.user
  if (entry.pass !== undefined) config.pass = entry.pass
  if (entry.token !== undefined) config.token = entry.token
  return config
}

/** A sink's retry bounds, defaults applied, `max` not below `initial`. */
function retryOf(entry: { retry?: { initial?: number | undefined; max?: number | undefined } | undefined }, index: number, fail: (path: Path, reason: string) => never) {
  const retry = { initialMs: entry.retry?.initial ?? DEFAULT_RETRY.initialMs, maxMs: entry.retry?.max ?? DEFAULT_RETRY.maxMs }
  if (retry.initialMs > retry.maxMs) fail(['sinks', index, 'retry', entry.retry?.max === undefined ? 'initial' : 'max'], `max (${formatDuration(retry.maxMs)}) must not be below initial (${formatDuration(retry.initialMs)})`)
  return retry
}

function webhookConfig(entry: ParsedWebhook, index: number, fail: (path: Path, reason: string) => never): WebhookSinkConfig {
  return { type: 'webhook', name: entry.name, url: entry.url, format: entry.format, headers: entry.headers, timeoutMs: entry.timeout ?? DEFAULT_WEBHOOK_TIMEOUT_MS, retry: retryOf(entry, index, fail) }
}

/** Basic credentials come as a pair, and exclude the token form (`bearerToken` or `apiKey`). */
function authOf(entry: HttpSinkAuth, token: 'bearerToken' | 'apiKey', index: number, fail: (path: Path, reason: string) => never): HttpSinkAuth {
  if ((entry.username === undefined) !== (entry.password === undefined)) fail(['sinks', index, entry.password === undefined ? 'password' : 'username'], 'username and password go together')
  if (entry[token] !== undefined && entry.username !== undefined) fail(['sinks', index, token], `use either ${token} or username and password`)
  const auth: HttpSinkAuth = {}
  for (const key of ['username', 'password', token] as const) if (entry[key] !== undefined) auth[key] = entry[key]
  return auth
}

function lokiConfig(entry: ParsedLoki, index: number, fail: (path: Path, reason: string) => never): LokiSinkConfig {
  const labels = [...new Set(entry.labels)]
  for (const label of Object.keys(entry.staticLabels)) {
    if ((labels as string[]).includes(label) || label === 'alert_rule') fail(['sinks', index, 'staticLabels', label], `"${label}" is already a label from the events`)
  }
  const config: LokiSinkConfig = {
    type: 'loki',
    name: entry.name,
    url: entry.url,
    labels,
    staticLabels: entry.staticLabels,
    headers: entry.headers,
    timeoutMs: entry.timeout ?? DEFAULT_STORE_SINK_TIMEOUT_MS,
    retry: retryOf(entry, index, fail),
    batchWaitMs: entry.batch?.wait ?? DEFAULT_LOKI_BATCH.waitMs,
    maxEntries: entry.batch?.maxEntries ?? DEFAULT_LOKI_BATCH.maxEntries,
    maxBytes: entry.batch?.maxBytes ?? DEFAULT_LOKI_BATCH.maxBytes,
    ...authOf(entry, 'bearerToken', index, fail),
  }
  if (entry.tenant !== undefined) config.tenant = entry.tenant
  return config
}

function elasticsearchConfig(entry: ParsedElasticsearch, index: number, fail: (path: Path, reason: string) => never): ElasticsearchSinkConfig {
  return {
    type: 'elasticsearch',
    name: entry.name,
    url: entry.url,
    index: entry.index,
    template: entry.template === false ? undefined : entry.template,
    headers: entry.headers,
    timeoutMs: entry.timeout ?? DEFAULT_STORE_SINK_TIMEOUT_MS,
    retry: retryOf(entry, index, fail),
    maxDocuments: entry.batch?.maxDocuments ?? DEFAULT_ES_BATCH.maxDocuments,
    maxBytes: entry.batch?.maxBytes ?? DEFAULT_ES_BATCH.maxBytes,
    ...authOf(entry, 'apiKey', index, fail),
  }
}

function unique(entries: ReadonlyArray<{ name: string }>, section: string, what: string, fail: (path: Path, reason: string) => never): void {
  const seen = new Map<string, number>()
  entries.forEach((entry, index) => {
    const first = seen.get(entry.name)
    if (first !== undefined) fail([section, index, 'name'], `${what} "${entry.name}" is defined twice (also ${section}[${first}])`)
    seen.set(entry.name, index)
  })
}

const defined = (names: ReadonlySet<string>, section: string) => (names.size === 0 ? ` (there are no ${section})` : `; defined: ${[...names].join(', ')}`)

/** `600000` -> `10m`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unlimited'
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

// --- environment and positions ------------------------------------------------------------

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: Path, fail: (path: Path, reason: string) => never): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_reference, variable: string) => env[variable] ?? fail(path, `environment variable "${variable}" is not set`))
  }
  if (Array.isArray(value)) return value.map((item, index) => expandEnv(item, env, [...path, index], fail))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, [...path, key], fail)]))
  }
  return value
}

/**
 * Follows `path` through the YAML nodes as far as they exist; `line` is the offset of the last key
 * (or list item) found. Beyond that, missing keys are still shown (`sinks[1].url` that is required).
 * A single value the schema read as a one-item list is shown as written: `reason`, not `reason[0]`.
 */
function locate(root: unknown, path: Path): { shown: string; line: number | undefined } {
  let node: unknown = root
  let shown = ''
  let offset = rangeStart(root)
  // Keys that are not plain words (label keys, header names) are quoted: `labels["system.hero.ai"]`.
  const join = (key: string | number) =>
    (shown += typeof key === 'number' ? `[${key}]` : !/^[A-Za-z0-9_-]+$/.test(key) ? `[${JSON.stringify(key)}]` : shown === '' ? key : `.${key}`)
  let index = 0
  for (; index < path.length; index++) {
    const key = path[index]!
    // A single value the schema read as a one-item list: the value itself, no index shown.
    if (key === 0 && node !== undefined && !isSeq(node)) continue
    if (typeof key === 'number' && isSeq(node) && key < node.items.length) {
      node = node.items[key]
      offset = rangeStart(node) ?? offset
    } else if (typeof key === 'string' && isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key)
      if (!pair) break
      offset = rangeStart(pair.key) ?? offset
      node = pair.value
    } else break
    join(key)
  }
  for (; index < path.length && typeof path[index] === 'string'; index++) join(path[index]!)
  return { shown, line: offset }
}

const rangeStart = (node: unknown): number | undefined => (node && typeof node === 'object' && 'range' in node ? (node as YamlNode).range?.[0] : undefined)
