/**
 * Test Loki: an in-process stand-in for Grafana Loki's HTTP API, for testing the Loki sink over
 * real HTTP without running Loki. Listens on 127.0.0.1, port 0.
 *
 * What it models, as Loki (2.4 and later) answers:
 * - `POST /loki/api/v1/push`, JSON (`{ streams: [{ stream: {label: value}, values: [[ns, line]] }] }`,
 *   also gzip `Content-Encoding`): 204 when every entry was stored. A body that is not that shape,
 *   a label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`, an empty stream label set, a timestamp that
 *   is not an integer string -> 400 with the reason, nothing stored. Other content types -> 415.
 * - Ordering per stream (tenant + label set): with `ordering: 'unordered'` (Loki's default since
 *   2.4) an entry older than the stream's newest minus `maxAgeBehindMs` (Loki: half the max chunk
 *   age, 1 h) is refused as "entry too far behind"; with `ordering: 'ordered'` (Loki before 2.4)
 *   anything older than the newest is "entry out of order". Refused entries are skipped, the rest
 *   of the push is stored, and the answer is 400 listing them with `total ignored: N out of M`.
 *   An entry whose timestamp and line equal a stored one in the same stream is dropped silently
 *   (Loki's duplicate check); the same timestamp with another line is stored.
 * - Limits: `maxLineBytes` (400 "line too long", the whole push refused, as Loki's validation does
 *   before ingesting), `maxStreamsPerTenant` (429 "Maximum active stream limit exceeded..."), and
 *   `rateLimit(n)`: the next n pushes answer 429 "Ingestion rate limit exceeded".
 * - Multi-tenancy and auth: with `multiTenant`, every request needs `X-Scope-OrgID` (401 `no org
 *   id` otherwise) and data is kept per tenant; `basicAuth` / `bearerToken` make the server (as the
 *   gateway in front of Loki would) answer 401 without the right `Authorization`.
 * - Reads: `GET /loki/api/v1/query_range?query={a="b",c="d"}&limit=` (stream selectors with `=`
 *   only, no pipeline) -> `{ status: "success", data: { resultType: "streams", result } }`, newest
 *   first per stream as Loki's default `direction=backward`; `GET /loki/api/v1/labels` and
 *   `/loki/api/v1/label/:name/values`; `GET /ready`.
 *
 * Not modelled (candidly): protobuf pushes, LogQL beyond equality selectors, chunk storage and
 * retention, structured metadata.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface LokiServerOptions {
  ordering?: 'unordered' | 'ordered'
  maxAgeBehindMs?: number
  maxLineBytes?: number
  maxStreamsPerTenant?: number
  multiTenant?: boolean
  basicAuth?: { username: string; password: string }
  bearerToken?: string
  /** Called with each entry as it is stored (benchmarks time arrivals with it). */
  onStored?: (line: string) => void
}

export interface StoredEntry {
  ns: bigint
  line: string
}

interface Stream {
  labels: Record<string, string>
  entries: StoredEntry[]
  newest: bigint
}

export interface PushRecord {
  tenant: string | undefined
  status: number
  entries: number
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const FAKE_TENANT = 'fake' // Loki's tenant when multi-tenancy is off

export async function startLokiServer(options: LokiServerOptions = {}) {
  const tenants = new Map<string, Map<string, Stream>>()
  const pushes: PushRecord[] = []
  let rateLimited = 0
  const maxBehindNs = BigInt(options.maxAgeBehindMs ?? 3_600_000) * 1_000_000n

  const streamsOf = (tenant: string) => {
    let streams = tenants.get(tenant)
    if (!streams) tenants.set(tenant, (streams = new Map()))
    return streams
  }

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    if (options.basicAuth) return header === `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`
    if (options.bearerToken) return header === `Bearer ${options.bearerToken}`
    return true
  }

  function push(tenant: string, body: unknown): { status: number; text: string; stored: number } {
    if (rateLimited > 0) {
      rateLimited--
      return { status: 429, text: `Ingestion rate limit exceeded for user ${tenant} (limit: 4194304 bytes/sec) while attempting to ingest lines`, stored: 0 }
    }
    const parsed = readPush(body)
    if (typeof parsed === 'string') return { status: 400, text: parsed, stored: 0 }
    for (const { values } of parsed) {
      for (const [, line] of values) {
        if (options.maxLineBytes !== undefined && Buffer.byteLength(line) > options.maxLineBytes) {
          return { status: 400, text: `Max entry size '${options.maxLineBytes}' bytes exceeded for stream '{...}' while adding an entry with length '${Buffer.byteLength(line)}' bytes`, stored: 0 }
        }
      }
    }
    const streams = streamsOf(tenant)
    const newStreams = new Set(parsed.map(({ stream }) => labelKey(stream)).filter((key) => !streams.has(key)))
    if (options.maxStreamsPerTenant !== undefined && streams.size + newStreams.size > options.maxStreamsPerTenant) {
      return {
        status: 429,
        text: `Maximum active stream limit exceeded, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '${tenant}'`,
        stored: 0,
      }
    }
    const refused: string[] = []
    let total = 0
    let stored = 0
    for (const { stream: labels, values } of parsed) {
      const key = labelKey(labels)
      let stream = streams.get(key)
      if (!stream) streams.set(key, (stream = { labels, entries: [], newest: -1n }))
      for (const [nsText, line] of values) {
        total++
        const ns = BigInt(nsText)
        const tooOld = options.ordering === 'ordered' ? ns < stream.newest : stream.newest >= 0n && ns < stream.newest - maxBehindNs
        if (tooOld) {
          const reason = options.ordering === 'ordered' ? 'entry out of order' : `entry too far behind, entry timestamp is: ${nsText}`
          refused.push(`entry with timestamp ${nsText} ignored, reason: '${reason}' for stream: ${formatLabels(labels)}`)
          continue
        }
        if (stream.entries.some((entry) => entry.ns === ns && entry.line === line)) continue
        stream.entries.push({ ns, line })
        options.onStored?.(line)
        if (ns > stream.newest) stream.newest = ns
        stored++
      }
    }
    if (refused.length > 0) return { status: 400, text: `${refused.join(',\n')},\ntotal ignored: ${refused.length} out of ${total}`, stored }
    return { status: 204, text: '', stored }
  }

  function query(tenant: string, url: URL) {
    const selector = parseSelector(url.searchParams.get('query') ?? '')
    if (!selector) return { status: 400, body: { status: 'error', error: 'parse error: only {label="value", ...} selectors are supported here' } }
    const limit = Number(url.searchParams.get('limit') ?? 100)
    const result = [...streamsOf(tenant).values()]
      .filter(({ labels }) => Object.entries(selector).every(([name, value]) => labels[name] === value))
      .map(({ labels, entries }) => ({
        stream: labels,
        values: [...entries].sort((a, b) => (a.ns < b.ns ? 1 : a.ns > b.ns ? -1 : 0)).slice(0, limit).map(({ ns, line }) => [ns.toString(), line]),
      }))
    return { status: 200, body: { status: 'success', data: { resultType: 'streams', result } } }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://loki')
      if (url.pathname === '/ready') return void text(res, 200, 'ready')
      if (!authorized(req)) return void text(res, 401, 'Unauthorized')
      const orgId = req.headers['x-scope-orgid']
      const tenant = options.multiTenant ? (typeof orgId === 'string' && orgId !== '' ? orgId : undefined) : FAKE_TENANT
      if (tenant === undefined) return void text(res, 401, 'no org id')
      if (req.method === 'POST' && url.pathname === '/loki/api/v1/push') {
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return void text(res, 415, 'unsupported content type (this test server reads JSON pushes only)')
        let body: unknown
        try {
          const raw = Buffer.concat(chunks)
          body = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'))
        } catch {
          return void text(res, 400, 'loghttp.PushRequest: invalid JSON')
        }
        const answer = push(tenant, body)
        pushes.push({ tenant: options.multiTenant ? tenant : undefined, status: answer.status, entries: answer.stored })
        return void text(res, answer.status, answer.text)
      }
      if (req.method === 'GET' && url.pathname === '/loki/api/v1/query_range') {
        const { status, body } = query(tenant, url)
        return void json(res, status, body)
      }
      if (req.method === 'GET' && url.pathname === '/loki/api/v1/labels') {
        const names = new Set([...streamsOf(tenant).values()].flatMap(({ labels }) => Object.keys(labels)))
        return void json(res, 200, { status: 'success', data: [...names].sort() })
      }
      const values = /^\/loki\/api\/v1\/label\/([^/]+)\/values$/.exec(url.pathname)
      if (req.method === 'GET' && values) {
        const name = decodeURIComponent(values[1]!)
        const found = new Set([...streamsOf(tenant).values()].map(({ labels }) => labels[name]).filter((value) => value !== undefined))
        return void json(res, 200, { status: 'success', data: [...found].sort() })
      }
      text(res, 404, '404 page not found')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    /** Every push answered, in order. */
    pushes,
    /** The streams of a tenant (`fake` when multi-tenancy is off). */
    streams: (tenant = FAKE_TENANT) => [...streamsOf(tenant).values()],
    /** Every stored line of a tenant, parsed as JSON. */
    lines: <T = unknown>(tenant = FAKE_TENANT) => [...streamsOf(tenant).values()].flatMap(({ entries }) => entries.map(({ line }) => JSON.parse(line) as T)),
    /** The next `count` pushes answer 429. */
    rateLimit(count: number) {
      rateLimited = count
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type LokiServer = Awaited<ReturnType<typeof startLokiServer>>

type PushStream = { stream: Record<string, string>; values: Array<[string, string]> }

/** Validates a push body as Loki's JSON decoder and label validation do; a string is the 400's reason. */
function readPush(body: unknown): PushStream[] | string {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { streams?: unknown }).streams)) return 'loghttp.PushRequest.Streams: expected an array'
  const streams: PushStream[] = []
  for (const entry of (body as { streams: unknown[] }).streams) {
    const { stream, values } = (entry ?? {}) as { stream?: unknown; values?: unknown }
    if (typeof stream !== 'object' || stream === null || Object.keys(stream).length === 0) return 'error at least one label pair is required per stream'
    for (const [name, value] of Object.entries(stream)) {
      if (!LABEL_NAME.test(name)) return `error parsing labels ${formatLabels(stream as Record<string, string>)}: invalid label name "${name}"`
      if (typeof value !== 'string' || value === '') return `error parsing labels: label ${name} has an invalid value`
    }
    if (!Array.isArray(values)) return 'loghttp.PushRequest.Streams: values: expected an array'
    for (const value of values) {
      if (!Array.isArray(value) || value.length < 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string' || !/^\d+$/.test(value[0])) {
        return 'loghttp.PushRequest.Streams: values: expected [ "<unix epoch in nanoseconds>", "<log line>" ]'
      }
    }
    streams.push({ stream: stream as Record<string, string>, values: values as Array<[string, string]> })
  }
  return streams
}

const labelKey = (labels: Record<string, string>) => formatLabels(labels)

function formatLabels(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`
}

function parseSelector(query: string): Record<string, string> | undefined {
  const match = /^\{(.*)\}$/.exec(query.trim())
  if (!match) return undefined
  const selector: Record<string, string> = {}
  for (const part of match[1]!.split(',').map((text) => text.trim()).filter(Boolean)) {
    const pair = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"$/.exec(part)
    if (!pair) return undefined
    selector[pair[1]!] = JSON.parse(`"${pair[2]!}"`) as string
  }
  return selector
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(status === 204 ? undefined : body)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
