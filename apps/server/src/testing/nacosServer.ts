/**
 * Test Nacos server: an in-process stand-in for a Nacos server's open API v1 (naming and auth),
 * for testing the Nacos source over real HTTP without a JVM. Listens on 127.0.0.1, port 0.
 *
 * What it models, the way Nacos 1.x/2.x answer:
 * - `POST /nacos/v1/auth/login` (form or query `username`, `password`) ->
 *   `{ accessToken, tokenTtl, globalAdmin, username }` when auth is on; wrong credentials answer
 *   403 with the text `user not found!`. Other calls then need `accessToken` (query): missing ->
 *   403 `user not found!`, unknown -> 403 `token invalid!`, past its `tokenTtl` or revoked with
 *   `expireTokens()` -> 403 `token expired!`.
 * - `GET /nacos/v1/ns/service/list?pageNo&pageSize[&namespaceId][&groupName]` ->
 *   `{ count, doms }` of one namespace (default `public`) and group (default `DEFAULT_GROUP`),
 *   names sorted (`listOrder: 'sorted'`, the default) or in the order the services were created
 *   (`'created'`: not sorted, as 2.x lists its HashSet). Missing `pageNo`/`pageSize` -> 400. A
 *   service stays listed after its last instance leaves, until `deleteService()` (Nacos keeps empty
 *   services for a while too). Paging is not a snapshot, as on a real server: `beforeServicePage()`
 *   changes the services between two page requests of one listing.
 * - `GET /nacos/v1/ns/instance/list?serviceName[&namespaceId][&groupName][&clusters][&healthyOnly]`
 *   -> `{ name: "GROUP@@svc", groupName, clusters, cacheMillis, hosts, lastRefTime, checksum,
 *   allIPs, reachProtectionThreshold, valid }`; `serviceName` may carry its `GROUP@@` prefix;
 *   an unknown service lists with empty `hosts`; `clusters` (comma list) and `healthyOnly=true`
 *   filter. Health protection as Nacos does it: when the healthy share of the selected hosts is at
 *   or below the service's protection threshold (default 0: none healthy), every host is served
 *   marked healthy and `reachProtectionThreshold` is true. With `version: '1.x'` the answer has no
 *   `reachProtectionThreshold` at all (1.x `doSrvIpxt` writes `reachProtectThreshold` only for
 *   `isCheck=true`, and then answers `{}`), protection applying all the same. Disabled instances (`enabled: false`)
 *   are left out, as real servers leave them out (they are for consumers); with `version: '2.x'`
 *   (the default) the protection share counts enabled instances only, as 2.x does, with `'1.x'`
 *   every selected instance, disabled ones too, as 1.x does.
 *   Hosts carry `instanceId` (`ip#port#cluster#GROUP@@svc`), `ip`, `port`, `weight`,
 *   `healthy`, `enabled`, `ephemeral`, `clusterName`, `serviceName`, `metadata` and the heartbeat
 *   fields.
 * - `GET /nacos/v1/ns/instance?serviceName&ip&port[&clusterName][&namespaceId][&groupName]` (one
 *   instance's detail, disabled ones included) -> `{ service: "GROUP@@svc", ip, port, clusterName,
 *   weight, healthy, instanceId, metadata }`: no `enabled` field, and the health is the real one
 *   (no protection here), as both 1.x and 2.x answer. `clusterName` defaults to `DEFAULT`. A missing
 *   `serviceName`, `ip` or `port` -> 400 `caused: Param 'ip' is required.;`. Not found, 2.x (the
 *   exception reaches the console's catch-all handler): HTTP 500, text `caused: no ips found for
 *   cluster DEFAULT in service GROUP@@svc;` when the service has no instance at all (or does not
 *   exist), else `caused: no matched ip found!;`. Not found, 1.x (`NacosException.NOT_FOUND`): HTTP
 *   404, text `no service GROUP@@svc found!`, `no ips found for cluster C in service GROUP@@svc` or
 *   `no matched ip found!`.
 *
 * Test controls on the handle: register / deregister / update instances, delete services,
 * inject a malformed host, fail with an HTTP status, hang (accept and never answer), answer
 * invalid JSON (every call, one path, or one service's calls), change the services between two
 * pages of a listing, expire tokens, and a record of every request.
 *
 * What it deliberately does not model (candidly): writes over HTTP (instance registration,
 * heartbeats; tests mutate through the handle), health checking (health is what the test sets),
 * the v2 API and gRPC, config (`/v1/cs`), namespaces and users management.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface NacosHost {
  ip: string
  port: number
  weight: number
  healthy: boolean
  enabled: boolean
  ephemeral: boolean
  clusterName: string
  metadata: Record<string, string>
}

export interface NacosServerOptions {
  /** Turns auth on with this one user. */
  auth?: { username: string; password: string }
  /** `tokenTtl` of logins, seconds. Default 18,000 (Nacos's default). */
  tokenTtlSeconds?: number
  /** `cacheMillis` of instance lists. Default 10,000. */
  cacheMillis?: number
  /** Whose answers to give where 1.x and 2.x differ (the detail's not-found answer, protection counting, no protection flag in 1.x). Default `2.x`. */
  version?: '1.x' | '2.x'
  /** Order of `service/list` names: `sorted` (default) or `created` (unsorted, as 2.x). */
  listOrder?: 'sorted' | 'created'
}

export interface ServiceRef {
  namespace?: string
  group?: string
}

export interface RecordedNacosRequest {
  method: string
  path: string
  query: Record<string, string>
  status?: number
}

export type NacosFailure = { kind: 'status'; status: number; body?: string } | { kind: 'hang' } | { kind: 'bad-json' }

export interface NacosServer {
  url: string
  /** `127.0.0.1:PORT`, for a `nacos://` registry URL. */
  address: string
  port: number
  requests: RecordedNacosRequest[]
  clearRequests(): void
  /** Requests to a path (`/nacos/v1/ns/instance/list`), optionally only those answered with `status`. */
  count(path: string, status?: number): number
  /** Adds (or replaces) an instance; creates the service. */
  register(service: string, host: Partial<NacosHost> & Pick<NacosHost, 'ip' | 'port'>, ref?: ServiceRef): void
  deregister(service: string, ip: string, port: number, ref?: ServiceRef & { cluster?: string }): void
  /** Changes fields of a registered instance (metadata is replaced when given). */
  update(service: string, ip: string, port: number, patch: Partial<Omit<NacosHost, 'ip' | 'port' | 'clusterName'>>, ref?: ServiceRef & { cluster?: string }): void
  /** Sets a service's protection threshold (0..1; Nacos's default, and this server's, is 0). */
  setProtectThreshold(service: string, threshold: number, ref?: ServiceRef): void
  /** Removes a service and its instances from the service list. */
  deleteService(service: string, ref?: ServiceRef): void
  /** Runs `change` once, just before answering the next `service/list` request for page `pageNo`. */
  beforeServicePage(pageNo: number, change: () => void): void
  /** Adds a raw entry to a service's `hosts`, as given, until `clearInjected()`. */
  injectHost(service: string, raw: unknown, ref?: ServiceRef): void
  clearInjected(): void
  /** Answers every call (or those to `path`) with the failure, until `heal()`. */
  fail(failure: NacosFailure, path?: string): void
  /** Answers the `instance/list` and instance detail calls of one service (by name, any group) with the failure, until `heal()`. */
  failService(service: string, failure: NacosFailure): void
  heal(): void
  /** Revokes every token issued so far: the next call with one answers 403 `token expired!`. */
  expireTokens(): void
  /** Logins answered with a token. */
  logins: number
  close(): Promise<void>
}

const DEFAULT_NAMESPACE = 'public'
const DEFAULT_GROUP = 'DEFAULT_GROUP'

interface Service {
  hosts: Map<string, NacosHost>
  injected: unknown[]
  lastRefTime: number
  protectThreshold: number
}

export async function startNacosServer(options: NacosServerOptions = {}): Promise<NacosServer> {
  const services = new Map<string, Service>()
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>()
  const requests: RecordedNacosRequest[] = []
  const sockets = new Set<Socket>()
  let failure: { failure: NacosFailure; path?: string } | undefined
  const serviceFailures = new Map<string, NacosFailure>()
  let logins = 0
  const pageHooks = new Map<number, () => void>()
  const cacheMillis = options.cacheMillis ?? 10_000
  const tokenTtl = options.tokenTtlSeconds ?? 18_000
  const version = options.version ?? '2.x'

  const serviceKey = (name: string, ref: ServiceRef = {}) => `${ref.namespace ?? DEFAULT_NAMESPACE}\n${ref.group ?? DEFAULT_GROUP}\n${name}`
  const hostKey = (ip: string, port: number, cluster: string) => `${ip}#${port}#${cluster}`
  const serviceOf = (name: string, ref?: ServiceRef, create = false) => {
    const key = serviceKey(name, ref)
    let service = services.get(key)
    if (!service && create) services.set(key, (service = { hosts: new Map(), injected: [], lastRefTime: Date.now(), protectThreshold: 0 }))
    return service
  }

  const send = (response: ServerResponse, status: number, body: unknown, contentType = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
    response.end(text)
  }
  const text = (response: ServerResponse, status: number, body: string) => send(response, status, body, 'text/plain;charset=UTF-8')

  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      request.on('error', reject)
    })

  /** The auth check of every non-login call: undefined when allowed, else the 403 text. */
  const denied = (query: URLSearchParams): string | undefined => {
    if (!options.auth) return undefined
    const token = query.get('accessToken')
    if (!token) return 'user not found!'
    const known = tokens.get(token)
    if (!known) return 'token invalid!'
    if (known.revoked || Date.now() >= known.expiresAt) return 'token expired!'
    return undefined
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const query = url.searchParams
    const answerFailure = (current: NacosFailure) => {
      if (current.kind === 'hang') return // never answered; the socket is closed with the server
      if (current.kind === 'status') return text(response, current.status, current.body ?? 'server error')
      return send(response, 200, '{"count": 3, "doms": [')
    }
    if (failure && (failure.path === undefined || failure.path === url.pathname)) return answerFailure(failure.failure)
    if (url.pathname === '/nacos/v1/ns/instance/list' || url.pathname === '/nacos/v1/ns/instance') {
      const given = query.get('serviceName') ?? ''
      const failing = serviceFailures.get(given.includes('@@') ? given.slice(given.indexOf('@@') + 2) : given)
      if (failing) return answerFailure(failing)
    }

    if (url.pathname === '/nacos/v1/auth/login') {
      if (request.method !== 'POST') return text(response, 405, "Request method 'GET' not supported")
      const form = new URLSearchParams(await readBody(request))
      const username = form.get('username') ?? query.get('username')
      const password = form.get('password') ?? query.get('password')
      if (!options.auth || username !== options.auth.username || password !== options.auth.password) return text(response, 403, 'user not found!')
      const accessToken = randomUUID().replace(/-/g, '')
      tokens.set(accessToken, { expiresAt: Date.now() + tokenTtl * 1000, revoked: false })
      logins++
      return send(response, 200, { accessToken, tokenTtl, globalAdmin: true, username })
    }

    if (url.pathname === '/nacos/v1/ns/service/list') {
      if (request.method !== 'GET') return text(response, 405, 'method not allowed')
      const reason = denied(query)
      if (reason) return text(response, 403, reason)
      const pageNo = Number(query.get('pageNo'))
      const pageSize = Number(query.get('pageSize'))
      if (!query.get('pageNo') || !query.get('pageSize') || !Number.isInteger(pageNo) || !Number.isInteger(pageSize) || pageNo < 1 || pageSize < 1) {
        return text(response, 400, "Required parameter 'pageNo' and 'pageSize' are not present or not valid")
      }
      const hook = pageHooks.get(pageNo)
      if (hook) {
        pageHooks.delete(pageNo)
        hook()
      }
      const prefix = serviceKey('', { namespace: query.get('namespaceId') || DEFAULT_NAMESPACE, group: query.get('groupName') || DEFAULT_GROUP })
      const names = [...services.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
      if ((options.listOrder ?? 'sorted') === 'sorted') names.sort()
      return send(response, 200, { count: names.length, doms: names.slice((pageNo - 1) * pageSize, pageNo * pageSize) })
    }

    if (url.pathname === '/nacos/v1/ns/instance/list') {
      if (request.method !== 'GET') return text(response, 405, 'method not allowed')
      const reason = denied(query)
      if (reason) return text(response, 403, reason)
      const given = query.get('serviceName')
      if (!given) return text(response, 400, "Param 'serviceName' is required.")
      const split = given.indexOf('@@')
      const group = split >= 0 ? given.slice(0, split) : query.get('groupName') || DEFAULT_GROUP
      const name = split >= 0 ? given.slice(split + 2) : given
      const namespace = query.get('namespaceId') || DEFAULT_NAMESPACE
      const clusters = (query.get('clusters') ?? '').split(',').filter(Boolean)
      const healthyOnly = query.get('healthyOnly') === 'true'
      const service = serviceOf(name, { namespace, group })
      const grouped = `${group}@@${name}`
      const inClusters = [...(service?.hosts.values() ?? [])].filter((host) => clusters.length === 0 || clusters.includes(host.clusterName))
      // Health protection: with too few healthy instances every one is served, marked healthy.
      // 2.x counts the enabled instances only; 1.x counts them all, then drops the disabled ones.
      const counted = version === '1.x' ? inClusters : inClusters.filter((host) => host.enabled)
      const protection = counted.length > 0 && counted.filter((host) => host.healthy).length / counted.length <= (service?.protectThreshold ?? 0)
      const hosts = inClusters
        // Disabled instances are not served to consumers, so not listed.
        .filter((host) => host.enabled)
        .filter((host) => protection || !healthyOnly || host.healthy)
        .map((host) => ({
          instanceId: `${host.ip}#${host.port}#${host.clusterName}#${grouped}`,
          ip: host.ip,
          port: host.port,
          weight: host.weight,
          healthy: protection || host.healthy,
          enabled: host.enabled,
          ephemeral: host.ephemeral,
          clusterName: host.clusterName,
          serviceName: grouped,
          metadata: host.metadata,
          instanceHeartBeatInterval: 5000,
          instanceHeartBeatTimeOut: 15000,
          ipDeleteTimeout: 30000,
          instanceIdGenerator: 'simple',
        }))
      const allHosts: unknown[] = [...hosts, ...(service?.injected ?? [])]
      return send(response, 200, {
        name: grouped,
        groupName: group,
        clusters: clusters.join(','),
        cacheMillis,
        hosts: allHosts,
        lastRefTime: service?.lastRefTime ?? Date.now(),
        checksum: createHash('md5').update(JSON.stringify(allHosts)).digest('hex'),
        allIPs: false,
        // 1.x never says; 2.x (ServiceUtil.selectInstancesWithHealthyProtection) always does.
        ...(version === '1.x' ? {} : { reachProtectionThreshold: protection }),
        valid: true,
      })
    }
    if (url.pathname === '/nacos/v1/ns/instance') {
      if (request.method !== 'GET') return text(response, 405, 'method not allowed')
      const reason = denied(query)
      if (reason) return text(response, 403, reason)
      for (const param of ['serviceName', 'ip', 'port']) {
        if (!query.get(param)) return text(response, 400, `caused: Param '${param}' is required.;`)
      }
      const given = query.get('serviceName')!
      const split = given.indexOf('@@')
      const group = split >= 0 ? given.slice(0, split) : query.get('groupName') || DEFAULT_GROUP
      const name = split >= 0 ? given.slice(split + 2) : given
      const grouped = `${group}@@${name}`
      const ip = query.get('ip')!
      const port = Number(query.get('port'))
      if (!/^-?\d+$/.test(query.get('port')!)) return text(response, 400, `caused: For input string: "${query.get('port')}";`)
      const cluster = query.get('clusterName') || 'DEFAULT'
      const service = serviceOf(name, { namespace: query.get('namespaceId') || DEFAULT_NAMESPACE, group })
      const all = [...(service?.hosts.values() ?? [])]
      const host = all.find((candidate) => candidate.clusterName === cluster && candidate.ip === ip && candidate.port === port)
      if (!host) {
        if (version === '1.x') {
          // NacosException(NOT_FOUND) through the naming module's handler: its status, its message.
          if (!service) return text(response, 404, `no service ${grouped} found!`)
          if (!all.some((candidate) => candidate.clusterName === cluster)) return text(response, 404, `no ips found for cluster ${cluster} in service ${grouped}`)
          return text(response, 404, 'no matched ip found!')
        }
        // 2.x: the checked NacosException reaches the console's catch-all handler: 500, "caused: …;".
        if (all.length === 0) return text(response, 500, `caused: no ips found for cluster ${cluster} in service ${grouped};`)
        return text(response, 500, 'caused: no matched ip found!;')
      }
      return send(response, 200, {
        service: grouped,
        ip,
        port,
        clusterName: cluster,
        weight: host.weight,
        healthy: host.healthy,
        instanceId: `${host.ip}#${host.port}#${host.clusterName}#${grouped}`,
        metadata: host.metadata,
      })
    }
    return text(response, 404, `No endpoint ${request.method} ${url.pathname}.`)
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const record: RecordedNacosRequest = { method: request.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams) }
    requests.push(record)
    response.on('finish', () => (record.status = response.statusCode))
    handle(request, response).catch(() => {
      if (!response.headersSent) text(response, 500, 'server error')
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const findHost = (service: string, ip: string, port: number, ref: ServiceRef & { cluster?: string } = {}) => {
    const key = hostKey(ip, port, ref.cluster ?? 'DEFAULT')
    const found = serviceOf(service, ref)
    const host = found?.hosts.get(key)
    if (!found || !host) throw new Error(`no instance ${ip}:${port} (cluster ${ref.cluster ?? 'DEFAULT'}) in ${service}`)
    return { service: found, key, host }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    requests,
    get logins() {
      return logins
    },
    clearRequests: () => void requests.splice(0),
    count: (path, status) => requests.filter((request) => request.path === path && (status === undefined || request.status === status)).length,
    register(service, host, ref) {
      const full: NacosHost = { weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {}, ...host }
      const found = serviceOf(service, ref, true)!
      found.hosts.set(hostKey(full.ip, full.port, full.clusterName), full)
      found.lastRefTime = Date.now()
    },
    deregister(service, ip, hostPort, ref) {
      const found = findHost(service, ip, hostPort, ref)
      found.service.hosts.delete(found.key)
      found.service.lastRefTime = Date.now()
    },
    update(service, ip, hostPort, patch, ref) {
      const found = findHost(service, ip, hostPort, ref)
      found.service.hosts.set(found.key, { ...found.host, ...patch })
      found.service.lastRefTime = Date.now()
    },
    setProtectThreshold(service, threshold, ref) {
      serviceOf(service, ref, true)!.protectThreshold = threshold
    },
    deleteService(service, ref) {
      services.delete(serviceKey(service, ref))
    },
    beforeServicePage(pageNo, change) {
      pageHooks.set(pageNo, change)
    },
    injectHost(service, raw, ref) {
      serviceOf(service, ref, true)!.injected.push(raw)
    },
    clearInjected() {
      for (const service of services.values()) service.injected = []
    },
    fail(next, path) {
      failure = path === undefined ? { failure: next } : { failure: next, path }
    },
    failService(service, next) {
      serviceFailures.set(service, next)
    },
    heal() {
      failure = undefined
      serviceFailures.clear()
    },
    expireTokens() {
      for (const token of tokens.values()) token.revoked = true
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
