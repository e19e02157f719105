/**
 * The Nacos source: one namespace and group of a Nacos registry (mesh = the registry's name).
 * Nacos keeps no history and its HTTP open APIs have no watch, so the source polls: `service/list`
 * (paged) every `serviceListIntervalMs` to find services that came or went, its count alone every
 * `serviceCountIntervalMs` (one tiny request: a changed count lists the services at once), and
 * `instance/list` of every service as often as the server's `cacheMillis` asks, a few at a time.
 * Where the server pushes (below), a change is polled the moment Nacos says so. Each answer is
 * diffed against the state remembered per instance (checkpoints under `STATE_PREFIX`, written with
 * the events they explain), so a restart picks up where it left off.
 *
 * URL parameters: `namespace` (default `public`), `group` (default `DEFAULT_GROUP`), `username` and
 * `password` (log in, renew the token), `contextPath` (default `/nacos`) for a server deployed
 * under another path, and the push settings `push`, `pushHost`, `pushPort` (below). Several
 * `host:port` are tried in turn, the next after a failure.
 *
 * Which API: Nacos 1.x serves the v1 naming open API only, 2.2 and later v1 and v2, and a 3.x with
 * its legacy v1 API switched off v2 only. Each connection asks (`NacosClient.detectApi`: a one-name
 * service-list page, the preferred API first, the other on 404, 410 or 501) and remembers the
 * answer; after any failed round it asks again (the server may have been upgraded or failed over).
 * v2 is preferred, except while push is on: UDP push is a v1 feature, so then v1 is preferred.
 *
 * Push (on by default when every Nacos host is a loopback address, else only when `pushHost` is
 * given; `push=off` turns it off): a UDP socket is bound on `pushHost` (default
 * `127.0.0.1`) : `pushPort` (default any free port), and every v1 `instance/list` carries `udpPort`
 * and `clientIP` = `pushHost`: Nacos must be able to send datagrams to that address and port. It
 * sends one per change of a listed service (`pushReceiver.ts`); the source acknowledges it and polls
 * that service at once. Polling stays as it was: a lost datagram is found by the next poll. Nacos
 * pushes only to client types it knows, by User-Agent, so these requests name themselves as
 * `Nacos-Java-Client:v1.4.1`, as third-party push clients do. Nacos forgets a subscriber that has
 * not listed the service for 10 s (`pushCacheMillis`), about as often as it asks to be polled.
 *
 * Only a successful answer can remove an instance: a timeout, a 5xx, an unreadable body or an
 * auth failure leaves the remembered state alone and backs off.
 *
 * Deleted services: a service missing from `service/list` is not taken for deleted. Paging is no
 * snapshot (2.x lists a HashSet, unsorted; a service created or deleted between two page requests
 * moves names across the page boundary, the count staying the same), so a listing can miss a
 * service that exists. A known service the listing leaves out is polled like any other
 * (`instance/list`, then the detail of each known instance missing from it); only what those
 * answers confirm leaves (a deleted service lists empty `hosts`, and its instances' details answer
 * not-found). It is no longer polled once nothing of it is left and the list leaves it out.
 *
 * Failures, per service and of the server:
 * - One service whose poll fails (timeout, 5xx, unreadable answer, a failing detail lookup) keeps
 *   its last state and is retried on its own backoff (`backoff`, doubling per consecutive failure);
 *   the other services go on as usual, and no extra round is forced. What its next successful poll
 *   finds carries the reconnect note. The failing services are logged (warn, per failure) and
 *   shown in the mesh's error text, `2 of 150 Nacos services failing: <service>: <reason>; ...`,
 *   while the mesh stays `connected`.
 * - The mesh is `error` when the server as a whole fails: the login or the service list fails
 *   (the whole round is retried with backoff), or more than half of the services are failing.
 * - The first sync of a mesh stores the services that answered, with the `RegistrySynced`
 *   summary (which counts the unread services). If more than half fail, nothing is stored and the
 *   whole first sync is retried. The services that failed are then polled like the others: once
 *   one answers, its instances are recorded by the normal diff, one `InstanceRegistered` each,
 *   with a note saying it could not be read at the first sync (so they may predate it).
 *
 * Health protection: while a service is at its protection threshold (by default: no instance
 * healthy) Nacos reports every instance healthy. 2.x says so (`reachProtectionThreshold`): the last
 * health seen is kept meanwhile (no invented `InstanceHealthy`). 1.x never sends the flag in a list
 * answer, so when it is absent every unhealthy -> healthy flip is confirmed by the instance detail
 * (`GET /v1/ns/instance`, whose `healthy` is the instance's own, protection or not, in 1.x and 2.x
 * alike): `InstanceHealthy` only when the detail agrees. If the detail denies a flip the answer is
 * protected, and the health of every instance it lists as healthy is read from the detail too.
 *
 * Disabled instances: Nacos (1.x and 2.x) leaves instances with `enabled: false` out of
 * `instance/list` (it is for consumers) but keeps them in the instance detail
 * (`GET /v1/ns/instance`). So a known instance missing from a successful list is looked up there
 * (`concurrency` at a time): found, it is disabled (`InstanceUpdated`, `enabled true -> false`,
 * weight, health and metadata from the detail); it stays in the state and in the catalog, and is
 * looked up again at each poll of its service (one small request each) while the list leaves it
 * out, until it is listed again (`enabled false -> true`) or the detail says it is gone
 * (`InstanceUnregistered`). "Gone" is only the detail's not-found answer (404 from 1.x, 500
 * `caused: no matched ip found!;` and the like from 2.x, recognised by the message); any other
 * failure keeps the instance as it was, fails that service's poll (its backoff; what the next
 * look finds carries the reconnect note) and is asked again.
 *
 * Known limitations:
 * - Nacos 3.2 and later serve neither v1 nor v2 (only the v3 client and admin APIs, or the legacy
 *   ones through `nacos-api-legacy-adapter`), and have no UDP push: the mesh then shows that
 *   neither API is offered.
 * - The count check does not see a service created and another deleted within one
 *   `serviceCountIntervalMs`: the next full listing (`serviceListIntervalMs`) does.
 * - Polling sees states, not transitions: an instance that left and came back between two polls
 *   is not seen to have left.
 * - Disabled instances are seen only as known instances leaving the list: one already disabled at
 *   the first sync of a mesh, or registered disabled, is not seen until it is enabled. The detail
 *   has no `enabled` field: "missing from the list but in the detail" is read as disabled, so an
 *   instance that left and came back between the list and the detail request is reported disabled
 *   for one poll.
 * - Only the configured group is read (`service/list` is per group).
 * - Under protection, a failure that tips the service over the threshold is only seen once the
 *   service's answers leave protection (2.x), or once another instance's denied recovery shows the
 *   answer is protected (1.x). An instance known healthy whose service enters 1.x protection with
 *   no other instance known unhealthy (a one-instance service going down) is not seen to fail.
 * - A 1.x service under protection costs one detail request per listed instance at each poll.
 * - Which services failed at the first sync is not stored: after a restart before they answered,
 *   their instances are recorded with the restart note, not the first-sync one.
 */
import { backoffDelay } from '../../backoff.ts'
import type { Publication } from '../../bus.ts'
import type { RegistryConfig } from '../../config.ts'
import type { CatalogChange } from '../../store/types.ts'
import { missedChangeNote, registrySyncedEvent, STATE_PREFIX, SYNCED_KEY } from '../registry/registryState.ts'
import type { Source, SourceContext } from '../source.ts'
import { NacosClient, NacosError } from './nacosClient.ts'
import type { NacosApi } from './nacosClient.ts'
import { NacosPushReceiver, PUSH_USER_AGENT, pushSettings } from './pushReceiver.ts'
import {
  address,
  diffEvents,
  goneCatalog,
  holdHealth,
  instanceCatalog,
  isInstanceNotFound,
  parseInstance,
  readInstanceDetail,
  readInstanceList,
  readServicePage,
  serializeInstance,
  syncCounts,
} from './normalize.ts'
import type { NacosInstance } from './normalize.ts'

/** Timings and limits of the Nacos source (`RegistryTuning.nacos`); defaults suit production. */
export interface NacosTuning {
  /** Per request, body included. Default 5 s. */
  requestTimeoutMs?: number
  /** Poll interval of a service whose answer carries no `cacheMillis`. Default 10 s. */
  defaultPollMs?: number
  /** Floor of the poll interval, whatever `cacheMillis` says. Default 1 s. */
  minPollMs?: number
  /** How often the service list is read again, to find new and deleted services. Default 30 s. */
  serviceListIntervalMs?: number
  /** How often the service count alone is read; a changed count lists the services at once. Default 5 s. */
  serviceCountIntervalMs?: number
  /** `pageSize` of `service/list`. Default 100. */
  pageSize?: number
  /** `instance/list` requests in flight at once, and as many instance detail requests. Default 8. */
  concurrency?: number
  /** Retry delay after a failed round: doubles from `initialMs` up to `maxMs`. Default 1 s to 30 s. */
  backoff?: { initialMs?: number; maxMs?: number }
}

/** Why what the next successful poll of a service finds was not seen as it happened. */
type Note = 'restart' | 'reconnect' | 'first-sync'

/** Appended to the events of a service that could not be read at the first sync of its mesh. */
export const FIRST_SYNC_NOTE = ' (its service could not be read at the first sync; it may have been registered before)'

const noteText = (note: Note): string => (note === 'first-sync' ? FIRST_SYNC_NOTE : missedChangeNote(note))

interface ServiceSchedule {
  dueAt: number
  /** Set when what the next successful poll finds happened while nobody looked. */
  note?: Note
  /** Consecutive failed polls: the service is retried on its own backoff. */
  failures: number
  /** Why the last poll failed, while it fails. */
  error?: string
  /** Pushes received for it: a poll that began before the last one is followed by another. */
  pushes?: number
}

/** Services listed per round at most: a safety stop should `count` never be reached. */
const MAX_PAGES = 10_000
const LIST_ATTEMPTS = 3
/** Failing services named in the mesh's error text; the others are counted. */
const MAX_FAILING_NAMED = 3

export class NacosSource implements Source {
  readonly kind = 'nacos' as const
  readonly mesh: string
  readonly address: string
  private readonly namespace: string
  private readonly group: string
  private readonly client: NacosClient
  private readonly abort = new AbortController()
  private readonly tuning: Required<Omit<NacosTuning, 'backoff'>> & { backoff: { initialMs: number; maxMs: number } }
  private context: SourceContext | undefined
  /** Remembered state of every instance, as stored: key -> serialised instance. */
  private readonly state = new Map<string, string>()
  /** The same state read back, for catalog work without parsing it again. */
  private readonly parsed = new Map<string, NacosInstance>()
  /** Keys of `state` per Nacos service. */
  private readonly keysOf = new Map<string, Set<string>>()
  private readonly schedule = new Map<string, ServiceSchedule>()
  private synced = false
  /** Whether this run has published the whole catalog once (after its first full round). */
  private catalogPublished = false
  /** Note for services found gone by the next successful service list. */
  private listNote: Note | undefined
  /** Bounds the instance detail requests in flight, whatever the number of services polled at once. */
  private readonly detailSlots: Limiter
  private stopped = false
  private loop: Promise<void> | undefined
  private wake: () => void = () => {}
  /** The API this connection reads with; asked again after a failed round. */
  private api: NacosApi | undefined
  /** Push: where datagrams are to arrive (undefined: off), and the receiver once bound. */
  private readonly push: { host: string; port: number } | undefined
  private readonly pushProblem: string | undefined
  private receiver: NacosPushReceiver | undefined
  private pushPort: number | undefined
  /** Service count of the last listing, for the cheap count check. */
  private listedCount: number | undefined

  constructor(registry: RegistryConfig, tuning: NacosTuning = {}) {
    this.mesh = registry.name
    this.address = registry.address
    this.namespace = registry.params.namespace || 'public'
    this.group = registry.params.group || 'DEFAULT_GROUP'
    this.tuning = {
      requestTimeoutMs: tuning.requestTimeoutMs ?? 5_000,
      defaultPollMs: tuning.defaultPollMs ?? 10_000,
      minPollMs: tuning.minPollMs ?? 1_000,
      serviceListIntervalMs: tuning.serviceListIntervalMs ?? 30_000,
      serviceCountIntervalMs: tuning.serviceCountIntervalMs ?? 5_000,
      pageSize: tuning.pageSize ?? 100,
      concurrency: tuning.concurrency ?? 8,
      backoff: { initialMs: tuning.backoff?.initialMs ?? 1_000, maxMs: tuning.backoff?.maxMs ?? 30_000 },
    }
    this.detailSlots = new Limiter(this.tuning.concurrency)
    const push = pushSettings(registry)
    this.push = typeof push === 'string' ? undefined : push
    this.pushProblem = typeof push === 'string' ? push : undefined
    this.client = new NacosClient({
      hosts: registry.hosts,
      ...(registry.params.username ? { username: registry.params.username } : {}),
      ...(registry.params.password !== undefined ? { password: registry.params.password } : {}),
      ...(registry.params.contextPath ? { contextPath: registry.params.contextPath } : {}),
      requestTimeoutMs: this.tuning.requestTimeoutMs,
      signal: this.abort.signal,
    })
  }

  async start(context: SourceContext): Promise<void> {
    this.context = context
    const [stored, synced] = await Promise.all([context.readCheckpoints(STATE_PREFIX), context.readCheckpoint(SYNCED_KEY)])
    this.synced = synced !== undefined
    for (const [key, value] of stored) this.remember(key, value)
    // Whatever the first look finds changed happened while Eventline was not running.
    if (this.synced) {
      this.listNote = 'restart'
      for (const service of this.keysOf.keys()) this.schedule.set(service, { dueAt: 0, failures: 0, note: 'restart' })
    }
    await this.startPush()
    // In the background: start() returns at once so the console serves while Nacos is slow.
    this.loop = this.run().catch((error: unknown) => context.log.error('the Nacos poll loop failed', { error }))
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    this.wake()
    await this.loop
    await this.receiver?.stop()
  }

  /** Binds the push socket; a socket that cannot be bound leaves push off (polling works alone). */
  private async startPush(): Promise<void> {
    const log = this.context!.log
    if (this.pushProblem) log.warn(`Nacos push is off: ${this.pushProblem}`, { mesh: this.mesh })
    if (!this.push) return
    const receiver = new NacosPushReceiver((service) => this.pushed(service))
    try {
      this.pushPort = await receiver.start(this.push.host, this.push.port)
      this.receiver = receiver
      log.info('Nacos push: listening for UDP push; Nacos must reach this address', { mesh: this.mesh, pushAddress: `${this.push.host}:${this.pushPort}` })
    } catch (error) {
      log.warn('Nacos push is off: cannot bind its UDP socket; polling only', { mesh: this.mesh, pushHost: this.push.host, pushPort: this.push.port, error })
    }
  }

  /**
   * Nacos says a service changed: it is polled now (its next poll moved to the present). A push
   * while its poll is in flight marks it, so that it is polled again after (the answer may predate
   * the change). A service we do not follow (another group, or unknown) is ignored.
   */
  private pushed(grouped: string): void {
    const prefix = `${this.group}@@`
    const service = grouped.startsWith(prefix) ? grouped.slice(prefix.length) : grouped.includes('@@') ? undefined : grouped
    const entry = service === undefined ? undefined : this.schedule.get(service)
    if (!entry || this.stopped) return
    entry.pushes = (entry.pushes ?? 0) + 1
    // A failing service keeps its backoff: a push does not make a broken server answer.
    if (entry.failures === 0) entry.dueAt = 0
    this.wake()
  }

  // --- the loop ----------------------------------------------------------------------------

  private async run(): Promise<void> {
    const context = this.context!
    let failures = 0
    let nextList = 0
    let nextCount = 0
    while (!this.stopped) {
      const now = Date.now()
      const full = now >= nextList
      const count = !full && now >= nextCount
      // Only a failure of the server as a whole comes back here; a service's own is in its schedule.
      const error = full ? await this.fullRound() : count ? await this.countRound() : await this.pollRound()
      if (this.stopped) break
      let delay: number
      if (error) {
        failures++
        // After a failure the next round lists everything again: the services may have moved on,
        // and the server may be another one, or upgraded: which API it serves is asked again.
        nextList = 0
        this.api = undefined
        delay = this.backoff(failures)
        context.setStatus('error', error)
        context.log.warn('Nacos round failed; retrying', { error, retryInMs: delay, failures })
      } else {
        if (failures > 0) context.log.info('Nacos answers again', { failures })
        failures = 0
        if (full) nextList = Date.now() + this.tuning.serviceListIntervalMs
        if (full || count) nextCount = Date.now() + this.tuning.serviceCountIntervalMs
        this.reportStatus()
        let due = Math.min(nextList, nextCount)
        for (const entry of this.schedule.values()) due = Math.min(due, entry.dueAt)
        delay = Math.max(0, due - Date.now())
      }
      await this.sleep(delay)
    }
  }

  private backoff(failures: number): number {
    return backoffDelay(failures - 1, this.tuning.backoff, Math.random, 0)
  }

  /**
   * The mesh's status once the server answered: `connected`, naming the failing services if any,
   * or `error` when more than half of them fail.
   */
  private reportStatus(): void {
    const failing = [...this.schedule].filter(([, entry]) => entry.failures > 0)
    if (failing.length === 0) {
      this.context!.setStatus('connected')
      return
    }
    const shown = failing.slice(0, MAX_FAILING_NAMED).map(([service, entry]) => `${service}: ${entry.error ?? 'failed'}`)
    const more = failing.length > MAX_FAILING_NAMED ? `; and ${failing.length - MAX_FAILING_NAMED} more` : ''
    const text = `${failing.length} of ${this.schedule.size} Nacos services failing: ${shown.join('; ')}${more}`
    this.context!.setStatus(failing.length * 2 > this.schedule.size ? 'error' : 'connected', text)
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /**
   * Lists the services and polls every one, listed or known (a service the list leaves out is
   * asked, never assumed gone), except failing ones not due yet. The first sync of a mesh
   * publishes it all at once as one `RegistrySynced`. Resolves with the reason when the server as
   * a whole failed (the list, the first sync); a service's own failure stays in its schedule.
   */
  private async fullRound(): Promise<string | undefined> {
    let services: string[]
    try {
      await this.detectApi()
      services = this.synced ? await this.listServices(false) : await this.firstListing()
      this.listedCount = services.length
    } catch (error) {
      // Whatever the next successful look finds happened while Nacos could not be read.
      this.listNote ??= 'reconnect'
      for (const entry of this.schedule.values()) entry.note ??= 'reconnect'
      return this.failure(error)
    }
    if (!this.synced) return this.firstSync(services)

    const listed = new Set(services)
    const unlisted = [...new Set([...this.keysOf.keys(), ...this.schedule.keys()])].filter((service) => !listed.has(service))
    const note = this.listNote
    this.listNote = undefined
    for (const service of [...services, ...unlisted]) {
      if (!this.schedule.has(service)) this.schedule.set(service, { dueAt: 0, failures: 0, ...(note ? { note } : {}) })
    }
    const now = Date.now()
    const polled = [...services, ...unlisted].filter((service) => {
      const entry = this.schedule.get(service)!
      return entry.failures === 0 || entry.dueAt <= now
    })
    await this.pollAll(polled)
    // An unlisted service is followed until its own answers leave nothing of it.
    for (const service of unlisted) {
      if (this.schedule.get(service)?.failures === 0 && !this.keysOf.has(service)) this.schedule.delete(service)
    }
    const catalog: CatalogChange[] = []
    if (!this.catalogPublished) catalog.push(...this.wholeCatalog())
    catalog.push(...this.listedCatalog())
    try {
      await this.publish({ catalog })
      this.catalogPublished = true
    } catch (error) {
      return this.failure(error)
    }
    return undefined
  }

  /** Which API this connection reads with: asked once per connection (again after a failed round). */
  private async detectApi(): Promise<NacosApi> {
    if (this.api) return this.api
    const probe = { pageNo: 1, pageSize: 1, namespaceId: this.namespace, groupName: this.group }
    const api = await this.client.detectApi(this.receiver ? 'v1' : 'v2', probe)
    this.api = api
    this.context!.log.info('Nacos naming open API chosen', { mesh: this.mesh, api, host: this.client.host, push: this.receiver !== undefined && api === 'v1' })
    if (this.receiver && api === 'v2') this.context!.log.warn('Nacos serves no v1 API here: no UDP push (a v1 feature); polling only', { mesh: this.mesh })
    return api
  }

  /**
   * The cheap look for new services between two full listings: the count alone (a one-name page).
   * When it moved, the services are listed at once and the new ones polled now; the services the
   * listing leaves out wait for the full round (which confirms them gone). Then the due polls.
   */
  private async countRound(): Promise<string | undefined> {
    try {
      const api = await this.detectApi()
      const page = readServicePage(await this.client.getJson(`/${api}/ns/service/list`, { pageNo: 1, pageSize: 1, namespaceId: this.namespace, groupName: this.group }, { envelope: api === 'v2' }))
      if (!page.ok) throw new NacosError('bad-answer', `Nacos answered /${api}/ns/service/list with ${page.reason}`)
      if (page.count !== this.listedCount) {
        const services = await this.listServices(false)
        this.listedCount = services.length
        for (const service of services) if (!this.schedule.has(service)) this.schedule.set(service, { dueAt: 0, failures: 0 })
      }
    } catch (error) {
      this.listNote ??= 'reconnect'
      for (const entry of this.schedule.values()) entry.note ??= 'reconnect'
      return this.failure(error)
    }
    return this.pollRound()
  }

  /** Polls the services that are due. A service's failure is its own: this round never fails as a whole. */
  private async pollRound(): Promise<string | undefined> {
    const now = Date.now()
    const due = [...this.schedule].filter(([, entry]) => entry.dueAt <= now).map(([service]) => service)
    await this.pollAll(due)
    return undefined
  }

  /** Polls each service; a failure is recorded in that service's schedule (backoff, reason). */
  private async pollAll(services: string[]): Promise<void> {
    await pooled(services, this.tuning.concurrency, async (service) => {
      const pushesBefore = this.schedule.get(service)?.pushes ?? 0
      try {
        const { instances, pollMs } = await this.fetchInstances(service)
        const unresolved = await this.lookUpUnlisted(service, instances)
        const entry = this.schedule.get(service)
        const note = entry?.note
        if (entry) {
          // Pushed meanwhile: this answer may predate the change; ask again at once.
          entry.dueAt = (entry.pushes ?? 0) !== pushesBefore ? 0 : Date.now() + pollMs
          delete entry.note
        }
        const error = await this.apply(service, instances, note)
        if (unresolved === undefined && error === undefined) return this.succeeded(service)
        // An unlisted instance whose detail failed was kept as it was: this service was not fully read.
        if (unresolved !== undefined) this.missedRead(service, note)
        this.failed(service, (unresolved ?? error)!)
      } catch (error) {
        this.missedRead(service)
        this.failed(service, this.failure(error))
      }
    })
  }

  /** What the next successful poll of this service finds happened while it could not be read. */
  private missedRead(service: string, note?: Note): void {
    const entry = this.schedule.get(service)
    if (entry) entry.note ??= note ?? 'reconnect'
  }

  /** One more failed poll of a service: it keeps its state and is retried on its own backoff. */
  private failed(service: string, error: string): void {
    const entry = this.schedule.get(service)
    if (!entry) return
    entry.failures++
    entry.error = error
    const retryInMs = this.backoff(entry.failures)
    entry.dueAt = Date.now() + retryInMs
    this.context!.log.warn('a Nacos service could not be read; keeping its last state and retrying it', { nacosService: service, error, failures: entry.failures, retryInMs })
  }

  private succeeded(service: string): void {
    const entry = this.schedule.get(service)
    if (!entry || entry.failures === 0) return
    this.context!.log.info('a Nacos service answers again', { nacosService: service, failures: entry.failures })
    entry.failures = 0
    delete entry.error
  }

  /**
   * The first sync of a mesh never seen before: what answered is stored at once with one summary
   * event instead of an event per instance. Services that failed are left to later polls (their
   * instances then recorded one by one, with `FIRST_SYNC_NOTE`); when more than half fail, the
   * server as a whole is failing and nothing is stored.
   */
  private async firstSync(services: string[]): Promise<string | undefined> {
    const found = new Map<string, Map<string, string>>()
    const failed = new Map<string, string>()
    await pooled(services, this.tuning.concurrency, async (service) => {
      try {
        const { instances, pollMs } = await this.fetchInstances(service)
        found.set(service, instances)
        this.schedule.set(service, { dueAt: Date.now() + pollMs, failures: 0 })
      } catch (error) {
        failed.set(service, this.failure(error))
      }
    })
    if (failed.size > 0 && failed.size * 2 > services.length) {
      this.schedule.clear()
      const [first] = failed
      return `${failed.size} of ${services.length} Nacos services could not be read for the first sync: ${first![0]}: ${first![1]}`
    }
    for (const [service, error] of failed) {
      this.schedule.set(service, { dueAt: 0, failures: 0, note: 'first-sync' })
      this.failed(service, error)
    }
    const time = Date.now()
    const instances: NacosInstance[] = []
    const checkpoints = [{ key: SYNCED_KEY, value: new Date(time).toISOString() }]
    for (const states of found.values()) {
      for (const [key, value] of states) {
        checkpoints.push({ key: STATE_PREFIX + key, value })
        const instance = parseInstance(value)
        if (instance) instances.push(instance)
      }
    }
    const catalog = instances.flatMap((instance) => instanceCatalog(this.mesh, instance))
    catalog.push(
      { op: 'instances-listed', mesh: this.mesh, source: 'nacos', names: [...new Set(instances.map(address))] },
      { op: 'mesh-synced', name: this.mesh, at: time },
    )
    const event = registrySyncedEvent({ source: 'nacos', mesh: this.mesh, time, ...syncCounts(instances), ...(failed.size > 0 ? { extra: { 'unread Nacos services': failed.size } } : {}) })
    try {
      await this.publish({ events: [event], catalog, checkpoints })
    } catch (error) {
      this.schedule.clear()
      return this.failure(error)
    }
    for (const states of found.values()) for (const [key, value] of states) this.remember(key, value)
    this.synced = true
    this.catalogPublished = true
    this.context!.log.info('first sync of the Nacos registry', { nacosServices: services.length, unreadNacosServices: failed.size, ...syncCounts(instances) })
    return undefined
  }

  // --- reading Nacos -----------------------------------------------------------------------

  /**
   * Every service name of the namespace and group, page by page. Paging is not a snapshot: when
   * the count moves while paging, or the pages do not add up to it, the list is read again. A torn
   * read can still look consistent (one service deleted and one created between two pages: same
   * count, one name read twice or never), which is why a service missing from the list is polled,
   * not taken for deleted (`fullRound`). So after `LIST_ATTEMPTS` torn reads the last one is used
   * (a new service it misses is found by a later listing), unless `strict` (the first sync).
   */
  private async listServices(strict: boolean): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      const names = new Set<string>()
      let count: number | undefined
      let consistent = true
      for (let pageNo = 1; pageNo <= MAX_PAGES; pageNo++) {
        const params = { pageNo, pageSize: this.tuning.pageSize, namespaceId: this.namespace, groupName: this.group }
        const api = await this.detectApi()
        const page = readServicePage(await this.client.getJson(`/${api}/ns/service/list`, params, { envelope: api === 'v2' }))
        if (!page.ok) throw new NacosError('bad-answer', `Nacos answered /${api}/ns/service/list with ${page.reason}`)
        if (count === undefined) count = page.count
        else if (count !== page.count) consistent = false
        for (const name of page.names) names.add(name)
        if (page.names.length < this.tuning.pageSize || names.size >= count) break
      }
      if (consistent && names.size === count) return [...names].sort()
      if (attempt >= LIST_ATTEMPTS) {
        if (strict) throw new NacosError('bad-answer', `the service list of Nacos kept changing while it was paged (${names.size} names read, count ${count}); not trusting it for the first sync`)
        this.context!.log.info('the Nacos service list kept changing while it was paged; using the last read', { names: names.size, count, attempts: attempt })
        return [...names].sort()
      }
    }
  }

  /**
   * The listing of a first sync. A service it misses would have its instances recorded later as
   * registering, although they were there before: the list is read until two reads in a row name
   * the same services (a torn read does not repeat itself).
   */
  private async firstListing(): Promise<string[]> {
    let services = await this.listServices(true)
    for (let attempt = 1; ; attempt++) {
      const again = await this.listServices(true)
      if (again.length === services.length && again.every((name, index) => name === services[index])) return again
      if (attempt >= LIST_ATTEMPTS) throw new NacosError('bad-answer', 'the service list of Nacos kept changing between reads; not trusting it for the first sync')
      services = again
    }
  }

  /** One service's instances as checkpoint values, and when to poll it next. */
  private async fetchInstances(service: string): Promise<{ instances: Map<string, string>; pollMs: number }> {
    const api = await this.detectApi()
    const common = { serviceName: service, namespaceId: this.namespace, groupName: this.group }
    // v1 subscribes to push with `udpPort` and `clientIP` (the address Nacos is to send to).
    const push = api === 'v1' && this.push && this.pushPort !== undefined ? { udpPort: this.pushPort, clientIP: this.push.host } : undefined
    const params = api === 'v1' ? { ...common, clusters: '', healthyOnly: 'false', ...push } : { ...common, healthyOnly: 'false' }
    const options = api === 'v2' ? { envelope: true } : push ? { headers: { 'user-agent': PUSH_USER_AGENT } } : {}
    const result = readInstanceList(service, await this.client.getJson(`/${api}/ns/instance/list`, params, options))
    if (!result.ok) throw new NacosError('bad-answer', `Nacos answered /${api}/ns/instance/list for ${service} with ${result.reason}`)
    const read = result.protectionKnown
      ? result.protectionReached
        ? holdHealth(result.instances, (key) => this.parsed.get(key))
        : result.instances
      : await this.confirmRecoveries(result.instances)
    const instances = new Map<string, string>()
    for (const [key, instance] of read) instances.set(key, serializeInstance(instance))
    for (const bad of result.malformed) {
      this.context!.reportMalformed(bad.reason, { service, host: JSON.stringify(bad.host)?.slice(0, 500) })
      // A known instance that turned unreadable is not a deregistration: keep what we knew.
      const known = bad.key === undefined ? undefined : this.state.get(bad.key)
      if (bad.key !== undefined && known !== undefined) instances.set(bad.key, known)
    }
    const pollMs = Math.max(this.tuning.minPollMs, result.cacheMillis ?? this.tuning.defaultPollMs)
    return { instances, pollMs }
  }

  /**
   * For an answer without the protection flag (Nacos 1.x, which protects without saying): every
   * known-unhealthy instance listed healthy is asked about (`GET /v1/ns/instance`, whose health
   * protection does not touch). Only a confirmed flip stays healthy. A denied one means the answer
   * is protected: then every instance listed healthy is asked about, so that an instance whose
   * failure tipped the service into protection is still seen to fail. A detail failure fails the
   * service's poll (nothing is recorded); an instance the detail does not know keeps what we knew.
   */
  private async confirmRecoveries(listed: Map<string, NacosInstance>): Promise<Map<string, NacosInstance>> {
    const recovering = [...listed].filter(([key, instance]) => instance.healthy && this.parsed.get(key)?.healthy === false)
    if (recovering.length === 0) return listed
    const confirmed = new Map(listed)
    const check = async ([key, instance]: [string, NacosInstance]): Promise<boolean> => {
      const detail = await this.detailSlots.run(() => this.fetchDetail(instance))
      const healthy = detail?.healthy ?? this.parsed.get(key)?.healthy ?? instance.healthy
      if (healthy !== instance.healthy) confirmed.set(key, { ...instance, healthy })
      return healthy
    }
    const results = await Promise.all(recovering.map(check))
    if (results.every(Boolean)) return confirmed
    const asked = new Set(recovering.map(([key]) => key))
    await Promise.all([...listed].filter(([key, instance]) => instance.healthy && !asked.has(key)).map(check))
    return confirmed
  }

  /**
   * Known instances of `service` missing from its successful `instance/list` answer: disabled
   * (Nacos does not list those) or gone. The detail endpoint tells: a disabled one is put back into
   * `instances` as disabled; a gone one stays out. When the detail fails, what we knew is put back
   * (nothing is guessed) and the first failure is returned.
   */
  private async lookUpUnlisted(service: string, instances: Map<string, string>): Promise<string | undefined> {
    const unlisted = [...(this.keysOf.get(service) ?? [])].filter((key) => !instances.has(key))
    const results = await Promise.all(
      unlisted.map(async (key) => {
        const known = this.parsed.get(key)
        // A stored state we cannot read has no address to ask about: it leaves, as before.
        if (!known) return undefined
        try {
          const disabled = await this.detailSlots.run(() => this.fetchDetail(known))
          if (disabled) instances.set(key, serializeInstance(disabled))
          return undefined
        } catch (error) {
          instances.set(key, this.state.get(key)!)
          return this.failure(error)
        }
      }),
    )
    return results.find((result) => result !== undefined)
  }

  /**
   * The instance as the detail endpoint has it, or undefined when it is gone. Read as disabled (the
   * detail has no `enabled`; a listed instance's caller takes only its health).
   */
  private async fetchDetail(known: NacosInstance): Promise<NacosInstance | undefined> {
    const params = { serviceName: known.service, ip: known.ip, port: known.port, clusterName: known.cluster, namespaceId: this.namespace, groupName: this.group }
    const api = await this.detectApi()
    const answer = await this.client.getJsonUnlessMissing(`/${api}/ns/instance`, params, isInstanceNotFound, { envelope: api === 'v2' })
    if (answer.missing) return undefined
    const result = readInstanceDetail(known, answer.body)
    if (!result.ok) throw new NacosError('bad-answer', `Nacos answered /${api}/ns/instance for ${address(known)} of ${known.service} with ${result.reason}`)
    return result.instance
  }

  // --- state, events, publishing -----------------------------------------------------------

  /**
   * Makes one service's remembered state `after`: publishes the events of the difference with the
   * checkpoints and catalog changes it implies. Memory moves first (so concurrent polls of other
   * services see it) and moves back if the write fails, so the next poll finds the change again.
   */
  private async apply(service: string, after: Map<string, string>, note: Note | undefined): Promise<string | undefined> {
    const before = new Map<string, string>()
    for (const key of this.keysOf.get(service) ?? []) before.set(key, this.state.get(key)!)
    const time = Date.now()
    const { diff, events, checkpoints } = diffEvents(before, after, { mesh: this.mesh, time, ...(note ? { note: noteText(note) } : {}) })
    if (checkpoints.length === 0) return undefined
    for (const { key } of diff.removed) this.forget(key)
    for (const { key, value } of [...diff.added, ...diff.changed]) this.remember(key, value)
    const present = [...diff.added, ...diff.changed].map(({ value }) => parseInstance(value)).filter((instance) => instance !== undefined)
    const removed = diff.removed.map(({ before: value }) => parseInstance(value)).filter((instance) => instance !== undefined)
    const catalog = [...present.flatMap((instance) => instanceCatalog(this.mesh, instance))]
    if (removed.length > 0) catalog.push(...goneCatalog(this.mesh, removed, this.instances()))
    try {
      await this.publish({ events, catalog, checkpoints })
      return undefined
    } catch (error) {
      for (const { key } of [...diff.added, ...diff.changed]) this.forget(key)
      for (const [key, value] of before) this.remember(key, value)
      return this.failure(error)
    }
  }

  private remember(key: string, value: string): void {
    this.state.set(key, value)
    const instance = parseInstance(value)
    if (instance) this.parsed.set(key, instance)
    else this.parsed.delete(key)
    // The service is in the value; a value we cannot read keeps the key's own prefix.
    const service = instance?.service ?? key.slice(0, key.indexOf('#'))
    let keys = this.keysOf.get(service)
    if (!keys) this.keysOf.set(service, (keys = new Set()))
    keys.add(key)
  }

  private forget(key: string): void {
    const value = this.state.get(key)
    if (value === undefined) return
    const service = this.parsed.get(key)?.service ?? key.slice(0, key.indexOf('#'))
    this.state.delete(key)
    this.parsed.delete(key)
    const keys = this.keysOf.get(service)
    keys?.delete(key)
    if (keys?.size === 0) this.keysOf.delete(service)
  }

  private instances(): Iterable<NacosInstance> {
    return this.parsed.values()
  }

  /** Everything known, for the catalog of a run's first full round (the store may predate it). */
  private wholeCatalog(): CatalogChange[] {
    return [...this.instances()].flatMap((instance) => instanceCatalog(this.mesh, instance))
  }

  /** After a complete round: what is not listed any more left, and the mesh is synced. */
  private listedCatalog(): CatalogChange[] {
    const names = new Set([...this.instances()].map(address))
    return [
      { op: 'instances-listed', mesh: this.mesh, source: 'nacos', names: [...names] },
      { op: 'mesh-synced', name: this.mesh, at: Date.now() },
    ]
  }

  private publish(publication: Publication): Promise<void> {
    return this.context!.publish(publication)
  }

  /** The reason a failure is shown with in `/meshes`. */
  private failure(error: unknown): string {
    if (error instanceof NacosError) return error.message
    this.context!.log.error('Nacos source failure', { error })
    return error instanceof Error ? `storing Nacos data failed: ${error.message}` : String(error)
  }
}

/** Runs `work` over `items` with at most `limit` at once; resolves with every result, in order. */
async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** At most `limit` tasks at once; the others wait their turn. */
class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}
