/**
 * A small client of the Nacos naming open API (v1 and v2) over Node's global `fetch`: which API the
 * server offers (`detectApi`), login and token renewal, the v2 answer envelope, request timeouts,
 * and failover across the configured servers. Every failure is a `NacosError` saying what went
 * wrong in words an operator can act on; the caller decides what a failure means (never "every
 * instance left").
 *
 * Login is `POST /v1/auth/login` (1.2 to 2.x, and 3.x while it keeps v1); where that path is gone
 * (404, 410, 501) `POST /v3/auth/user/login` (3.x) is tried, same form, same answer. Where neither
 * exists the server has no auth module (before 1.2): calls go without a token.
 *
 * Known limits: the token travels as the `accessToken` query parameter (every version accepts it);
 * Nacos 3.2 removed the v1 and v2 HTTP APIs (`nacos-api-legacy-adapter` brings them back), and the
 * v3 client/admin APIs it keeps are not spoken here: such a server is reported as offering neither.
 */
import { isRecord } from '../../isRecord.ts'

export type NacosErrorKind = 'auth' | 'http' | 'timeout' | 'network' | 'bad-answer' | 'aborted'

/** Which naming open API a server is read with: v1 (`/v1/ns/...`, 1.x to 3.1) or v2 (`/v2/ns/...`, 2.2 on). */
export type NacosApi = 'v1' | 'v2'

/** Statuses meaning "this server has no such path": Spring's 404, 1.x's auth filter's 501, 3.x's 410 for a retired API. */
const ABSENT = new Set([404, 410, 501])

export interface RequestOptions {
  /** The answer is v2's `{ code, message, data }`: `data` is returned, a non-zero `code` fails. */
  envelope?: boolean
  headers?: Record<string, string>
}

export class NacosError extends Error {
  constructor(
    readonly kind: NacosErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'NacosError'
  }
}

export interface NacosClientOptions {
  /** `host:port` of each Nacos server; requests go to one, the next after a failure. */
  hosts: string[]
  /** Context path of the Nacos web app. Default `/nacos`. */
  contextPath?: string
  username?: string
  password?: string
  /** Per request, including reading the body. */
  requestTimeoutMs: number
  /** Aborts every request in flight (the source stopping). */
  signal: AbortSignal
}

/** Token lifetime assumed when a login answer carries none: Nacos's default of 5 hours. */
const DEFAULT_TOKEN_TTL_S = 18_000
const MAX_BODY_IN_MESSAGE = 200

interface Token {
  value: string
  /** Renew from this time on: a tenth of the lifetime early, as the Nacos Java client does. */
  renewAt: number
}

/** The first characters of an answer body, on one line, for error messages. */
function excerpt(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim()
  return line.length > MAX_BODY_IN_MESSAGE ? `${line.slice(0, MAX_BODY_IN_MESSAGE)}…` : line
}

export class NacosClient {
  private hostIndex = 0
  private token: Token | undefined
  private login: Promise<Token> | undefined
  private readonly contextPath: string

  constructor(private readonly options: NacosClientOptions) {
    // `nacos`, `/nacos` and `/nacos/` all mean the same path.
    this.contextPath = (options.contextPath ?? '/nacos').replace(/^\/*/, '/').replace(/\/+$/, '')
  }

  /** The server requests go to now. */
  get host(): string {
    return this.options.hosts[this.hostIndex % this.options.hosts.length]!
  }

  private get hasCredentials(): boolean {
    return this.options.username !== undefined && this.options.username !== ''
  }

  /**
   * GET of an open API path (below the context path) answering JSON. A 403 with credentials
   * configured means the token expired early or was revoked: log in again once and retry once.
   */
  async getJson(path: string, params: Record<string, string | number>, options: RequestOptions = {}): Promise<unknown> {
    const answer = await this.getJsonUnlessMissing(path, params, () => false, options)
    return answer.body
  }

  /**
   * Which naming API the server offers, asked with `probe` (a one-name page of the service list,
   * the cheapest call of both): `preferred` first, the other when the first path is absent (404,
   * 410, 501). Any other failure (auth, timeout, 5xx) is thrown: it says nothing about the API.
   * The caller remembers the answer for the connection and asks again after a failure.
   */
  async detectApi(preferred: NacosApi, probe: Record<string, string | number>): Promise<NacosApi> {
    const order: NacosApi[] = preferred === 'v1' ? ['v1', 'v2'] : ['v2', 'v1']
    for (const api of order) {
      const answer = await this.getJsonUnlessMissing(`/${api}/ns/service/list`, probe, (status) => ABSENT.has(status), { envelope: api === 'v2' })
      if (!answer.missing) return api
    }
    throw new NacosError('http', `Nacos at ${this.host} offers neither the v1 nor the v2 naming open API (Nacos 3.2 and later serve them only with nacos-api-legacy-adapter)`)
  }

  /**
   * Like `getJson`, but an answer that `missing` recognises (by status and body) resolves as
   * `{ missing: true }` instead of failing: Nacos answers "no such instance" with a 404 or 500.
   */
  async getJsonUnlessMissing(
    path: string,
    params: Record<string, string | number>,
    missing: (status: number, body: string) => boolean,
    options: RequestOptions = {},
  ): Promise<{ missing: true; body?: undefined } | { missing: false; body: unknown }> {
    let token = this.hasCredentials ? await this.currentToken() : undefined
    let response = await this.request('GET', path, params, token?.value, undefined, options.headers)
    // Nacos answers 403 (`token expired!`, `token invalid!`); some gateways in front of it answer 401.
    if ((response.status === 403 || response.status === 401) && token) {
      if (this.token === token) this.token = undefined
      token = await this.currentToken()
      response = await this.request('GET', path, params, token.value, undefined, options.headers)
    }
    if (response.status === 403 || response.status === 401) {
      throw new NacosError(
        'auth',
        this.hasCredentials
          ? `Nacos at ${response.host} denied ${path} for user "${this.options.username}" after a fresh login: ${excerpt(response.body)}`
          : `Nacos at ${response.host} denied ${path} (authentication is enabled there; set username and password in the registry URL): ${excerpt(response.body)}`,
      )
    }
    if (missing(response.status, response.body)) return { missing: true }
    if (response.status < 200 || response.status > 299) {
      this.failover()
      throw new NacosError('http', `Nacos at ${response.host} answered ${path} with HTTP ${response.status}: ${excerpt(response.body)}`)
    }
    let body: unknown
    try {
      body = JSON.parse(response.body)
    } catch {
      throw new NacosError('bad-answer', `Nacos at ${response.host} answered ${path} with invalid JSON: ${excerpt(response.body)}`)
    }
    if (!options.envelope) return { missing: false, body }
    if (!isRecord(body) || typeof body.code !== 'number') throw new NacosError('bad-answer', `Nacos at ${response.host} answered ${path} without the v2 envelope: ${excerpt(response.body)}`)
    if (body.code !== 0) throw new NacosError('http', `Nacos at ${response.host} answered ${path} with code ${body.code} (${String(body.message)}): ${excerpt(String(body.data))}`)
    return { missing: false, body: body.data }
  }

  /** A token that is not due for renewal; one login at a time however many requests wait. */
  private async currentToken(): Promise<Token> {
    if (this.token && Date.now() < this.token.renewAt) return this.token
    this.login ??= this.logIn().finally(() => (this.login = undefined))
    return this.login
  }

  private async logIn(): Promise<Token> {
    const form = new URLSearchParams({ username: this.options.username ?? '', password: this.options.password ?? '' })
    const started = Date.now()
    let response = await this.request('POST', '/v1/auth/login', {}, undefined, form)
    // Nacos 3.x without its legacy v1 API logs in at the v3 path.
    if (ABSENT.has(response.status)) response = await this.request('POST', '/v3/auth/user/login', {}, undefined, form)
    if (response.status === 403 || response.status === 401) {
      throw new NacosError('auth', `Nacos login failed for user "${this.options.username}" at ${response.host} (HTTP ${response.status}): ${excerpt(response.body)}`)
    }
    // A Nacos older than 1.2 has no auth module at all: nothing to log in to, calls go without a token.
    if (ABSENT.has(response.status)) return this.noToken(started)
    if (response.status < 200 || response.status > 299) {
      this.failover()
      throw new NacosError('http', `Nacos login at ${response.host} answered HTTP ${response.status}: ${excerpt(response.body)}`)
    }
    let answer: unknown
    try {
      answer = JSON.parse(response.body)
    } catch {
      throw new NacosError('bad-answer', `Nacos login at ${response.host} answered invalid JSON: ${excerpt(response.body)}`)
    }
    if (typeof answer !== 'object' || answer === null) throw new NacosError('bad-answer', `Nacos login at ${response.host} answered ${excerpt(response.body)}`)
    const { accessToken, tokenTtl } = answer as { accessToken?: unknown; tokenTtl?: unknown }
    // With auth switched off the login answers without a token: calls need none.
    if (accessToken === undefined || accessToken === null || accessToken === '') return this.noToken(started)
    if (typeof accessToken !== 'string') throw new NacosError('bad-answer', `Nacos login at ${response.host} answered a non-string accessToken`)
    const ttlMs = (typeof tokenTtl === 'number' && tokenTtl > 0 ? tokenTtl : DEFAULT_TOKEN_TTL_S) * 1000
    this.token = { value: accessToken, renewAt: started + ttlMs - ttlMs / 10 }
    return this.token
  }

  /** A token-less "token", asked for again after the default lifetime, should auth be switched on. */
  private noToken(started: number): Token {
    this.token = { value: '', renewAt: started + DEFAULT_TOKEN_TTL_S * 100 }
    return this.token
  }

  /** The next server takes the following requests: this one failed in a way another may not. */
  private failover(): void {
    this.hostIndex = (this.hostIndex + 1) % this.options.hosts.length
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, string | number>,
    accessToken: string | undefined,
    form?: URLSearchParams,
    headers: Record<string, string> = {},
  ): Promise<{ host: string; status: number; body: string }> {
    const host = this.host
    const query = new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]))
    if (accessToken) query.set('accessToken', accessToken)
    const url = `http://${host}${this.contextPath}${path}${query.size > 0 ? `?${query}` : ''}`
    if (this.options.signal.aborted) throw new NacosError('aborted', 'stopped')
    // One controller per request, aborted by its timeout or by the source stopping; the listeners
    // go with the request (AbortSignal.any would tie every request to the long-lived stop signal).
    const controller = new AbortController()
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs)
    const abort = () => controller.abort()
    this.options.signal.addEventListener('abort', abort)
    timeout.addEventListener('abort', abort)
    try {
      const response = await fetch(url, {
        method,
        signal: controller.signal,
        headers: form ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' } : headers,
        ...(form ? { body: form } : {}),
      })
      return { host, status: response.status, body: await response.text() }
    } catch (error) {
      if (this.options.signal.aborted) throw new NacosError('aborted', 'stopped')
      this.failover()
      if (timeout.aborted) throw new NacosError('timeout', `Nacos at ${host} did not answer ${path} within ${this.options.requestTimeoutMs} ms`)
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error)
      throw new NacosError('network', `cannot reach Nacos at ${host}: ${cause}`)
    } finally {
      this.options.signal.removeEventListener('abort', abort)
      timeout.removeEventListener('abort', abort)
    }
  }
}
