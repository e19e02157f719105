/**
 * Test Nacos server: an in-process stand-in for a Nacos server's naming open API (v1 and v2), its
 * login and v1's UDP push, for testing the Nacos source over real HTTP and UDP without a JVM.
 * Listens on 127.0.0.1, port 0.
 *
 * Which APIs it serves follows `version`, as the real servers do:
 * - `'1.x'`: the v1 API only. A `/nacos/v2/...` path answers 404 (`No endpoint`), or, with auth on,
 *   501 `no such api:GET:/nacos/v2/...` (the 1.x auth filter looks the handler up first).
 * - `'2.x'` (default): v1 and v2 (v2 since 2.2), login at `/nacos/v1/auth/login`.
 * - `'3.x'`: v2 only, login at `/nacos/v3/auth/user/login`: a 3.0/3.1 server whose legacy v1 API is
 *   switched off. (Nacos 3.2 removes v2 as well, leaving the v3 client and admin APIs: not modelled.)
 *   Every `/nacos/v1/...` path answers 404.
 *
 * Login: `POST .../login` (form or query `username`, `password`) -> `{ accessToken, tokenTtl,
 * globalAdmin, username }` when auth is on; wrong credentials answer 403 with the text
 * `user not found!`. Other calls then need `accessToken` (query): missing -> 403 `user not found!`,
 * unknown -> 403 `token invalid!`, past its `tokenTtl` or revoked with `expireTokens()` -> 403
 * `token expired!` (text, v1 and v2 alike: the auth filter answers before any v2 handler).
 *
 * v1 (as 1.x and 2.x answer it):
 * - `GET /nacos/v1/ns/service/list?pageNo&pageSize[&namespaceId][&groupName]` -> `{ count, doms }`
 *   of one namespace (default `public`) and group (default `DEFAULT_GROUP`), names sorted
 *   (`listOrder: 'sorted'`, the default) or in the order the services were created (`'created'`:
 *   not sorted, as 2.x lists its HashSet). Missing `pageNo`/`pageSize` -> 400. A service stays listed
 *   after its last instance leaves, until `deleteService()` (Nacos keeps empty services for a while
 *   too). Paging is not a snapshot, as on a real server: `beforeServicePage()` changes the services
 *   between two page requests of one listing.
 * - `GET /nacos/v1/ns/instance/list?serviceName[&namespaceId][&groupName][&clusters][&healthyOnly]
 *   [&udpPort&clientIP]` -> `{ name: "GROUP@@svc", groupName, clusters, cacheMillis, hosts,
 *   lastRefTime, checksum, allIPs, reachProtectionThreshold, valid }`; `serviceName` may carry its
 *   `GROUP@@` prefix; an unknown service lists with empty `hosts`; `clusters` (comma list) and
 *   `healthyOnly=true` filter. Health protection as Nacos does it: when the healthy share of the
 *   selected hosts is at or below the service's protection threshold (default 0: none healthy), every
 *   host is served marked healthy and `reachProtectionThreshold` is true. With `version: '1.x'` the
 *   answer has no `reachProtectionThreshold` at all (1.x `doSrvIpxt` writes `reachProtectThreshold`
 *   only for `isCheck=true`, and then answers `{}`), protection applying all the same. Disabled
 *   instances (`enabled: false`) are left out, as real servers leave them out (they are for
 *   consumers); 2.x counts enabled instances only for the protection share, 1.x every selected
 *   instance, disabled ones too. Hosts carry `instanceId` (`ip#port#cluster#GROUP@@svc`), `ip`,
 *   `port`, `weight`, `healthy`, `enabled`, `ephemeral`, `clusterName`, `serviceName`, `metadata` and
 *   the heartbeat fields.
 * - `GET /nacos/v1/ns/instance?serviceName&ip&port[&clusterName][&namespaceId][&groupName]` (one
 *   instance's detail, disabled ones included) -> `{ service: "GROUP@@svc", ip, port, clusterName,
 *   weight, healthy, instanceId, metadata }`: no `enabled` field, and the health is the real one
 *   (no protection here). `clusterName` defaults to `DEFAULT`. A missing `serviceName`, `ip` or
 *   `port` -> 400 `caused: Param 'ip' is required.;`. Not found, 2.x: HTTP 500, text `caused: no ips
 *   found for cluster DEFAULT in service GROUP@@svc;` when the service has no instance at all (or does
 *   not exist), else `caused: no matched ip found!;`. Not found, 1.x: HTTP 404, text `no service
 *   GROUP@@svc found!`, `no ips found for cluster C in service GROUP@@svc` or `no matched ip found!`.
 *
 * v2 (2.x and 3.x, `InstanceControllerV2` / `ServiceControllerV2`): every answer is the envelope
 * `{ code, message, data }` (`code` 0 and `message` `success` when it worked).
 * - `GET /nacos/v2/ns/service/list[?namespaceId][&groupName][&pageNo=1][&pageSize=20]` ->
 *   `data: { count, services }`, `pageSize` capped at 500.
 * - `GET /nacos/v2/ns/instance/list?serviceName[&namespaceId][&groupName][&clusterName][&healthyOnly]`
 *   -> `data`: the same service info as v1's list (name `GROUP@@svc`, with `reachProtectionThreshold`).
 * - `GET /nacos/v2/ns/instance?serviceName&ip&port[&clusterName][&namespaceId][&groupName]` ->
 *   `data: { serviceName: "GROUP@@svc", ip, port, clusterName, weight, healthy, instanceId,
 *   metadata }`; not found -> HTTP 404 `{ code: 20004, message: "resource not found", data: "no
 *   matched ip found!" }` (or `no ips found for cluster C in service GROUP@@svc`).
 * - A missing required parameter -> 400 `{ code: 10000, message: "parameter missing", data:
 *   "Required request parameter 'serviceName' ..." }`; a port that is no number -> 400 code 20002.
 *
 * UDP push (v1's, served by 1.x and 2.x; `PushService` / `UdpPushService`): a v1 `instance/list`
 * with `udpPort` > 0 and a `User-Agent` of a client type Nacos pushes to (`Nacos-Java-Client:v…`,
 * Go, C, C#) subscribes `clientIP` (else the caller's address) : `udpPort` to that service and
 * cluster selection. Every change of the service (register, deregister, update, delete) sends each
 * live subscriber a datagram `{ type: "dom", lastRefTime, data }`, `data` being the list answer as a
 * JSON string, gzip-compressed from 1 KiB on as Nacos does; the subscriber answers `{ type:
 * "push-ack", lastRefTime, data: "" }`. Unacknowledged pushes are sent again once after
 * `pushAckTimeoutMs`. A subscriber that does not list the service again within `pushCacheMillis`
 * (Nacos: 10 s) is dropped. `dropPushes()` loses datagrams on purpose; `pushes` records them.
 *
 * Test controls on the handle: register / deregister / update instances, delete services,
 * inject a malformed host, fail with an HTTP status, hang (accept and never answer), answer
 * invalid JSON (every call, one path, or one service's calls), change the services between two
 * pages of a listing, change a service just after its list answer is made (an answer that
 * predates a push), expire tokens, lose pushes, and a record of every request and push.
 *
 * What it deliberately does not model (candidly): writes over HTTP (instance registration,
 * heartbeats; tests mutate through the handle), health checking (health is what the test sets),
 * gRPC, the v3 APIs (but the 3.x login), config (`/v1/cs`), namespaces and users management, and
 * the `dump` push type.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gzipSync } from 'node:zlib'

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

export type NacosVersion = '1.x' | '2.x' | '3.x'

export interface NacosServerOptions {
  /** Turns auth on with this one user. */
  auth?: { username: string; password: string }
  /** `tokenTtl` of logins, seconds. Default 18,000 (Nacos's default). */
  tokenTtlSeconds?: number
  /** `cacheMillis` of instance lists. Default 10,000. */
  cacheMillis?: number
  /** Which APIs it serves and whose answers it gives where versions differ (see the header). Default `2.x`. */
  version?: NacosVersion
  /** Order of `service/list` names: `sorted` (default) or `created` (unsorted, as 2.x). */
  listOrder?: 'sorted' | 'created'
  /** A push subscriber not listing its service again within this is dropped. Default 10,000 (Nacos's `pushCacheMillis`). */
  pushCacheMillis?: number
  /** An unacknowledged push is sent again once after this. Default 10,000 (Nacos's ack timeout). */
  pushAckTimeoutMs?: number
  /** TCP port to listen on (to stand in for a server upgraded in place). Default: any free one. */
  port?: number
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

export interface RecordedPush {
  /** `GROUP@@svc`. */
  service: string
  to: string
  lastRefTime: number
  /** Lost on purpose (`dropPushes`): never sent. */
  dropped: boolean
  /** Sent gzip-compressed (1 KiB and more). */
  compressed: boolean
  acked: boolean
}

export type NacosFailure = { kind: 'status'; status: number; body?: string } | { kind: 'hang' } | { kind: 'bad-json' }

export interface NacosServer {
  url: string
  /** `127.0.0.1:PORT`, for a `nacos://` registry URL. */
  address: string
  port: number
  version: NacosVersion
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
  /**
   * Runs `change` once, after the next `instance/list` answer of `service` is made and before it is
   * sent (awaited: the answer can be held until a condition holds): an answer that predates a change.
   */
  afterInstanceList(service: string, change: () => void | Promise<void>): void
  /** Adds a raw entry to a service's `hosts`, as given, until `clearInjected()`. */
  injectHost(service: string, raw: unknown, ref?: ServiceRef): void
  clearInjected(): void
  /** Answers every call (or those to `path`) with the failure, until `heal()`. */
  fail(failure: NacosFailure, path?: string): void
  /** Answers the `instance/list` and instance detail calls (v1 and v2) of one service (by name, any group) with the failure, until `heal()`. */
  failService(service: string, failure: NacosFailure): void
  heal(): void
  /** Revokes every token issued so far: the next call with one answers 403 `token expired!`. */
  expireTokens(): void
  /** Logins answered with a token. */
  logins: number
  /** Every push datagram, in order (retries included). */
  pushes: RecordedPush[]
  /** Current push subscribers, as `GROUP@@svc ip:port`. */
  subscribers(): string[]
  /** Loses the next `count` pushes (and their retries), or every push while `true`, until `false`. */
  dropPushes(count: number | boolean): void
  close(): Promise<void>
}

const DEFAULT_NAMESPACE = 'public'
const DEFAULT_GROUP = 'DEFAULT_GROUP'
/** Nacos compresses a push from this size on (`compressIfNecessary`). */
const PUSH_COMPRESS_FROM = 1024
/** The client types Nacos pushes to (`ClientInfo` / `canEnablePush`), by User-Agent. */
const PUSHABLE_AGENT = /^(Nacos-Java-Client|Nacos-Go-Client|Nacos-C-Client|Nacos-CSharp-Client):v\d/

interface Service {
  hosts: Map<string, NacosHost>
  injected: unknown[]
  lastRefTime: number
  protectThreshold: number
}

interface Subscriber {
  namespace: string
  group: string
  name: string
  clusters: string[]
  ip: string
  port: number
  seenAt: number
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
  const listHooks = new Map<string, () => void | Promise<void>>()
  const cacheMillis = options.cacheMillis ?? 10_000
  const tokenTtl = options.tokenTtlSeconds ?? 18_000
  const version = options.version ?? '2.x'
  const servesV1 = version !== '3.x'
  const servesV2 = version !== '1.x'
  const pushCacheMillis = options.pushCacheMillis ?? 10_000
  const pushAckTimeoutMs = options.pushAckTimeoutMs ?? 10_000
  const subscribers = new Map<string, Subscriber>()
  const pushes: RecordedPush[] = []
  const pendingAcks = new Map<number, { timer: NodeJS.Timeout; record: RecordedPush }>()
  let dropping: number | boolean = 0
  let pushSequence = 0
  let closed = false
  const udp = createSocket('udp4')

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
  /** The v2 envelope (`Result`). */
  const result = (response: ServerResponse, status: number, code: number, message: string, data: unknown) => send(response, status, { code, message, data })
  const success = (response: ServerResponse, data: unknown) => result(response, 200, 0, 'success', data)
  const missingParam = (response: ServerResponse, name: string, type = 'String') =>
    result(response, 400, 10000, 'parameter missing', `Required request parameter '${name}' for method parameter type ${type} is not present`)

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

  /** `serviceName` (maybe `GROUP@@svc`) and `groupName` of a request, as Nacos reads them. */
  const serviceParams = (query: URLSearchParams) => {
    const given = query.get('serviceName') ?? ''
    const split = given.indexOf('@@')
    const group = split >= 0 ? given.slice(0, split) : query.get('groupName') || DEFAULT_GROUP
    const name = split >= 0 ? given.slice(split + 2) : given
    return { name, group, namespace: query.get('namespaceId') || DEFAULT_NAMESPACE, grouped: `${group}@@${name}` }
  }

  const sortedNames = (namespace: string, group: string) => {
    const prefix = serviceKey('', { namespace, group })
    const names = [...services.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
    if ((options.listOrder ?? 'sorted') === 'sorted') names.sort()
    return names
  }

  /** The service info of `instance/list` (v1's body, v2's `data`). */
  const serviceInfo = (ref: { name: string; group: string; namespace: string }, clusters: string[], healthyOnly: boolean) => {
    const service = serviceOf(ref.name, ref)
    const grouped = `${ref.group}@@${ref.name}`
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
    return {
      name: grouped,
      groupName: ref.group,
      clusters: clusters.join(','),
      cacheMillis,
      hosts: allHosts,
      lastRefTime: service?.lastRefTime ?? Date.now(),
      checksum: createHash('md5').update(JSON.stringify(allHosts)).digest('hex'),
      allIPs: false,
      // 1.x never says; 2.x (ServiceUtil.selectInstancesWithHealthyProtection) always does.
      ...(version === '1.x' ? {} : { reachProtectionThreshold: protection }),
      valid: true,
    }
  }

  /** The instance detail lookup: the host, or the not-found message (and whether the service exists, for 1.x). */
  const findDetail = (query: URLSearchParams) => {
    const ref = serviceParams(query)
    const ip = query.get('ip')!
    const port = Number(query.get('port'))
    const cluster = query.get('clusterName') || 'DEFAULT'
    const service = serviceOf(ref.name, ref)
    const all = [...(service?.hosts.values() ?? [])]
    const host = all.find((candidate) => candidate.clusterName === cluster && candidate.ip === ip && candidate.port === port)
    return { ref, ip, port, cluster, service, all, host }
  }

  // --- push ---------------------------------------------------------------------------------

  const subscriberKey = (subscriber: Omit<Subscriber, 'seenAt'>) => `${subscriber.namespace}\n${subscriber.group}@@${subscriber.name}\n${subscriber.clusters.join(',')}\n${subscriber.ip}:${subscriber.port}`

  const sendPush = (record: RecordedPush, payload: Buffer, subscriber: Subscriber, retry: boolean) => {
    pushes.push(record)
    if (!record.dropped) udp.send(payload, subscriber.port, subscriber.ip)
    if (retry) {
      const timer = setTimeout(() => {
        pendingAcks.delete(record.lastRefTime)
        sendPush({ ...record, dropped: record.dropped }, payload, subscriber, false)
      }, pushAckTimeoutMs)
      timer.unref()
      pendingAcks.set(record.lastRefTime, { timer, record })
    }
  }

  /** Pushes the service's new state to its live subscribers (expired ones are dropped, as Nacos does). */
  const pushChange = (name: string, ref: ServiceRef = {}) => {
    const namespace = ref.namespace ?? DEFAULT_NAMESPACE
    const group = ref.group ?? DEFAULT_GROUP
    const now = Date.now()
    for (const [key, subscriber] of subscribers) {
      if (subscriber.namespace !== namespace || subscriber.group !== group || subscriber.name !== name) continue
      if (now - subscriber.seenAt > pushCacheMillis) {
        subscribers.delete(key)
        continue
      }
      const lastRefTime = ++pushSequence
      const data = JSON.stringify(serviceInfo({ name, group, namespace }, subscriber.clusters, false))
      const json = Buffer.from(JSON.stringify({ type: 'dom', lastRefTime, data }))
      const payload = json.length >= PUSH_COMPRESS_FROM ? gzipSync(json) : json
      const dropped = dropping === true || (typeof dropping === 'number' && dropping > 0)
      if (typeof dropping === 'number' && dropping > 0) dropping--
      const record = { service: `${group}@@${name}`, to: `${subscriber.ip}:${subscriber.port}`, lastRefTime, dropped, compressed: payload !== json, acked: false }
      sendPush(record, payload, subscriber, true)
    }
  }

  udp.on('message', (message) => {
    let ack: unknown
    try {
      ack = JSON.parse(message.toString('utf8'))
    } catch {
      return
    }
    if (typeof ack !== 'object' || ack === null) return
    const { type, lastRefTime } = ack as { type?: unknown; lastRefTime?: unknown }
    if (type !== 'push-ack') return
    const pending = pendingAcks.get(Number(lastRefTime))
    if (!pending) return
    clearTimeout(pending.timer)
    pendingAcks.delete(Number(lastRefTime))
    for (const push of pushes) if (push.lastRefTime === pending.record.lastRefTime) push.acked = true
  })
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))

  // --- HTTP ---------------------------------------------------------------------------------

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const query = url.searchParams
    const path = url.pathname
    const answerFailure = (current: NacosFailure) => {
      if (current.kind === 'hang') return // never answered; the socket is closed with the server
      if (current.kind === 'status') return text(response, current.status, current.body ?? 'server error')
      return send(response, 200, '{"count": 3, "doms": [')
    }
    if (failure && (failure.path === undefined || failure.path === path)) return answerFailure(failure.failure)
    if (/^\/nacos\/v[12]\/ns\/instance(\/list)?$/.test(path)) {
      const failing = serviceFailures.get(serviceParams(query).name)
      if (failing) return answerFailure(failing)
    }
    const isV1 = path.startsWith('/nacos/v1/')
    const isV2 = path.startsWith('/nacos/v2/')
    const notServed = (isV1 && !servesV1) || (isV2 && !servesV2)
    if (notServed) {
      // 1.x's auth filter looks the handler up before anything else: "no such api" (501).
      if (version === '1.x' && options.auth) return text(response, 501, `no such api:${request.method}:${path}`)
      return text(response, 404, `No endpoint ${request.method} ${path}.`)
    }

    if ((path === '/nacos/v1/auth/login' && servesV1) || (path === '/nacos/v3/auth/user/login' && version === '3.x')) {
      if (request.method !== 'POST') return text(response, 405, `Request method '${request.method}' not supported`)
      const form = new URLSearchParams(await readBody(request))
      const username = form.get('username') ?? query.get('username')
      const password = form.get('password') ?? query.get('password')
      if (!options.auth || username !== options.auth.username || password !== options.auth.password) return text(response, 403, 'user not found!')
      const accessToken = randomUUID().replace(/-/g, '')
      tokens.set(accessToken, { expiresAt: Date.now() + tokenTtl * 1000, revoked: false })
      logins++
      return send(response, 200, { accessToken, tokenTtl, globalAdmin: true, username })
    }

    const routes = ['/nacos/v1/ns/service/list', '/nacos/v1/ns/instance/list', '/nacos/v1/ns/instance', '/nacos/v2/ns/service/list', '/nacos/v2/ns/instance/list', '/nacos/v2/ns/instance']
    if (!routes.includes(path)) return text(response, 404, `No endpoint ${request.method} ${path}.`)
    if (request.method !== 'GET') return text(response, 405, `Request method '${request.method}' not supported`)
    const reason = denied(query)
    if (reason) return text(response, 403, reason)

    if (path === '/nacos/v1/ns/service/list' || path === '/nacos/v2/ns/service/list') {
      const v2 = path.startsWith('/nacos/v2/')
      // v1 requires both; v2 defaults them (1 and 20) and caps the page at 500.
      const pageNo = Number(query.get('pageNo') ?? (v2 ? 1 : Number.NaN))
      let pageSize = Number(query.get('pageSize') ?? (v2 ? 20 : Number.NaN))
      if (!Number.isInteger(pageNo) || !Number.isInteger(pageSize) || pageNo < 1 || pageSize < 1) {
        if (v2) return result(response, 400, 20002, 'parameter validate error', `For input string: "${query.get('pageNo')}/${query.get('pageSize')}"`)
        return text(response, 400, "Required parameter 'pageNo' and 'pageSize' are not present or not valid")
      }
      if (v2) pageSize = Math.min(500, pageSize)
      const hook = pageHooks.get(pageNo)
      if (hook) {
        pageHooks.delete(pageNo)
        hook()
      }
      const names = sortedNames(query.get('namespaceId') || DEFAULT_NAMESPACE, query.get('groupName') || DEFAULT_GROUP)
      const page = names.slice((pageNo - 1) * pageSize, pageNo * pageSize)
      return v2 ? success(response, { count: names.length, services: page }) : send(response, 200, { count: names.length, doms: page })
    }

    if (path === '/nacos/v1/ns/instance/list' || path === '/nacos/v2/ns/instance/list') {
      const v2 = path.startsWith('/nacos/v2/')
      if (!query.get('serviceName')) return v2 ? missingParam(response, 'serviceName') : text(response, 400, "Param 'serviceName' is required.")
      const ref = serviceParams(query)
      const clusters = (query.get(v2 ? 'clusterName' : 'clusters') ?? '').split(',').filter(Boolean)
      const info = serviceInfo(ref, clusters, query.get('healthyOnly') === 'true')
      const udpPort = Number(query.get('udpPort') ?? 0)
      const agent = request.headers['user-agent'] ?? ''
      if (!v2 && Number.isInteger(udpPort) && udpPort > 0 && udpPort < 65536 && PUSHABLE_AGENT.test(agent)) {
        const ip = query.get('clientIP') || request.socket.remoteAddress?.replace(/^::ffff:/, '') || '127.0.0.1'
        const subscriber = { namespace: ref.namespace, group: ref.group, name: ref.name, clusters, ip, port: udpPort }
        subscribers.set(subscriberKey(subscriber), { ...subscriber, seenAt: Date.now() })
      }
      const hook = listHooks.get(ref.name)
      if (hook) {
        listHooks.delete(ref.name)
        await hook()
      }
      return v2 ? success(response, info) : send(response, 200, info)
    }

    // The instance detail, v1 or v2.
    const v2 = path.startsWith('/nacos/v2/')
    for (const param of ['serviceName', 'ip', 'port']) {
      if (!query.get(param)) return v2 ? missingParam(response, param, param === 'port' ? 'Integer' : 'String') : text(response, 400, `caused: Param '${param}' is required.;`)
    }
    if (!/^-?\d+$/.test(query.get('port')!)) {
      return v2 ? result(response, 400, 20002, 'parameter validate error', `For input string: "${query.get('port')}"`) : text(response, 400, `caused: For input string: "${query.get('port')}";`)
    }
    const { ref, ip, port, cluster, service, all, host } = findDetail(query)
    if (!host) {
      if (v2) {
        // NacosApiException(NOT_FOUND, RESOURCE_NOT_FOUND) through the v2 exception handler.
        const message = all.length === 0 ? `no ips found for cluster ${cluster} in service ${ref.grouped}` : 'no matched ip found!'
        return result(response, 404, 20004, 'resource not found', message)
      }
      if (version === '1.x') {
        // NacosException(NOT_FOUND) through the naming module's handler: its status, its message.
        if (!service) return text(response, 404, `no service ${ref.grouped} found!`)
        if (!all.some((candidate) => candidate.clusterName === cluster)) return text(response, 404, `no ips found for cluster ${cluster} in service ${ref.grouped}`)
        return text(response, 404, 'no matched ip found!')
      }
      // 2.x v1: the checked NacosException reaches the console's catch-all handler: 500, "caused: …;".
      if (all.length === 0) return text(response, 500, `caused: no ips found for cluster ${cluster} in service ${ref.grouped};`)
      return text(response, 500, 'caused: no matched ip found!;')
    }
    const detail = {
      ip,
      port,
      clusterName: cluster,
      weight: host.weight,
      healthy: host.healthy,
      instanceId: `${host.ip}#${host.port}#${host.clusterName}#${ref.grouped}`,
      metadata: host.metadata,
    }
    return v2 ? success(response, { serviceName: ref.grouped, ...detail }) : send(response, 200, { service: ref.grouped, ...detail })
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo

  const findHost = (service: string, ip: string, port: number, ref: ServiceRef & { cluster?: string } = {}) => {
    const key = hostKey(ip, port, ref.cluster ?? 'DEFAULT')
    const found = serviceOf(service, ref)
    const host = found?.hosts.get(key)
    if (!found || !host) throw new Error(`no instance ${ip}:${port} (cluster ${ref.cluster ?? 'DEFAULT'}) in service ${service}`)
    return { service: found, key, host }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    version,
    requests,
    pushes,
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
      pushChange(service, ref)
    },
    deregister(service, ip, hostPort, ref) {
      const found = findHost(service, ip, hostPort, ref)
      found.service.hosts.delete(found.key)
      found.service.lastRefTime = Date.now()
      pushChange(service, ref)
    },
    update(service, ip, hostPort, patch, ref) {
      const found = findHost(service, ip, hostPort, ref)
      found.service.hosts.set(found.key, { ...found.host, ...patch })
      found.service.lastRefTime = Date.now()
      pushChange(service, ref)
    },
    setProtectThreshold(service, threshold, ref) {
      serviceOf(service, ref, true)!.protectThreshold = threshold
    },
    deleteService(service, ref) {
      services.delete(serviceKey(service, ref))
      pushChange(service, ref)
    },
    beforeServicePage(pageNo, change) {
      pageHooks.set(pageNo, change)
    },
    afterInstanceList(service, change) {
      listHooks.set(service, change)
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
    subscribers: () => [...subscribers.values()].map((subscriber) => `${subscriber.group}@@${subscriber.name} ${subscriber.ip}:${subscriber.port}`),
    dropPushes(count) {
      dropping = count
    },
    async close() {
      // Idempotent: a test may close it early (a server going away) and again when it ends.
      if (closed) return
      closed = true
      for (const { timer } of pendingAcks.values()) clearTimeout(timer)
      pendingAcks.clear()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await stopped
      await new Promise<void>((resolve) => udp.close(() => resolve()))
    },
  }
}
