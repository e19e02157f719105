/**
 * The ZooKeeper registry source: one Dubbo registry (mesh = `?name=`). It mirrors the watched
 * trees (`/{root}` and `/services`) in memory, node by node, with a one-shot watch on every
 * folder's children and every item's data. ZooKeeper watches fire once: each fire re-reads the
 * node (which re-arms the watch) and diffs what it read against the node state, so changes made
 * between the fire and the re-read are coalesced into that read, never lost.
 *
 * The node state (`STATE_PREFIX` + path -> content) is published with the events that describe
 * its change, so the writer stores both in one transaction. On start, on every reconnection and
 * after a failed write the source lists both trees again and diffs against that state: what
 * changed while nobody watched becomes events, timed at detection. The first sync of a mesh
 * records one `RegistrySynced` summary instead, and counts as done only once that is stored.
 * One write is in flight at a time (what comes meanwhile is merged into the next one), so nothing
 * is stored after a write that failed: the reload would otherwise read a state past the failure.
 *
 * Known limitations: a node that is deleted and re-created with the same content between two
 * reads of its folder is not seen (ZooKeeper keeps no history; Dubbo URLs carry a timestamp, so
 * a re-registration normally has a new name). Dubbo 2.7's `config/mapping` folders are ignored
 * in favour of `/{root}/mapping`.
 */
import type { MeshStatus } from '@eventline/shared'
import zookeeper from 'node-zookeeper-client'
import type { State } from 'node-zookeeper-client'
import type { Publication } from '../../bus.ts'
import type { RegistryConfig } from '../../config.ts'
import type { CatalogChange, Checkpoint, IngestEvent } from '../../store/types.ts'
import { missedChangeNote, registrySyncedEvent, STATE_PREFIX, SYNCED_KEY } from '../registry/registryState.ts'
import type { Source, SourceContext } from '../source.ts'
import { classifyPath, describeChange, goneCatalog, itemFacts, itemValue, malformedReason, normalizeRoot, presentCatalog, watchedRoots } from './normalize.ts'
import type { ZkItem, ZkPathInfo } from './normalize.ts'
import { ZK_NO_AUTH, ZkCallError, ZkSession } from './zkSession.ts'
import type { Watcher } from './zkSession.ts'

/** Timings and limits; the defaults suit production, tests shorten them. */
export interface ZookeeperSourceOptions {
  /** Session timeout asked of the server (it may bound it). Default 30 s. */
  sessionTimeoutMs?: number
  /** Upper bound of the random wait between connection attempts once every host failed. Default 1 s. */
  spinDelayMs?: number
  /**
   * How long a fired watch waits before re-reading its node. A burst (1,000 providers starting)
   * then costs a few reads of the folder, not one per provider. Default 20 ms.
   */
  coalesceMs?: number
  /** Wait before trying a failed sync again (not authorised, read errors). Default 5 s. */
  retryMs?: number
  /** ZooKeeper requests in flight at once while listing. Default 256. */
  maxInFlight?: number
}

/** Changes held behind the write in flight above which a handler waits for that write before reading on. */
const MAX_HELD_CHANGES = 2_000

/** What was produced while a write was in flight, merged into the next publication. */
interface HeldPublication {
  events: IngestEvent[]
  catalog: CatalogChange[]
  /** Key -> value, the last value of a key winning (as the writer merges them). */
  checkpoints: Map<string, string | null>
  done: Promise<boolean>
  settle(stored: boolean | Promise<boolean>): void
}

interface TrackedNode {
  path: string
  info: ZkPathInfo
  parent: TrackedNode | undefined
  children: Map<string, TrackedNode>
  /** False once the node left the mirror (deleted, or a full sync rebuilt it): late callbacks are ignored. */
  attached: boolean
  /** An item's content as last read and usable; undefined for folders and items not read yet. */
  value?: string
  /** The last content read could not be used: the node is skipped (its stored state is kept). */
  malformed?: boolean
  /** Reading it was refused (ACL): nothing at or below it is judged. */
  unreadable?: boolean
  /** A root that does not exist (yet): an existence watch waits for it. */
  missing?: boolean
  loading: boolean
  busy: boolean
  again: boolean
  timer?: NodeJS.Timeout
  watcher: Watcher
}

export class ZookeeperSource implements Source {
  readonly kind = 'zookeeper' as const
  readonly mesh: string
  readonly address: string
  private readonly connectString: string
  private readonly root: string
  private readonly digest: string | undefined
  private readonly options: Required<ZookeeperSourceOptions>
  private context: SourceContext | undefined
  private session: ZkSession | undefined
  /** The mirror: attached nodes by path. */
  private tree = new Map<string, TrackedNode>()
  /** The node state as published: path -> content. */
  private readonly known = new Map<string, string>()
  /** Instance name of each known item that registers one, and the items of each instance. */
  private readonly knownInstance = new Map<string, string>()
  private readonly instanceItems = new Map<string, Set<string>>()
  /** Whether `synced` is stored: read at start, set once the first sync's publication is stored. */
  private everSynced = false
  /** True between a completed full sync and the next one: fires are handled, not deferred. */
  private live = false
  private readonly deferred = new Set<TrackedNode>()
  private syncing: Promise<void> | undefined
  private syncAgain = false
  /** Until a full sync succeeds, what it finds changed happened while Eventline was not running. */
  private firstSyncDone = false
  /** The stored state must be read again before the next diff (at start, and after a failed write). */
  private reloadState = true
  /** The next diff only re-records changes whose write failed: they were watched, not missed. */
  private afterStoreFailure = false
  /**
   * A write failed: nothing more is published (it is dropped) until the stored state is reloaded,
   * so nothing can be stored after the failed write and hide it. The re-list derives it again.
   */
  private storeFailed = false
  /** Writes failed in a row (none stored since): after the first, the re-list waits `retryMs`. */
  private storeFailures = 0
  /** The publication being written, with what follows it (one write in flight at a time). */
  private writing: Promise<void> | undefined
  /** What was produced while a write was in flight: published, merged, once that write is stored. */
  private held: HeldPublication | undefined
  /** One watcher per path for the session's client, which registers an identical function only once. */
  private watchers = new Map<string, Watcher>()
  /** Malformed items already reported, path -> reason and content: each is counted once until it changes. */
  private readonly malformedSeen = new Map<string, string>()
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false
  private starting: Promise<void> | undefined

  constructor(registry: RegistryConfig, options: ZookeeperSourceOptions = {}) {
    this.mesh = registry.name
    this.address = registry.address
    this.connectString = registry.hosts.join(',')
    this.root = normalizeRoot(registry.params.root)
    const { username, password } = registry.params
    if (username !== undefined || password !== undefined) this.digest = `${username ?? ''}:${password ?? ''}`
    this.options = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      spinDelayMs: options.spinDelayMs ?? 1_000,
      coalesceMs: options.coalesceMs ?? 20,
      retryMs: options.retryMs ?? 5_000,
      maxInFlight: options.maxInFlight ?? 256,
    }
  }

  /** Starts connecting and returns: an unreachable registry must not hold up the console. */
  async start(context: SourceContext): Promise<void> {
    this.context = context
    this.starting = (async () => {
      this.everSynced = (await context.readCheckpoint(SYNCED_KEY)) !== undefined
      if (!this.stopped) this.openSession()
    })().catch((error: unknown) => {
      context.log.error('starting the ZooKeeper source failed', { error })
      this.setStatus('error', `cannot read the stored registry state: ${(error as Error).message}`)
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    for (const node of this.tree.values()) clearTimeout(node.timer)
    await this.starting
    this.session?.kill('source stopped')
    await this.syncing?.catch(() => undefined)
    await this.drained()
  }

  // --- connection -------------------------------------------------------------------------

  /** A new client: the first, or after the old session expired (an expired client never reconnects). */
  private openSession(): void {
    const session: ZkSession = new ZkSession({
      connectString: this.connectString,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      spinDelayMs: this.options.spinDelayMs,
      maxInFlight: this.options.maxInFlight,
      ...(this.digest === undefined ? {} : { digest: this.digest }),
      onState: (state) => this.onState(session, state),
    })
    this.session = session
    this.watchers = new Map()
    session.connect()
  }

  private onState(session: ZkSession, state: State): void {
    if (this.stopped || session !== this.session) return
    const log = this.context!.log
    switch (state.code) {
      case zookeeper.State.SYNC_CONNECTED.code:
      case zookeeper.State.CONNECTED_READ_ONLY.code:
        // Watches may have been lost while disconnected (or the server restarted): list again and diff.
        this.requestSync()
        break
      case zookeeper.State.DISCONNECTED.code:
        log.warn('ZooKeeper connection lost; reconnecting', { hosts: this.connectString })
        this.live = false
        this.setStatus('connecting')
        break
      case zookeeper.State.EXPIRED.code:
        log.warn('ZooKeeper session expired; opening a new session', { hosts: this.connectString })
        this.live = false
        this.setStatus('connecting')
        session.kill('session expired')
        this.openSession()
        break
      case zookeeper.State.AUTH_FAILED.code:
        this.live = false
        this.setStatus('error', 'ZooKeeper authentication failed: check username and password')
        session.kill('authentication failed')
        this.retryTimer = setTimeout(() => !this.stopped && this.openSession(), this.options.retryMs)
        break
    }
  }

  private setStatus(status: MeshStatus, error?: string): void {
    if (!this.stopped) this.context?.setStatus(status, error)
  }

  // --- full sync --------------------------------------------------------------------------

  /** Runs a full sync, or one more after the running one (requests meanwhile coalesce into one). */
  private requestSync(): void {
    if (this.stopped) return
    if (this.syncing) {
      this.syncAgain = true
      return
    }
    this.live = false
    this.syncing = this.fullSync()
      .catch((error: unknown) => this.syncFailed(error))
      .finally(() => {
        this.syncing = undefined
        if (this.syncAgain) {
          this.syncAgain = false
          this.requestSync()
        }
      })
  }

  /** A sync failed: the mesh is in error (fires are held back) until one succeeds. */
  private syncFailed(error: unknown): void {
    if (this.stopped) return
    const log = this.context!.log
    const session = this.session
    if (error instanceof ZkCallError && error.code === ZK_NO_AUTH) {
      this.setStatus('error', `not authorised to read ${this.root} or ${watchedRoots(this.root).at(-1)}: check username and password`)
    } else if (!session?.alive) {
      // The session died under the sync: its successor's connection starts the next one.
      return
    } else if (!session.connected) {
      // The connection dropped under the sync (the mesh shows connecting): the reconnection lists again.
      log.warn('listing ZooKeeper failed: the connection was lost; listing again on reconnection', { error: (error as Error).message })
      return
    } else {
      const message = (error as Error).message
      log.warn('listing ZooKeeper failed; trying again', { error: message })
      this.setStatus('error', `listing the registry failed (retrying every ${this.options.retryMs} ms): ${message}`)
    }
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.requestSync(), this.options.retryMs)
  }

  /**
   * Lists both trees with fresh watches (a new mirror), then diffs everything against the node
   * state. Fires during the listing wait until the diff is published: the listing already holds
   * what they would re-read up to its own read, and they cover what came after.
   */
  private async fullSync(): Promise<void> {
    const session = this.session
    if (!session?.alive || this.stopped) return
    const context = this.context!
    if (this.reloadState) {
      // After a failed write the stored state is the truth again: wait for what is still in flight.
      await this.drained()
      const stored = await context.readCheckpoints(STATE_PREFIX)
      this.known.clear()
      this.knownInstance.clear()
      this.instanceItems.clear()
      for (const [path, value] of stored) this.remember(path, value)
      this.reloadState = false
      // Nothing publishes before this sync's diff (fires wait): the diff is the first publication again.
      this.storeFailed = false
      this.afterStoreFailure = this.firstSyncDone
    }
    for (const node of this.tree.values()) {
      node.attached = false
      clearTimeout(node.timer)
    }
    this.tree = new Map()
    this.deferred.clear()
    const roots = watchedRoots(this.root).map((path) => this.track(path, undefined))
    await Promise.all(roots.map((root) => this.load(root, session)))
    // A write failed during the listing: the next sync (already requested) reloads the state first.
    if (this.stopped || session !== this.session || !session.alive || this.storeFailed) return
    // What the listing did not find is gone: forget its watcher and its malformed report.
    for (const path of this.watchers.keys()) if (!this.tree.has(path)) this.watchers.delete(path)
    for (const path of this.malformedSeen.keys()) if (!this.tree.has(path)) this.malformedSeen.delete(path)

    const time = Date.now()
    const candidates = new Set([...this.known.keys()])
    for (const [path, node] of this.tree) if (node.info.item) candidates.add(path)
    if (this.everSynced) {
      const note = this.afterStoreFailure ? undefined : missedChangeNote(this.firstSyncDone ? 'reconnect' : 'restart')
      const published = this.reconcile(candidates, time, note, true)
      // Recovering from a failed write: connected only once the store takes writes again.
      if (this.storeFailures > 0 && published && !(await published)) return
      if (this.stopped || session !== this.session || !session.alive) return
    } else {
      // Until `synced` is stored the mesh has not had its first sync: a failed write repeats it, whole.
      const stored = await this.firstSync(candidates, time)
      if (!stored || this.stopped || session !== this.session || !session.alive) return
    }
    this.firstSyncDone = true
    this.afterStoreFailure = false
    this.live = true
    clearTimeout(this.retryTimer)
    this.setStatus('connected')
    for (const node of this.deferred) this.onFire(node)
    this.deferred.clear()
  }

  /**
   * The first sync of a never-seen mesh: the state and the catalog, and one summary event.
   * Resolves whether it was stored; only then has the mesh been synced.
   */
  private async firstSync(candidates: Iterable<string>, time: number): Promise<boolean> {
    const checkpoints: Checkpoint[] = []
    const catalog: CatalogChange[] = []
    for (const path of candidates) {
      if (this.skip(path)) continue
      const value = this.current(path)
      if (value === this.known.get(path)) continue
      checkpoints.push({ key: STATE_PREFIX + path, value: value ?? null })
      if (value === undefined) this.forget(path)
      else this.remember(path, value)
    }
    const counts = { applications: new Set<string>(), instances: new Set<string>(), services: new Set<string>(), providers: 0, consumers: 0, configs: 0, metadata: 0 }
    for (const [path, value] of this.known) {
      const item = classifyPath(path, this.root)?.item
      const facts = item && itemFacts(item, value)
      if (!item || !facts) continue
      catalog.push(...presentCatalog(this.mesh, item, facts))
      if (facts.application && item.kind !== 'rule') counts.applications.add(facts.application)
      if (facts.instance) counts.instances.add(facts.instance)
      if (facts.service && item.kind !== 'rule') counts.services.add(facts.service)
      if (item.kind === 'url' && item.category === 'providers') counts.providers++
      else if (item.kind === 'url' && item.category === 'consumers') counts.consumers++
      else if (item.kind === 'url' || item.kind === 'rule') counts.configs++
      else if (item.kind === 'service-metadata' || item.kind === 'app-metadata') counts.metadata++
    }
    catalog.push(...this.listedCatalog(time))
    const event = registrySyncedEvent({
      source: 'zookeeper',
      mesh: this.mesh,
      time,
      applications: counts.applications.size,
      instances: counts.instances.size,
      services: counts.services.size,
      extra: { providers: counts.providers, consumers: counts.consumers, configs: counts.configs, metadata: counts.metadata },
    })
    const stored = await this.publish({ events: [event], catalog, checkpoints: [...checkpoints, { key: SYNCED_KEY, value: String(time) }] })
    if (stored) this.everSynced = true
    return stored
  }

  /** After a full list: instances no item registers any more are gone, and the mesh was synced now. */
  private listedCatalog(time: number): CatalogChange[] {
    return [
      { op: 'instances-listed', mesh: this.mesh, source: 'zookeeper', names: [...this.instanceItems.keys()] },
      { op: 'mesh-synced', name: this.mesh, at: time },
    ]
  }

  // --- the mirror -------------------------------------------------------------------------

  private track(path: string, parent: TrackedNode | undefined): TrackedNode {
    const node: TrackedNode = {
      path,
      info: classifyPath(path, this.root) ?? { children: false, data: false },
      parent,
      children: new Map(),
      attached: true,
      loading: false,
      busy: false,
      again: false,
      watcher: this.watcherFor(path),
    }
    this.tree.set(path, node)
    if (parent) parent.children.set(path.slice(path.lastIndexOf('/') + 1), node)
    if (node.info.item?.kind === 'url') this.setContent(node, '')
    return node
  }

  /**
   * The path's watcher: one function per path for the session, reused by every node that tracks
   * the path, so the client keeps one listener per path however often the tree is listed again.
   * It fires for the node tracking the path now.
   */
  private watcherFor(path: string): Watcher {
    let watcher = this.watchers.get(path)
    if (!watcher) {
      watcher = () => {
        const node = this.tree.get(path)
        if (node) this.onFire(node)
      }
      this.watchers.set(path, watcher)
    }
    return watcher
  }

  /** Reads a node just tracked (with watches) and, for a folder, everything below it. */
  private async load(node: TrackedNode, session: ZkSession): Promise<void> {
    node.loading = true
    try {
      const { info, path } = node
      const [names, data] = await Promise.all([info.children ? session.children(path, node.watcher) : undefined, info.data ? session.data(path, node.watcher) : undefined])
      if (!node.attached) return
      if ((info.children && names === undefined) || (info.data && data === undefined)) {
        await this.nodeMissing(node, session, new Set())
        return
      }
      node.missing = false
      if (data !== undefined) this.setContent(node, data.toString('utf8'))
      if (names) await Promise.all(names.map((name) => this.addChild(node, name, session)))
    } catch (error) {
      if (!(error instanceof ZkCallError) || error.code !== ZK_NO_AUTH) throw error
      // A protected node: skip it rather than judge what is below it as gone. A protected root fails the sync.
      if (!node.parent) throw error
      node.unreadable = true
      this.context!.log.warn('not authorised to read a ZooKeeper node; skipping it', { path: node.path })
    } finally {
      node.loading = false
    }
  }

  private async addChild(parent: TrackedNode, name: string, session: ZkSession): Promise<TrackedNode | undefined> {
    const path = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`
    if (!parent.attached || parent.children.has(name) || !classifyPath(path, this.root)) return undefined
    const child = this.track(path, parent)
    await this.load(child, session)
    return child
  }

  /**
   * The node is gone. A root stays tracked and waits for its creation; any other node leaves
   * the mirror with everything below it (those items become candidates of the diff).
   */
  private async nodeMissing(node: TrackedNode, session: ZkSession, candidates: Set<string>): Promise<void> {
    if (node.parent) {
      this.detach(node, candidates)
      return
    }
    for (const child of [...node.children.values()]) this.detach(child, candidates)
    node.missing = true
    if (await session.exists(node.path, node.watcher)) {
      // Created between the read and the watch: read it now, the existence watch is spent on nothing.
      if (node.attached) await this.load(node, session)
    }
  }

  private detach(node: TrackedNode, candidates: Set<string>): void {
    node.attached = false
    clearTimeout(node.timer)
    if (this.tree.get(node.path) === node) {
      this.tree.delete(node.path)
      this.watchers.delete(node.path)
      this.malformedSeen.delete(node.path)
    }
    if (node.info.item) candidates.add(node.path)
    if (node.parent?.children.get(node.path.slice(node.path.lastIndexOf('/') + 1)) === node) node.parent.children.delete(node.path.slice(node.path.lastIndexOf('/') + 1))
    for (const child of node.children.values()) this.detach(child, candidates)
  }

  /**
   * Takes an item's content as read: usable, malformed (skipped; reported once until its reason or
   * content changes, not on every re-read or re-list), or a folder's empty data.
   */
  private setContent(node: TrackedNode, data: string): void {
    const item = node.info.item
    if (!item) return
    if (item.kind === 'app-metadata' && data === '') {
      // `{interface}/{version}` folders have the shape of `{app}/{revision}` items, and no data.
      node.value = undefined
      node.malformed = false
      this.malformedSeen.delete(node.path)
      return
    }
    const reason = malformedReason(item, data)
    if (reason) {
      node.malformed = true
      const seen = `${reason}\n${data}`
      if (this.malformedSeen.get(node.path) !== seen) {
        this.malformedSeen.set(node.path, seen)
        this.context!.reportMalformed(reason, { mesh: this.mesh, path: node.path, kind: item.kind })
      }
      return
    }
    node.malformed = false
    this.malformedSeen.delete(node.path)
    node.value = itemValue(item, data)
  }

  // --- watches ----------------------------------------------------------------------------

  private onFire(node: TrackedNode): void {
    if (this.stopped || !node.attached) return
    if (!this.live) {
      this.deferred.add(node)
      return
    }
    if (node.timer) return
    node.timer = setTimeout(() => {
      node.timer = undefined
      void this.refresh(node)
    }, this.options.coalesceMs)
  }

  /** Re-reads a node whose watch fired (one read at a time per node; a fire meanwhile reads once more). */
  private async refresh(node: TrackedNode): Promise<void> {
    if (node.busy) {
      node.again = true
      return
    }
    node.busy = true
    try {
      do {
        node.again = false
        await this.refreshOnce(node)
        if (this.heldChanges() > MAX_HELD_CHANGES) await this.writing
      } while (node.again && node.attached && !this.stopped)
    } catch (error) {
      if (this.stopped || !node.attached) return
      // A failed read leaves the watch unarmed: only a full list can be sure of the state again.
      // Failed because the connection dropped: the reconnection lists again, once.
      this.context!.log.warn('re-reading a ZooKeeper node failed; listing again', { path: node.path, error: (error as Error).message })
      if (this.session?.alive && this.session.connected) this.requestSync()
    } finally {
      node.busy = false
    }
  }

  private async refreshOnce(node: TrackedNode): Promise<void> {
    const session = this.session
    if (!session?.alive || !node.attached) return
    const { info, path } = node
    const candidates = new Set<string>()
    if (node.missing) {
      // A root that did not exist: its existence watch fired.
      await this.load(node, session)
      if (node.attached && !node.missing) this.collect(node, candidates)
    } else {
      const [names, data] = await Promise.all([info.children ? session.children(path, node.watcher) : undefined, info.data ? session.data(path, node.watcher) : undefined])
      if (!node.attached) return
      if ((info.children && names === undefined) || (info.data && data === undefined)) {
        await this.nodeMissing(node, session, candidates)
      } else {
        if (data !== undefined) {
          this.setContent(node, data.toString('utf8'))
          if (info.item) candidates.add(path)
        }
        if (names) {
          const listed = new Set(names)
          for (const [name, child] of [...node.children]) if (!listed.has(name)) this.detach(child, candidates)
          const added = await Promise.all(names.filter((name) => !node.children.has(name)).map((name) => this.addChild(node, name, session)))
          for (const child of added) if (child) this.collect(child, candidates)
        }
      }
    }
    if (this.live && !this.stopped) this.reconcile(candidates, Date.now(), undefined, false)
  }

  private collect(node: TrackedNode, candidates: Set<string>): void {
    if (node.info.item) candidates.add(node.path)
    for (const child of node.children.values()) this.collect(child, candidates)
  }

  // --- diff and publish -------------------------------------------------------------------

  /** The usable content of an item in the mirror, or undefined when the mirror has none. */
  private current(path: string): string | undefined {
    const node = this.tree.get(path)
    return node?.attached && node.info.item ? node.value : undefined
  }

  /** Whether a path cannot be judged now: malformed, being read, or below a node we may not read. */
  private skip(path: string): boolean {
    const node = this.tree.get(path)
    if (node && (node.malformed || node.loading || node.unreadable)) return true
    for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) {
      const ancestor = this.tree.get(path.slice(0, at))
      if (ancestor) return ancestor.unreadable === true || (ancestor.loading && !node)
    }
    return false
  }

  /**
   * Compares the mirror with the node state for `candidates` and publishes what differs: events,
   * the state checkpoints and the catalog, in one publication. Synchronous up to `publish`, so two
   * handlers never record the same change twice. `full` adds the catalog of every item and the
   * list of instances (a full sync).
   */
  private reconcile(candidates: Iterable<string>, time: number, note: string | undefined, full: boolean): Promise<boolean> | undefined {
    const events: IngestEvent[] = []
    const catalog: CatalogChange[] = []
    const checkpoints: Checkpoint[] = []
    const dropped = new Set<string>()
    const context = note === undefined ? { mesh: this.mesh, time } : { mesh: this.mesh, time, note }
    for (const path of [...candidates].sort()) {
      if (this.skip(path)) continue
      const before = this.known.get(path)
      const after = this.current(path)
      if (before === after) continue
      const item = classifyPath(path, this.root)?.item
      checkpoints.push({ key: STATE_PREFIX + path, value: after ?? null })
      if (after === undefined) {
        const instance = this.forget(path)
        if (instance) dropped.add(instance)
      } else {
        this.remember(path, after)
      }
      if (!item) continue
      const event = describeChange(path, item, before, after, context)
      if (event) events.push(event)
      const facts = itemFacts(item, after ?? before!)
      if (!facts) continue
      if (after === undefined) catalog.push(...goneCatalog(this.mesh, item, facts))
      else if (!full) catalog.push(...presentCatalog(this.mesh, item, facts))
    }
    for (const instance of dropped) if (!this.instanceItems.has(instance)) catalog.push({ op: 'instance-gone', mesh: this.mesh, name: instance })
    if (full) {
      for (const [path, value] of this.known) {
        const item = classifyPath(path, this.root)?.item
        const facts = item && itemFacts(item, value)
        if (item && facts) catalog.push(...presentCatalog(this.mesh, item, facts))
      }
      catalog.push(...this.listedCatalog(time))
    }
    if (events.length > 0 || catalog.length > 0 || checkpoints.length > 0) return this.publish({ events, catalog, checkpoints })
    return undefined
  }

  private remember(path: string, value: string): void {
    this.forget(path)
    this.known.set(path, value)
    const item = classifyPath(path, this.root)?.item
    const instance = item && registeredInstance(item, value)
    if (!instance) return
    this.knownInstance.set(path, instance)
    const items = this.instanceItems.get(instance) ?? new Set()
    items.add(path)
    this.instanceItems.set(instance, items)
  }

  /** Drops a path from the state; returns the instance it registered, if any. */
  private forget(path: string): string | undefined {
    this.known.delete(path)
    const instance = this.knownInstance.get(path)
    if (!instance) return undefined
    this.knownInstance.delete(path)
    const items = this.instanceItems.get(instance)
    items?.delete(path)
    if (items?.size === 0) this.instanceItems.delete(instance)
    return instance
  }

  /**
   * Publishes without making the caller wait for the writer (a burst would otherwise wait a batch
   * per change), one write at a time: what comes while a write is in flight is held and merged
   * into the next publication, sent once that write is stored. So nothing is ever stored after a
   * write that failed: the failure drops what is held and what comes until the next full sync has
   * reloaded the stored state, and that sync's diff records again what was not stored. Resolves
   * whether the publication was stored.
   */
  private publish(publication: Publication): Promise<boolean> {
    if (this.stopped || this.storeFailed) return Promise.resolve(false)
    if (!this.writing) return this.write(publication)
    if (!this.held) {
      let settle!: (stored: boolean | Promise<boolean>) => void
      const done = new Promise<boolean>((resolve) => (settle = resolve))
      this.held = { events: [], catalog: [], checkpoints: new Map(), done, settle }
    }
    const held = this.held
    held.events.push(...(publication.events ?? []))
    held.catalog.push(...(publication.catalog ?? []))
    for (const { key, value } of publication.checkpoints ?? []) held.checkpoints.set(key, value)
    return held.done
  }

  private write(publication: Publication): Promise<boolean> {
    const written = this.context!.publish(publication).then(
      () => {
        this.storeFailures = 0
        return true
      },
      (error: unknown) => {
        this.storeFailure(error)
        return false
      },
    )
    this.writing = written.then(() => {
      this.writing = undefined
      const held = this.held
      this.held = undefined
      if (!held) return
      if (this.storeFailed) held.settle(false)
      else held.settle(this.write({ events: held.events, catalog: held.catalog, checkpoints: [...held.checkpoints].map(([key, value]) => ({ key, value })) }))
    })
    return written
  }

  /**
   * A write failed: the stored state is behind the memory. Publish nothing until a full sync
   * reloaded it; the mesh is in error until a write is stored again. The first failure lists
   * again at once, a repeated one after `retryMs` (a broken disk must not make us list in a loop).
   */
  private storeFailure(error: unknown): void {
    if (this.storeFailed) return
    this.storeFailed = true
    this.storeFailures++
    if (this.stopped) return
    this.context!.log.error('storing ZooKeeper changes failed; listing again from the stored state', { error })
    this.setStatus('error', `storing registry changes failed; listing again from the stored state: ${(error as Error).message}`)
    this.reloadState = true
    this.live = false
    if (this.storeFailures === 1) {
      this.requestSync()
      return
    }
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.requestSync(), this.options.retryMs)
  }

  private heldChanges(): number {
    return this.held ? this.held.events.length + this.held.checkpoints.size : 0
  }

  /** Resolves once every publication handed to the writer, and every one held, has settled. */
  private async drained(): Promise<void> {
    while (this.writing) await this.writing
  }
}

/** The instance an item registers: providers, consumers and application-level instances. */
function registeredInstance(item: ZkItem, value: string): string | undefined {
  if (item.kind !== 'instance' && !(item.kind === 'url' && (item.category === 'providers' || item.category === 'consumers'))) return undefined
  return itemFacts(item, value)?.instance
}
