/**
 * Test Elasticsearch: an in-process stand-in for the parts of Elasticsearch's REST API (8.x) that
 * the Elasticsearch sink uses and that tests read back with the official JavaScript client.
 * Listens on 127.0.0.1, port 0. Every answer carries `X-Elastic-Product: Elasticsearch`, which
 * the official client checks.
 *
 * What it models, as Elasticsearch answers:
 * - `GET /` -> cluster name and `version.number` 8.x.
 * - `GET|PUT|DELETE /_index_template/:name`: composable templates; GET of a missing one is 404
 *   `resource_not_found_exception`. A new index takes the mappings of the matching template with
 *   the highest priority; `dynamic: false` leaves unmapped fields unindexed.
 * - `POST /_bulk` (NDJSON; `index` and `create` actions, `_index` in the action or the path):
 *   `{ took, errors, items: [{ index: { _index, _id, _version, result, status, error? } }] }` with
 *   200 whatever the items' outcome. `index` replaces a document (`result: "updated"`,
 *   `_version` + 1). A document whose mapped `date` field does not parse, or whose mapped
 *   `long` is not a number, is refused with 400 `document_parsing_exception`; an invalid index
 *   name (upper case, `*`, ...) with 400 `invalid_index_name_exception`; `failNext(id, status, times)`
 *   refuses a document that many times with that status (429 `es_rejected_execution_exception`, 503...).
 *   A body that is not NDJSON pairs -> 400 `illegal_argument_exception` for the whole request.
 *   `rejectRequests(n, status)` answers the next n requests of any kind with that status.
 * - `GET /:index/_doc/:id`, `GET|POST /:index/_search` (`match_all`, `term`, `match` on one
 *   field, `size`; `:index` may be a comma list or a `*` pattern), `GET|POST /:index/_count`.
 * - Auth: with `basicAuth` or `apiKey`, requests without the right `Authorization` answer 401
 *   `security_exception` with `WWW-Authenticate`.
 *
 * Not modelled (candidly): analysis (a `match` is a case-insensitive word test), aggregations,
 * refresh (documents are searchable at once), shards, aliases, data streams.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

type Mapping = { type?: string; properties?: Record<string, Mapping>; dynamic?: boolean | string }

interface Template {
  index_patterns: string[]
  priority?: number
  template?: { mappings?: Mapping }
}

interface Doc {
  source: Record<string, unknown>
  version: number
}

interface Index {
  mappings: Mapping
  docs: Map<string, Doc>
}

export interface ElasticsearchServerOptions {
  basicAuth?: { username: string; password: string }
  /** The encoded API key (`base64(id:key)`) sent as `Authorization: ApiKey <key>`. */
  apiKey?: string
  /** Called with each document as it is indexed (benchmarks time arrivals with it). */
  onIndexed?: (id: string, source: Record<string, unknown>) => void
}

/** Elasticsearch's index name rules. */
function indexNameProblem(name: string): string | undefined {
  if (name !== name.toLowerCase()) return 'must be lowercase'
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'must not contain the following characters [\\, /, *, ?, ", <, >, |, " ", ",", #, :]'
  if (/^[-_+]/.test(name)) return 'must not start with \'_\', \'-\', or \'+\''
  return undefined
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

export async function startElasticsearchServer(options: ElasticsearchServerOptions = {}) {
  const templates = new Map<string, Template>()
  const indices = new Map<string, Index>()
  const failures = new Map<string, { status: number; times: number }>()
  let rejections: { count: number; status: number } = { count: 0, status: 503 }
  const requests: Array<{ method: string; path: string }> = []

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    if (options.basicAuth) return header === `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`
    if (options.apiKey) return header === `ApiKey ${options.apiKey}`
    return true
  }

  function indexFor(name: string): Index {
    let index = indices.get(name)
    if (!index) {
      const template = [...templates.values()]
        .filter((candidate) => candidate.index_patterns.some((pattern) => wildcard(pattern).test(name)))
        .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0))[0]
      index = { mappings: template?.template?.mappings ?? {}, docs: new Map() }
      indices.set(name, index)
    }
    return index
  }

  function resolveIndices(expression: string): Index[] {
    const patterns = expression.split(',').map(wildcard)
    return [...indices.entries()].filter(([name]) => patterns.some((pattern) => pattern.test(name))).map(([, index]) => index)
  }

  /** The first mapped field whose value does not fit its type. */
  function mappingProblem(mapping: Mapping, source: Record<string, unknown>, prefix = ''): string | undefined {
    for (const [field, fieldMapping] of Object.entries(mapping.properties ?? {})) {
      const value = source[field]
      if (value === undefined || value === null) continue
      if (fieldMapping.type === 'date' && (typeof value !== 'string' || Number.isNaN(Date.parse(value))) && typeof value !== 'number') {
        return `failed to parse field [${prefix}${field}] of type [date]`
      }
      if (fieldMapping.type === 'long' && (typeof value !== 'number' || !Number.isInteger(value))) return `failed to parse field [${prefix}${field}] of type [long]`
      if (fieldMapping.properties && typeof value === 'object') {
        const nested = mappingProblem(fieldMapping, value as Record<string, unknown>, `${prefix}${field}.`)
        if (nested) return nested
      }
    }
    return undefined
  }

  function bulk(body: string, pathIndex: string | undefined) {
    const lines = body.split('\n').filter((line) => line.trim() !== '')
    if (lines.length % 2 !== 0) return { status: 400, body: error(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]') }
    const items: unknown[] = []
    let errors = false
    for (let index = 0; index < lines.length; index += 2) {
      let action: Record<string, { _index?: string; _id?: string }>
      let source: Record<string, unknown>
      try {
        action = JSON.parse(lines[index]!) as typeof action
        source = JSON.parse(lines[index + 1]!) as typeof source
      } catch {
        return { status: 400, body: error(400, 'x_content_parse_exception', `[${index + 1}:1] Unexpected character`) }
      }
      const [op, meta] = Object.entries(action)[0] ?? []
      if ((op !== 'index' && op !== 'create') || !meta) return { status: 400, body: error(400, 'illegal_argument_exception', `Malformed action/metadata line [${index + 1}]`) }
      const name = meta._index ?? pathIndex
      const id = meta._id ?? `auto-${index}-${Date.now()}`
      const item = (status: number, extra: Record<string, unknown>) => {
        if (status >= 300) errors = true
        items.push({ [op]: { _index: name, _id: id, status, ...extra } })
      }
      const failure = failures.get(id)
      if (failure !== undefined) {
        if (--failure.times === 0) failures.delete(id)
        const injected = failure.status
        const type = injected === 429 ? 'es_rejected_execution_exception' : injected >= 500 ? 'unavailable_shards_exception' : 'document_parsing_exception'
        item(injected, { error: { type, reason: `injected ${injected}` } })
        continue
      }
      if (!name) {
        item(400, { error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' } })
        continue
      }
      const nameProblem = indexNameProblem(name)
      if (nameProblem) {
        item(400, { error: { type: 'invalid_index_name_exception', reason: `Invalid index name [${name}], ${nameProblem}` } })
        continue
      }
      const target = indexFor(name)
      const problem = mappingProblem(target.mappings, source)
      if (problem) {
        item(400, { error: { type: 'document_parsing_exception', reason: `[1:1] ${problem}` } })
        continue
      }
      const existing = target.docs.get(id)
      if (existing && op === 'create') {
        item(409, { error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists` } })
        continue
      }
      const version = (existing?.version ?? 0) + 1
      target.docs.set(id, { source, version })
      options.onIndexed?.(id, source)
      item(existing ? 200 : 201, { _version: version, result: existing ? 'updated' : 'created', _shards: { total: 1, successful: 1, failed: 0 } })
    }
    return { status: 200, body: { took: 1, errors, items } }
  }

  function matches(query: Record<string, Record<string, unknown>> | undefined, source: Record<string, unknown>): boolean {
    if (!query || 'match_all' in query) return true
    const lookup = (field: string) => field.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], source)
    if (query.term) {
      const [field, raw] = Object.entries(query.term)[0]!
      const value = typeof raw === 'object' && raw !== null && 'value' in raw ? (raw as { value: unknown }).value : raw
      return lookup(field) === value
    }
    if (query.match) {
      const [field, raw] = Object.entries(query.match)[0]!
      const value = String(typeof raw === 'object' && raw !== null && 'query' in raw ? (raw as { query: unknown }).query : raw).toLowerCase()
      return String(lookup(field) ?? '').toLowerCase().split(/\W+/).includes(value)
    }
    return false
  }

  function search(expression: string, body: { query?: Record<string, Record<string, unknown>>; size?: number }) {
    const hits = resolveIndices(expression).flatMap((index) =>
      [...index.docs.entries()].filter(([, doc]) => matches(body.query, doc.source)).map(([id, doc]) => ({ index, id, doc })),
    )
    const names = new Map([...indices.entries()].map(([name, index]) => [index, name]))
    return {
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: hits.length, relation: 'eq' },
        max_score: 1,
        hits: hits.slice(0, body.size ?? 10).map(({ index, id, doc }) => ({ _index: names.get(index), _id: id, _score: 1, _source: doc.source })),
      },
    }
  }

  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (text += chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://es')
      const path = url.pathname
      const method = req.method ?? 'GET'
      requests.push({ method, path })
      if (rejections.count > 0) {
        rejections.count--
        return void send(res, rejections.status, error(rejections.status, rejections.status === 429 ? 'es_rejected_execution_exception' : 'cluster_block_exception', 'injected'))
      }
      if (!authorized(req)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="security" charset="UTF-8", ApiKey')
        return void send(res, 401, error(401, 'security_exception', 'missing authentication credentials for REST request [' + path + ']'))
      }
      const body = (): Record<string, unknown> => (text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>))
      if (path === '/' && method !== 'POST') return void send(res, 200, { name: 'test-node', cluster_name: 'eventline-test', version: { number: '8.15.0', build_flavor: 'default', lucene_version: '9.11.1' }, tagline: 'You Know, for Search' })
      const template = /^\/_index_template\/([^/]+)$/.exec(path)
      if (template) {
        const name = decodeURIComponent(template[1]!)
        if (method === 'GET') {
          const found = templates.get(name)
          return void (found ? send(res, 200, { index_templates: [{ name, index_template: found }] }) : send(res, 404, error(404, 'resource_not_found_exception', `index template matching [${name}] not found`)))
        }
        if (method === 'PUT' || method === 'POST') {
          const parsed = body() as unknown as Template
          if (!Array.isArray(parsed.index_patterns) || parsed.index_patterns.length === 0) return void send(res, 400, error(400, 'action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;'))
          templates.set(name, parsed)
          return void send(res, 200, { acknowledged: true })
        }
        if (method === 'DELETE') return void (templates.delete(name) ? send(res, 200, { acknowledged: true }) : send(res, 404, error(404, 'resource_not_found_exception', name)))
      }
      const bulkPath = /^(?:\/([^/_][^/]*))?\/_bulk$/.exec(path)
      if (bulkPath && (method === 'POST' || method === 'PUT')) {
        const answer = bulk(text, bulkPath[1] && decodeURIComponent(bulkPath[1]))
        return void send(res, answer.status, answer.body)
      }
      const doc = /^\/([^/_][^/]*)\/_doc\/([^/]+)$/.exec(path)
      if (doc && method === 'GET') {
        const [name, id] = [decodeURIComponent(doc[1]!), decodeURIComponent(doc[2]!)]
        const found = indices.get(name)?.docs.get(id)
        if (!found) return void send(res, 404, { _index: name, _id: id, found: false })
        return void send(res, 200, { _index: name, _id: id, _version: found.version, _seq_no: found.version - 1, _primary_term: 1, found: true, _source: found.source })
      }
      const searchPath = /^\/([^/]+)\/_(search|count)$/.exec(path)
      if (searchPath && (method === 'GET' || method === 'POST')) {
        const result = search(decodeURIComponent(searchPath[1]!), body() as Parameters<typeof search>[1])
        return void send(res, 200, searchPath[2] === 'count' ? { count: result.hits.total.value, _shards: result._shards } : result)
      }
      send(res, 404, error(404, 'index_not_found_exception', `no such index [${path}]`))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    templates,
    /** Documents of the indices matching `expression` (default every index), by id. */
    documents(expression = '*'): Map<string, { index: string; source: Record<string, unknown>; version: number }> {
      const found = new Map<string, { index: string; source: Record<string, unknown>; version: number }>()
      for (const [name, index] of indices) {
        if (!expression.split(',').some((pattern) => wildcard(pattern).test(name))) continue
        for (const [id, doc] of index.docs) found.set(id, { index: name, ...doc })
      }
      return found
    },
    indexNames: () => [...indices.keys()].sort(),
    /** The document `id` is refused with `status` in its next `times` bulk items. */
    failNext(id: string, status: number, times = 1) {
      failures.set(id, { status, times })
    },
    /** The next `count` requests of any kind answer `status`. */
    rejectRequests(count: number, status: number) {
      rejections = { count, status }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type ElasticsearchServer = Awaited<ReturnType<typeof startElasticsearchServer>>

function error(status: number, type: string, reason: string) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' }).end(JSON.stringify(body))
}
