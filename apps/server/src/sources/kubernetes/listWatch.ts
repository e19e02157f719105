/**
 * Our own list+watch loop for ONE Kubernetes collection (`/api/v1/events`, `/api/v1/pods`, ...):
 * the part of client-go's reflector the Kubernetes source needs, without an informer's in-memory
 * cache of every object. The consumer persists what it is handed (and the resourceVersion that
 * goes with it) before the loop reads on, so a restart can resume from a stored checkpoint.
 *
 * The loop, in order:
 * 1. List in pages (`limit` + `continue`). The list's resourceVersion is the first page's; an
 *    expired continue token (410) restarts the list from the first page. Skipped when started
 *    from a stored resourceVersion.
 * 2. Watch from the last resourceVersion seen (list, event or bookmark) with
 *    `allowWatchBookmarks=true`, and hand every event over in order, awaiting the consumer.
 * 3. When the watch ends: 410 (HTTP status or an ERROR event) -> list again; a dropped connection
 *    or another error -> back off, watch again from the last resourceVersion; a clean close ->
 *    watch again, but `cleanClosesBeforeRelist` empty clean closes in a row -> list again
 *    (events have no watch cache: the server may close such a watch without ever saying 410);
 *    nothing received for `watchdogMs` -> abort and watch again.
 * Resource versions are opaque: they are compared for equality and sent back, never parsed.
 *
 * Why not client-node's `Watch` (`@kubernetes/client-node` pinned ~1.4.0, on Node 20):
 * - Timeouts: 1.4.0 sets none. It builds `AbortSignal.timeout(30000)` and then overwrites the
 *   request's signal with its own controller's, so a stalled watch hangs forever; 2.0.0 aborts
 *   every watch after 30 s (kubernetes-client/javascript#3020). Neither is what we want, and
 *   both could change on a minor bump, so the timing is ours: an inactivity watchdog only.
 * - A non-200 answer becomes `Error(statusText)`: the Status body, which carries the RBAC message
 *   ("cannot watch resource ...") that `/meshes` must show, is lost.
 * - Lines that are not JSON are dropped silently; the issue wants them reported and counted.
 * - `watch()` resolves only once response headers arrive, so a server that accepts the
 *   connection and never answers cannot be aborted through the controller it returns.
 * So both lists and watches are plain GETs over node:http/https, with the agent (CA, client
 * certificate, proxy) and headers (bearer token, exec and auth-provider credentials, refreshed on
 * every request) that `KubeConfig.applyToHTTPSOptions` computes. Lists take the same path so
 * every failure is read from one place (the Status body) and `stop()` aborts a list as it aborts
 * a watch.
 *
 * Known limits (candidly):
 * - JSON only (no protobuf), no `sendInitialEvents` streaming lists, no `timeoutSeconds` sent:
 *   the server's own watch timeout ends watches cleanly and the loop simply watches again.
 * - A ListWatch runs once: `start()` after `stop()` is not supported; make a new one.
 * - A consumer (`onList`/`onEvent`) that keeps failing is retried with backoff forever; the
 *   failure is logged but not reported through `onStatus` (it is not the cluster's fault).
 */
import { Agent, request as httpRequest } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { RequestOptions } from 'node:https'
import { StringDecoder } from 'node:string_decoder'
import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeConfig } from '@kubernetes/client-node'
import { backoffDelay } from '../../backoff.ts'
import type { BackoffOptions } from '../../backoff.ts'
import { isRecord } from '../../isRecord.ts'
import type { Logger } from '../../log.ts'
import type { Random } from '../../seededRandom.ts'

/** The least a listed or watched object must carry to be handed over. */
export interface KubeObjectLike {
  metadata: { name: string; uid: string; namespace?: string; resourceVersion?: string }
}

/** The watch event types handed to `onEvent` (BOOKMARK and ERROR are handled by the loop). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'
/** Connection state, as `/meshes` shows it. */
export type ListWatchStatus = 'connecting' | 'connected' | 'error'

/** Where a list page sits in its list: `first` starts a new list (also after a restart). */
export interface ListPage {
  first: boolean
  last: boolean
}

/** Bounds of the exponential backoff, in milliseconds. */

/** What the loop hands over; every promise is awaited before the loop reads on. */
export interface ListWatchHandlers<T> {
  /** One page of a list, awaited before the next page is requested (persist here). */
  onList(items: T[], resourceVersion: string, page: ListPage): Promise<void>
  /** One watch event, awaited before the next one is handed over (order is kept). */
  onEvent(type: WatchEventType, object: T, resourceVersion: string): Promise<void> | void
  /** A BOOKMARK: nothing changed up to `resourceVersion` (a checkpoint worth storing). */
  onBookmark?(resourceVersion: string): Promise<void> | void
  /** Something skipped: the stream goes on. */
  onMalformed?(reason: string, context: Record<string, unknown>): void
  /** Connection state; `error` carries the API server's Status message when it sent one. */
  onStatus?(status: ListWatchStatus, error?: string): void
  /** The watch's resourceVersion expired (410) and the collection is listed again: changes between may be lost. */
  onExpired?(): void
}

/** Configuration of one ListWatch: where, how patient, and the handlers. */
export interface ListWatchOptions<T> extends ListWatchHandlers<T> {
  kubeConfig: KubeConfig
  /** Collection path without query, e.g. `/api/v1/events` or `/api/v1/namespaces/shop/pods`. */
  path: string
  log: Logger
  /** `limit` of each list page. Default 500. */
  pageSize?: number
  /** Nothing at all received (no event, no bookmark) for this long restarts the watch; also bounds a stalled list. Default 5 min. */
  watchdogMs?: number
  /** Exponential backoff between failed attempts. Default 1 s to 30 s. */
  backoff?: Partial<BackoffOptions>
  /** Jitter source, in [0, 1). Default `Math.random`. */
  random?: Random
  /** Clean closes without any event or bookmark, in a row, that make the loop list again. Default 3. */
  cleanClosesBeforeRelist?: number
  /** A stored checkpoint: watch from it first, without listing (list when it has expired). */
  startResourceVersion?: string
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 }

/**
 * List+watch of one collection; see the file comment for the loop.
 *
 * ```ts
 * const events = new ListWatch({ kubeConfig, path: '/api/v1/events', log, onList, onEvent })
 * await events.start()   // returns at once; the loop runs until stop()
 * await events.stop()    // resolves when no request, socket or timer is left
 * ```
 */
export class ListWatch<T extends KubeObjectLike = KubeObjectLike> {
  private readonly options: ListWatchOptions<T>
  private readonly log: Logger
  private readonly pageSize: number
  private readonly watchdogMs: number
  private readonly backoff: BackoffOptions
  private readonly random: Random
  private readonly cleanClosesBeforeRelist: number
  private readonly stopping = new AbortController()
  private loop: Promise<void> | undefined
  /** Last resourceVersion seen: the list's, then every event's and bookmark's. */
  private rv: string | undefined
  private failures = 0
  private emptyCloses = 0
  private expiriesInARow = 0
  private lastStatus: string | undefined

  constructor(options: ListWatchOptions<T>) {
    this.options = options
    this.log = options.log.child({ resource: options.path })
    this.pageSize = options.pageSize ?? 500
    this.watchdogMs = options.watchdogMs ?? 300_000
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.random = options.random ?? Math.random
    this.cleanClosesBeforeRelist = options.cleanClosesBeforeRelist ?? 3
    this.rv = options.startResourceVersion
  }

  /** The last resourceVersion handed to the consumer (list, event or bookmark); opaque. */
  get resourceVersion(): string | undefined {
    return this.rv
  }

  /** Starts the loop and returns at once (not when the loop ends). */
  async start(): Promise<void> {
    if (this.loop) throw new Error('ListWatch already started')
    this.setStatus('connecting')
    this.loop = this.run().catch((error: unknown) => this.log.error('list+watch loop ended unexpectedly', { error }))
  }

  /** Aborts the current request or wait; resolves once the loop has exited (nothing left open). */
  async stop(): Promise<void> {
    this.stopping.abort()
    await this.loop
  }

  // ---- the loop ----------------------------------------------------------------------------

  private async run(): Promise<void> {
    let needsList = this.rv === undefined
    while (!this.stopped) {
      try {
        if (needsList) {
          await this.list()
          needsList = false
        }
        needsList = await this.afterWatch(await this.watch())
      } catch (error) {
        if (this.stopped) break
        await this.afterFailure(error)
        // A failed list is tried again from its first page; a failed watch resumes from this.rv.
      }
    }
  }

  /** Decides what follows a watch that ended; true means list again. Waits the backoff where due. */
  private async afterWatch(outcome: WatchOutcome): Promise<boolean> {
    switch (outcome.kind) {
      case 'expired':
        // The normal way back from a long disconnection: list at once. Only a server that keeps
        // expiring fresh list versions (nothing received in between) gets the backoff.
        this.expiriesInARow += 1
        this.log.info('watch resourceVersion expired (410); listing again', { resourceVersion: this.rv })
        this.options.onExpired?.()
        if (this.expiriesInARow > 1) await this.pause()
        return true
      case 'closed':
        return this.afterCleanClose(outcome.progressed)
      case 'stalled':
        // Rate-limited by the watchdog itself: re-watching at once costs one request per watchdogMs.
        this.log.warn('watch stalled: nothing received within the watchdog time; watching again', { watchdogMs: this.watchdogMs, resourceVersion: this.rv })
        return false
      case 'dropped':
        this.log.warn('watch connection lost; resuming from the last resourceVersion', { error: describe(outcome.error), resourceVersion: this.rv })
        await this.pause()
        return false
      case 'failed':
        // An ERROR event other than 410. A version "from the future" (e.g. a checkpoint from before
        // an etcd restore) will never become valid for this cluster: list again, as client-go does.
        this.setStatus('error', outcome.error.message)
        this.log.warn('watch answered an error', { error: outcome.error.message, code: outcome.error.statusCode })
        await this.pause()
        return isTooLargeResourceVersion(outcome.error.status)
    }
  }

  private async afterCleanClose(progressed: boolean): Promise<boolean> {
    if (progressed) {
      this.emptyCloses = 0
      return false
    }
    this.emptyCloses += 1
    await this.pause()
    if (this.emptyCloses < this.cleanClosesBeforeRelist) return false
    this.log.info('watch keeps closing without events; listing again', { closes: this.emptyCloses, resourceVersion: this.rv })
    this.emptyCloses = 0
    return true
  }

  /** Could not list, open a watch, or the consumer failed: report it and back off. */
  private async afterFailure(error: unknown): Promise<void> {
    if (error instanceof ConsumerError) {
      this.log.error('consumer failed; retrying from the last stored resourceVersion', { error: describe(error.cause) })
    } else {
      const message = describe(error)
      this.setStatus('error', message)
      this.log.warn('Kubernetes API request failed; backing off', { error: message })
    }
    await this.pause()
  }

  /** Waits the next backoff delay; rejects (AbortError) when stopped meanwhile. */
  private async pause(): Promise<void> {
    const ms = backoffDelay(this.failures, this.backoff, this.random)
    this.failures += 1
    await sleep(ms, undefined, { signal: this.stopping.signal })
  }

  /** Something arrived that proves the watch works: the next failure starts from the initial delay. */
  private progressed(): void {
    this.failures = 0
    this.expiriesInARow = 0
  }

  // ---- list --------------------------------------------------------------------------------

  /** Lists every page, awaiting the consumer per page; sets `this.rv` to the list's resourceVersion. */
  private async list(): Promise<void> {
    let token: string | undefined
    let listRv: string | undefined
    for (;;) {
      let page: ListBody
      try {
        page = parseListBody(await this.getJson({ limit: String(this.pageSize), ...(token !== undefined ? { continue: token } : {}) }))
      } catch (error) {
        if (token === undefined || !(error instanceof KubernetesApiError) || error.statusCode !== 410) throw error
        // Compacted between pages: the rest would be inconsistent with what we have, start over.
        this.log.info('list continue token expired; listing again from the first page')
        token = undefined
        listRv = undefined
        continue
      }
      this.setStatus('connected')
      const first = listRv === undefined
      listRv ??= page.resourceVersion
      const last = page.continue === undefined
      const items = page.items.filter((item): item is T => this.isDeliverable(item, 'list item', false))
      await consume(() => this.options.onList(items, listRv!, { first, last }))
      if (last) break
      token = page.continue
    }
    this.rv = listRv
    this.emptyCloses = 0
  }

  /** GET of the collection (not a watch) whose 200 body is parsed as JSON. */
  private async getJson(query: Record<string, string>): Promise<unknown> {
    return this.attempt(async (signal, watchdog) => {
      const opened = await openGet(this.options.kubeConfig, this.options.path, query, signal)
      try {
        const text = await readText(opened.response, () => watchdog.arm())
        if (opened.response.statusCode !== 200) throw apiError(opened.response, text)
        return JSON.parse(text) as unknown
      } finally {
        opened.dispose()
      }
    })
  }

  // ---- watch -------------------------------------------------------------------------------

  /** One watch from `this.rv`, read until it ends; throws only when it could not be opened. */
  private async watch(): Promise<WatchOutcome> {
    const resourceVersion = this.rv!
    try {
      return await this.attempt(async (signal, watchdog) => {
        const query = { watch: 'true', allowWatchBookmarks: 'true', resourceVersion }
        const opened = await openGet(this.options.kubeConfig, this.options.path, query, signal)
        try {
          if (opened.response.statusCode !== 200) {
            const error = apiError(opened.response, await readText(opened.response, () => watchdog.arm()))
            if (error.statusCode === 410) return { kind: 'expired' }
            if (isTooLargeResourceVersion(error.status)) return { kind: 'failed', error }
            throw error
          }
          this.setStatus('connected')
          return await this.readStream(opened.response, watchdog, signal)
        } finally {
          opened.dispose()
        }
      })
    } catch (error) {
      if (error instanceof StalledError) return { kind: 'stalled' }
      throw error
    }
  }

  /**
   * Hands over every line of an open watch, in order. The watchdog runs only while waiting for
   * the network, never while the consumer works, so a slow consumer is not mistaken for a stall;
   * not reading meanwhile is the back-pressure (TCP fills up, the server waits).
   */
  private async readStream(response: IncomingMessage, watchdog: Watchdog, signal: AbortSignal): Promise<WatchOutcome> {
    const lines = new LineSplitter()
    const state = { progressed: false }
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        watchdog.disarm()
        for (const line of lines.push(chunk)) {
          const outcome = await this.dispatch(line, state)
          if (outcome) return outcome
        }
        watchdog.arm()
      }
    } catch (error) {
      // Stop and the watchdog abort `signal`; `attempt` tells them apart.
      if (error instanceof ConsumerError || signal.aborted) throw error
      return { kind: 'dropped', error }
    }
    const rest = lines.end()
    if (rest !== '') this.malformed('watch line cut off by the end of the stream', { line: clip(rest) })
    return { kind: 'closed', progressed: state.progressed }
  }

  /** Handles one watch line; returns an outcome when the watch must end. */
  private async dispatch(line: string, state: { progressed: boolean }): Promise<WatchOutcome | undefined> {
    const parsed = parseJson(line)
    if (parsed === undefined) {
      this.malformed('watch line is not JSON', { line: clip(line) })
      return undefined
    }
    if (!isRecord(parsed) || typeof parsed.type !== 'string' || !isRecord(parsed.object)) {
      this.malformed('watch line without type or object', { line: clip(line) })
      return undefined
    }
    const { type, object } = parsed
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        if (!this.isDeliverable(object, type, true)) return undefined
        await consume(() => this.options.onEvent(type, object as T, resourceVersionOf(object)!))
        break
      case 'BOOKMARK': {
        const resourceVersion = resourceVersionOf(object)
        if (resourceVersion === undefined) {
          this.malformed('bookmark without metadata.resourceVersion', { type })
          return undefined
        }
        await consume(() => this.options.onBookmark?.(resourceVersion))
        break
      }
      case 'ERROR': {
        const error = new KubernetesApiError(statusCodeOf(object), object as KubeStatus)
        return error.statusCode === 410 ? { kind: 'expired' } : { kind: 'failed', error }
      }
      default:
        this.malformed('unknown watch event type', { type, name: nameOf(object) })
        return undefined
    }
    // Advance only after the consumer has it: a retry after a consumer failure replays it.
    this.rv = resourceVersionOf(object)
    state.progressed = true
    this.progressed()
    return undefined
  }

  /**
   * Whether an object carries what the consumer keys on; reports it as malformed otherwise.
   * A skipped watch object does not advance `this.rv`, even when it has a resourceVersion: that
   * value may be as broken as the rest, and resuming from it could fail forever.
   */
  private isDeliverable(object: unknown, type: string, needsVersion: boolean): boolean {
    const metadata = isRecord(object) && isRecord(object.metadata) ? object.metadata : undefined
    const reason =
      metadata === undefined ? 'object without metadata'
      : !isNonEmptyString(metadata.name) ? 'object without metadata.name'
      : !isNonEmptyString(metadata.uid) ? 'object without metadata.uid'
      : needsVersion && !isNonEmptyString(metadata.resourceVersion) ? 'object without metadata.resourceVersion'
      : undefined
    if (reason === undefined) return true
    this.malformed(reason, { type, name: metadata?.name, namespace: metadata?.namespace, uid: metadata?.uid })
    return false
  }

  private malformed(reason: string, context: Record<string, unknown>): void {
    const full = { path: this.options.path, ...context }
    this.log.warn('skipped a malformed object', { reason, ...full })
    this.options.onMalformed?.(reason, full)
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private get stopped(): boolean {
    return this.stopping.signal.aborted
  }

  /**
   * Runs one request with its own abort signal, fired by stop() or by the watchdog (armed here,
   * so it also covers connecting and waiting for headers). A watchdog abort becomes StalledError.
   */
  private async attempt<R>(request: (signal: AbortSignal, watchdog: Watchdog) => Promise<R>): Promise<R> {
    const controller = new AbortController()
    const onStop = () => controller.abort()
    this.stopping.signal.addEventListener('abort', onStop, { once: true })
    const watchdog = new Watchdog(this.watchdogMs, controller)
    try {
      if (this.stopped) controller.abort()
      watchdog.arm()
      return await request(controller.signal, watchdog)
    } catch (error) {
      if (watchdog.fired && !this.stopped) throw new StalledError(this.watchdogMs)
      throw error
    } finally {
      watchdog.disarm()
      this.stopping.signal.removeEventListener('abort', onStop)
    }
  }

  /** Reports a status change once (a retry that fails the same way says nothing new). */
  private setStatus(status: ListWatchStatus, error?: string): void {
    const key = `${status}:${error ?? ''}`
    if (key === this.lastStatus) return
    this.lastStatus = key
    this.options.onStatus?.(status, error)
  }
}

// ---- outcomes and errors ---------------------------------------------------------------------

type WatchOutcome =
  /** 410 Gone/Expired, as an HTTP status or an ERROR event: list again. */
  | { kind: 'expired' }
  /** The server ended the stream cleanly; `progressed`: something arrived first. */
  | { kind: 'closed'; progressed: boolean }
  /** The watchdog aborted it. */
  | { kind: 'stalled' }
  /** The connection broke mid-stream. */
  | { kind: 'dropped'; error: unknown }
  /** An ERROR event (or 504 "too large resource version") other than 410. */
  | { kind: 'failed'; error: KubernetesApiError }

/** The `kind: Status` body of an API error (the fields we read). */
interface KubeStatus {
  code?: number
  reason?: string
  message?: string
  details?: { causes?: Array<{ reason?: string; message?: string }> }
}

/** A non-2xx answer, or an ERROR watch event, with the API server's Status when it sent one. */
class KubernetesApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: KubeStatus | undefined,
    fallback = `HTTP ${statusCode}`,
  ) {
    super(status?.message || fallback)
    this.name = 'KubernetesApiError'
  }
}

class StalledError extends Error {
  constructor(ms: number) {
    super(`no data from the API server for ${ms} ms`)
    this.name = 'StalledError'
  }
}

/** A handler (onList, onEvent, onBookmark) rejected: not the cluster's fault. */
class ConsumerError extends Error {
  constructor(cause: unknown) {
    super(`consumer failed: ${describe(cause)}`, { cause })
    this.name = 'ConsumerError'
  }
}

async function consume(handler: () => Promise<void> | void): Promise<void> {
  try {
    await handler()
  } catch (error) {
    throw new ConsumerError(error)
  }
}

function apiError(response: IncomingMessage, body: string): KubernetesApiError {
  const parsed = parseJson(body)
  const status = isRecord(parsed) && parsed.kind === 'Status' ? (parsed as KubeStatus) : undefined
  const code = response.statusCode ?? 0
  return new KubernetesApiError(code, status, `HTTP ${code} ${response.statusMessage ?? ''}`.trim())
}

/** client-go's IsTooLargeResourceVersion: a 504 whose causes name ResourceVersionTooLarge. */
function isTooLargeResourceVersion(status: KubeStatus | undefined): boolean {
  return status?.code === 504 && (status.details?.causes ?? []).some((cause) => cause.reason === 'ResourceVersionTooLarge')
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// ---- HTTP ------------------------------------------------------------------------------------

interface OpenResponse {
  response: IncomingMessage
  /** Destroys the request's private agent (and so its socket). */
  dispose(): void
}

/**
 * Sends a GET for `path` on the current cluster with the kubeconfig's credentials; resolves when
 * the response headers arrive, whatever the status. `applyToHTTPSOptions` builds a new agent per
 * call, so each request owns its agent and `dispose` closes exactly its socket.
 */
async function openGet(kubeConfig: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): Promise<OpenResponse> {
  const cluster = kubeConfig.getCurrentCluster()
  if (!cluster) throw new Error('the kubeconfig has no current cluster')
  // Like client-node: the server URL may carry a path prefix (API proxies), so concatenate.
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}${path}`)
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
  const options: RequestOptions = { headers: { Accept: 'application/json' } }
  await kubeConfig.applyToHTTPSOptions(options)
  const agent = options.agent
  const dispose = () => {
    if (agent instanceof Agent) agent.destroy()
  }
  signal.throwIfAborted()
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const request = send(url, { ...options, method: 'GET', signal })
    request.once('response', (response) => resolve({ response, dispose }))
    request.once('error', (error) => {
      dispose()
      reject(error)
    })
    request.end()
  })
}

/** Reads a whole (non-watch) body; `onData` re-arms the watchdog per chunk. */
async function readText(response: IncomingMessage, onData: () => void): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response as AsyncIterable<Buffer>) {
    onData()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Aborts `controller` when armed for `ms` without being re-armed or disarmed. */
class Watchdog {
  fired = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly ms: number,
    private readonly controller: AbortController,
  ) {}

  arm(): void {
    this.disarm()
    this.timer = setTimeout(() => {
      this.fired = true
      this.controller.abort()
    }, this.ms)
  }

  disarm(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** Splits a byte stream into lines; UTF-8 sequences split across chunks stay whole. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''

  push(chunk: Buffer): string[] {
    const lines = (this.rest + this.decoder.write(chunk)).split('\n')
    this.rest = lines.pop() ?? ''
    return lines.map((line) => line.trim()).filter((line) => line !== '')
  }

  /** What is left after the last newline (a line cut off by the end of the stream). */
  end(): string {
    return (this.rest + this.decoder.end()).trim()
  }
}

// ---- JSON shapes -----------------------------------------------------------------------------

interface ListBody {
  items: unknown[]
  resourceVersion: string
  continue: string | undefined
}

function parseListBody(body: unknown): ListBody {
  const metadata = isRecord(body) && isRecord(body.metadata) ? body.metadata : undefined
  if (!isRecord(body) || !Array.isArray(body.items) || !isNonEmptyString(metadata?.resourceVersion)) {
    throw new Error('list answer without items or metadata.resourceVersion')
  }
  return { items: body.items, resourceVersion: metadata.resourceVersion, continue: isNonEmptyString(metadata.continue) ? metadata.continue : undefined }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

function resourceVersionOf(object: Record<string, unknown>): string | undefined {
  const version = isRecord(object.metadata) ? object.metadata.resourceVersion : undefined
  return isNonEmptyString(version) ? version : undefined
}

function nameOf(object: Record<string, unknown>): unknown {
  return isRecord(object.metadata) ? object.metadata.name : undefined
}

function statusCodeOf(object: Record<string, unknown>): number {
  return typeof object.code === 'number' ? object.code : 0
}

/** Keeps log lines and malformed reports short. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
