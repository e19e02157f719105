/**
 * Composition root: config -> store -> bus -> writer -> sources -> HTTP server. `main.ts` adds
 * the process concerns (signals, exit codes); tests start and stop whole instances through here.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Express } from 'express'
import { appServer, createApp } from './app.ts'
import { EventBus } from './bus.ts'
import { ConfigError } from './config.ts'
import type { Config } from './config.ts'
import { BatchWriter } from './ingest/batchWriter.ts'
import { Retention } from './ingest/retention.ts'
import type { Logger } from './log.ts'
import { createMetrics } from './metrics.ts'
import { IngestService } from './services/ingest.ts'
import { StreamService } from './services/stream.ts'
import type { StreamOptions } from './services/stream.ts'
import { MeshStatusBoard } from './services/meshStatus.ts'
import { Alerting } from './services/alerting.ts'
import type { AlertingOptions } from './services/alerting.ts'
import { TimelineService } from './services/timeline.ts'
import { IngestActivity } from './services/ingestActivity.ts'
import type { IngestActivityOptions } from './services/ingestActivity.ts'
import { TimelineViewsService } from './services/timelineViews.ts'
import { createSink } from './sinks/createSink.ts'
import { checkSinkNames, SinkDeliveries } from './sinks/delivery.ts'
import type { DeliveryTuning } from './sinks/delivery.ts'
import type { NatsSinkOptions } from './sinks/natsSink.ts'
import type { SinkConfig } from './sinks/types.ts'
import type { KubernetesSourceOptions } from './sources/kubernetes/kubernetesSource.ts'
import { compileRules } from './rules/rules.ts'
import { createRegistrySource } from './sources/registry/createRegistrySource.ts'
import type { RegistryTuning } from './sources/registry/createRegistrySource.ts'
import type { Source, SourceContext } from './sources/source.ts'
import { openStore, redactDbUrl } from './store/openStore.ts'
import type { EventStore, IngestEvent } from './store/types.ts'
import { fencedStore } from './replica/fencedStore.ts'
import { Leadership } from './replica/leadership.ts'
import type { LeadershipOptions } from './replica/leadership.ts'
import { LiveFeed } from './replica/liveFeed.ts'
import type { LiveFeedOptions } from './replica/liveFeed.ts'

export interface Eventline {
  port: number
  url: string
  store: EventStore
  bus: EventBus
  leadership: Leadership
  /** Flushes pending writes, stops sources and the HTTP server, closes the store. */
  stop(): Promise<void>
  /** The Express app (tests read its routes). */
  app: Express
}

export type EventlineConfig = Pick<Config, 'port' | 'host' | 'db' | 'retentionMs' | 'demo'> &
  Partial<Pick<Config, 'token' | 'webDir' | 'registries' | 'kubernetes' | 'cluster' | 'kubeContexts' | 'file' | 'queryTimeoutMs'>> & {
    /** Watchdog, backoff and paging of the Kubernetes source (tests shorten them). */
    kubernetesTuning?: Omit<KubernetesSourceOptions, 'kubeConfig' | 'cluster'>
    /** Limits and timings of the live stream (tests shorten them). */
    stream?: StreamOptions
    /** Reconnect, poll and timeout settings of the registry sources (tests shorten them). */
    registryTuning?: RegistryTuning
    /** Where events are forwarded (at least once, through the outbox); default: the file's sinks. */
    sinks?: SinkConfig[]
    /** The sinks each event goes to; default: the file's routes. */
    routeEvent?: (event: IngestEvent) => string[]
    /** How often alert windows are closed (tests shorten it). */
    alerting?: AlertingOptions
    /** Backoff, polling and shutdown timings of the delivery loops, NATS timeouts (tests shorten them). */
    sinkTuning?: DeliveryTuning & { nats?: NatsSinkOptions }
    /** Heartbeat and gap threshold of the ingestion activity record (tests shorten them). */
    activity?: Omit<IngestActivityOptions, 'now'>
    /** Lease timings and this replica's name (tests shorten them; defaults as Kubernetes Leases). */
    leadership?: LeadershipOptions
    /** The database live feed's backstop poll (PostgreSQL). */
    liveFeed?: LiveFeedOptions
  }

export async function startEventline(config: EventlineConfig, log: Logger): Promise<Eventline> {
  // Sources first: a kubeconfig that does not load is a configuration error, before anything opens.
  let unusedSources: Source[] | undefined = await buildSources(config, log)
  // eventline.yaml: what is stored (ingestion filter), where it is forwarded (routes), what alerts.
  const rules = compileRules(config.file)
  const sinkConfigs = config.sinks ?? config.file?.sinks ?? []
  checkSinkNames(sinkConfigs)
  const sinkLog = log.child({ component: 'sinks' })

  const metrics = createMetrics()
  const store = await openStore(config.db, {
    log: log.child({ component: 'store' }),
    timings: (role, stage, seconds) => metrics.storeCallSeconds.observe({ role, stage }, seconds),
    ...(config.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: config.queryTimeoutMs }),
  })
  const leadership = new Leadership(store.replicas, log.child({ component: 'leadership' }), config.leadership)
  // The fence the leader's writers ask: counts the refusals, then lets the term end.
  const fence = {
    epoch: () => leadership.epoch(),
    refused: (epoch: number | undefined) => {
      metrics.fencedWrites.inc()
      leadership.refused(epoch)
    },
  }
  const bus = new EventBus()
  const alerting = new Alerting(rules.alerts, bus, log.child({ component: 'alerts' }), metrics, config.alerting)
  if (store.replicas) alerting.followStore(store)
  const writer = new BatchWriter(store, bus, log.child({ component: 'writer' }), metrics, {
    keep: rules.keep,
    routeEvent: config.routeEvent ?? rules.sinksFor,
    // Only the leader alerts. One process: on what it commits. Replicas: on what every replica
    // commits, read from the store (see Alerting); its own commits only lend their pod labels.
    onCommitted: (stored, published) => {
      if (leadership.isLeader || store.replicas) alerting.observe(stored, published)
    },
    fence,
  })
  const meshStatus = new MeshStatusBoard(store.replicas ? { replicas: store.replicas, fence, log: log.child({ component: 'meshes' }) } : undefined)
  const leaderStore = fencedStore(store, fence)
  // When the leader's sources were ingesting (the gaps of /gaps and the histograms). Started with each
  // term: periods the previous leader (or run) left open end at their last heartbeat.
  const activity = new IngestActivity(store, log.child({ component: 'activity' }), config.activity)

  /** The leader's work while it holds the lease. */
  interface Term {
    sources: Source[]
    deliveries: SinkDeliveries
    retention: Retention
  }
  let term: Term | undefined
  let stopping = false

  const startTerm = async (): Promise<void> => {
    if (term || stopping || !leadership.isLeader) return
    const sources = unusedSources ?? (await buildSources(config, log))
    unusedSources = undefined
    const sinks = sinkConfigs.map((sink) => createSink(sink, sinkLog, config.sinkTuning?.nats))
    // Before the sources: what the last term left in the outbox starts going out at once. A sink that
    // cannot connect is logged and retried by its loop; start-up does not wait for it.
    const deliveries = new SinkDeliveries(sinks, leaderStore, bus, sinkLog, metrics, {
      retentionMs: config.retentionMs,
      ...(config.file ? { locations: config.file.sinkLocations } : {}),
      ...config.sinkTuning,
    })
    const retention = new Retention(leaderStore, log.child({ component: 'retention' }), metrics, { retentionMs: config.retentionMs })
    term = { sources: [], deliveries, retention }
    // What the previous leader reported is replaced at once: these sources, connecting.
    meshStatus.beginTerm(sources.map((source) => ({ mesh: source.mesh, kind: source.kind })))
    // The open alert groups the previous leader (or the last run) persisted.
    await alerting.resume(store)
    await activity.start()
    await deliveries.start()
    retention.start()
    for (const source of sources) {
      if (!leadership.isLeader) break // lost while starting: the stop that follows ends what started
      const sourceLog = log.child({ source: source.kind, mesh: source.mesh })
      const context: SourceContext = {
        publish: (publication) =>
          bus.publish({
            ...publication,
            ...(publication.checkpoints ? { checkpoints: publication.checkpoints.map(({ key, value }) => ({ key: `${source.mesh}:${key}`, value })) } : {}),
            fenced: true,
          }),
        readCheckpoint: (key) => store.readCheckpoint(`${source.mesh}:${key}`),
        readCheckpoints: (prefix) => store.readCheckpoints(`${source.mesh}:${prefix}`),
        setStatus: (status, error) => {
          meshStatus.set(source.mesh, status, error)
          activity.status(source.mesh, source.kind, status)
        },
        reportLossyResume: (how) => activity.resumedLossy(source.mesh, source.kind, how),
        reportMalformed: (reason, details) => {
          metrics.eventsRejected.inc({ source: source.kind, reason })
          sourceLog.warn('skipped malformed data', { reason, ...details })
        },
        log: sourceLog,
      }
      meshStatus.track(source.mesh, source.kind)
      meshStatus.set(source.mesh, 'connecting')
      term.sources.push(source)
      await bus.publish({ catalog: [{ op: 'mesh', name: source.mesh, kind: source.kind, address: source.address }], fenced: true })
      await source.start(context)
    }
  }

  const stopTerm = async (): Promise<void> => {
    const ending = term
    if (!ending) return
    term = undefined
    // Sources first (nothing more is published), then what delivers and purges.
    await Promise.all(ending.sources.map((source) => source.stop()))
    if (!stopping) alerting.suspend()
    meshStatus.endTerm()
    await activity.stop()
    await ending.retention.stop()
    await ending.deliveries.stop()
  }

  // Role changes run one after another, in the order they happened.
  let roles: Promise<void> = Promise.resolve()
  const changeRole = (work: () => Promise<void>) => {
    roles = roles.then(work).catch((error: unknown) => log.error('changing role failed', { error }))
    return roles
  }
  // A term that fails to start (the database unreachable mid-way) is ended and the lease given up,
  // so this or another replica campaigns again instead of leading without sources.
  let startFailure: unknown
  const startTermOrStepDown = async (): Promise<void> => {
    try {
      await startTerm()
    } catch (error) {
      // One process on SQLite: a start-up failure fails the start, as it always did.
      if (!store.replicas) {
        startFailure = error
        return
      }
      log.error('starting the leader term failed; stepping down', { error })
      await stopTerm()
      leadership.refused(leadership.epoch())
    }
  }
  leadership.onChange((leader) => {
    metrics.leader.set(leader ? 1 : 0)
    void changeRole(leader ? startTermOrStepDown : stopTerm)
  })
  metrics.leader.set(0)

  // On PostgreSQL live streams follow the database (every replica's writes); on SQLite the bus.
  let feed: LiveFeed | undefined
  if (store.replicas) {
    feed = new LiveFeed(store, store.replicas, log.child({ component: 'feed' }), config.liveFeed)
    await feed.start()
    // The leader's alerting reads on whenever any replica committed events.
    feed.onStored(() => alerting.wake())
  }
  // eventline_source_up reads the board on each scrape.
  metrics.readSources = () => meshStatus.sources()
  const stream = new StreamService(store, feed ?? bus, log.child({ component: 'stream' }), metrics, config.stream)
  const app = createApp({
    store,
    timeline: new TimelineService(store),
    ingest: new IngestService(bus, store),
    stream,
    meshStatus,
    timelineViews: new TimelineViewsService(store, activity, log.child({ component: 'views' })),
    activity,
    metrics,
    isLeader: () => leadership.isLeader,
    log: log.child({ component: 'http' }),
    ...(config.token === undefined ? {} : { token: config.token }),
    ...(config.webDir === undefined ? {} : { webDir: config.webDir }),
  })
  const server = await listen(app, config.port, config.host)
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  log.info('listening', { url, port, db: redactDbUrl(config.db), sources: (unusedSources ?? term?.sources ?? []).map((source) => source.mesh), holder: leadership.holder })
  // Campaign once serving: on SQLite this leads at once and starts the term.
  leadership.start()
  if (!store.replicas) await roles

  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // Live streams never go idle on their own: end them so the server can close.
      stream.close()
      // While still leading: sources stop, the last alert summaries and events are written under the
      // current epoch, and only then the lease is released so another replica takes over at once.
      await changeRole(stopTerm)
      await alerting.stop()
      await writer.flush()
      await leadership.stop()
      await roles
      await writer.close()
      await feed?.close()
      server.closeAllConnections()
      await closed
      await store.close()
      log.info('stopped')
    })())
  if (startFailure !== undefined) {
    await stop()
    throw startFailure
  }
  return { port, url, app, store, bus, leadership, stop }
}

/** The configured sources, new instances (a source runs one term; the next term builds its own). */
async function buildSources(config: EventlineConfig, log: Logger): Promise<Source[]> {
  const sources: Source[] = []
  if (config.demo) {
    // Loaded only when asked for: a production console never carries the simulator in memory.
    const { DemoSource } = await import('./sources/demo/demoSource.ts')
    sources.push(new DemoSource())
  }
  if (config.kubernetes && config.kubernetes.mode !== 'off') {
    const { loadKubeClusters } = await import('./sources/kubernetes/kubeConfig.ts')
    const { KubernetesSource } = await import('./sources/kubernetes/kubernetesSource.ts')
    // One source per chosen context: each cluster has its own watches, checkpoints and status,
    // so one that is unreachable or forbidden never stops or delays the others.
    for (const { kubeConfig, cluster } of loadKubeClusters(config.kubernetes, config.cluster, config.kubeContexts)) {
      sources.push(new KubernetesSource({ kubeConfig, cluster, ...config.kubernetesTuning }))
    }
  } else if (config.kubernetes) {
    log.info('no Kubernetes source', { reason: config.kubernetes.reason })
  }
  for (const registry of config.registries ?? []) sources.push(await createRegistrySource(registry, config.registryTuning))
  const meshNames = new Set<string>()
  for (const source of sources) {
    if (meshNames.has(source.mesh)) throw new ConfigError('EVENTLINE_REGISTRIES', `mesh name "${source.mesh}" is used twice (a cluster and a registry); set ?name= to tell them apart`)
    meshNames.add(source.mesh)
  }
  return sources
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = appServer(app).listen(port, host)
    server.once('listening', () => resolve(server))
    server.once('error', reject)
  })
}
