/**
 * Composition root: config -> store -> bus -> writer -> sources -> HTTP server. `main.ts` adds
 * the process concerns (signals, exit codes); tests start and stop whole instances through here.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Express } from 'express'
import { createApp } from './app.ts'
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

export interface Eventline {
  port: number
  url: string
  store: EventStore
  bus: EventBus
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
    /** Heartbeat and gap threshold of the ingestion activity record (tests shorten them). */
    activity?: Omit<IngestActivityOptions, 'now'>
    /** Backoff, polling and shutdown timings of the delivery loops, NATS timeouts (tests shorten them). */
    sinkTuning?: DeliveryTuning & { nats?: NatsSinkOptions }
  }

export async function startEventline(config: EventlineConfig, log: Logger): Promise<Eventline> {
  // Sources first: a kubeconfig that does not load is a configuration error, before anything opens.
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
  // eventline.yaml: what is stored (ingestion filter), where it is forwarded (routes), what alerts.
  const rules = compileRules(config.file)
  const sinkConfigs = config.sinks ?? config.file?.sinks ?? []
  checkSinkNames(sinkConfigs)
  const sinkLog = log.child({ component: 'sinks' })
  const sinks = sinkConfigs.map((sink) => createSink(sink, sinkLog, config.sinkTuning?.nats))

  const metrics = createMetrics()
  const store = await openStore(config.db, {
    log: log.child({ component: 'store' }),
    ...(config.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: config.queryTimeoutMs }),
  })
  const bus = new EventBus()
  const alerting = new Alerting(rules.alerts, bus, log.child({ component: 'alerts' }), metrics, config.alerting)
  const writer = new BatchWriter(store, bus, log.child({ component: 'writer' }), metrics, {
    keep: rules.keep,
    routeEvent: config.routeEvent ?? rules.sinksFor,
    onCommitted: alerting.observe,
  })
  // Before the sources: what the last run left in the outbox starts going out at once. A sink that
  // cannot connect is logged and retried by its loop; start-up does not wait for it.
  const deliveries = new SinkDeliveries(sinks, store, bus, sinkLog, metrics, {
    retentionMs: config.retentionMs,
    ...(config.file ? { locations: config.file.sinkLocations } : {}),
    ...config.sinkTuning,
  })
  await deliveries.start()
  const meshStatus = new MeshStatusBoard()
  // Before any source reports a status: periods a previous run left open end at their last heartbeat.
  const activity = new IngestActivity(store, log.child({ component: 'activity' }), config.activity)
  await activity.start()
  const retention = new Retention(store, log.child({ component: 'retention' }), metrics, { retentionMs: config.retentionMs })
  retention.start()

  for (const source of sources) {
    const sourceLog = log.child({ source: source.kind, mesh: source.mesh })
    const context: SourceContext = {
      publish: (publication) =>
        bus.publish(
          publication.checkpoints
            ? { ...publication, checkpoints: publication.checkpoints.map(({ key, value }) => ({ key: `${source.mesh}:${key}`, value })) }
            : publication,
        ),
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
    await bus.publish({ catalog: [{ op: 'mesh', name: source.mesh, kind: source.kind, address: source.address }] })
    await source.start(context)
  }

  // eventline_source_up reads the board on each scrape.
  metrics.readSources = () => meshStatus.sources()
  const stream = new StreamService(store, bus, log.child({ component: 'stream' }), metrics, config.stream)
  const app = createApp({
    store,
    timeline: new TimelineService(store),
    ingest: new IngestService(bus, store),
    stream,
    meshStatus,
    timelineViews: new TimelineViewsService(store, activity, log.child({ component: 'views' })),
    activity,
    metrics,
    log: log.child({ component: 'http' }),
    ...(config.token === undefined ? {} : { token: config.token }),
    ...(config.webDir === undefined ? {} : { webDir: config.webDir }),
  })
  const server = await listen(app, config.port, config.host)
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  log.info('listening', { url, port, db: redactDbUrl(config.db), sources: sources.map((source) => source.mesh) })

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // Live streams never go idle on their own: end them so the server can close.
      stream.close()
      await Promise.all(sources.map((source) => source.stop()))
      await activity.stop()
      await retention.stop()
      await alerting.stop()
      await writer.close()
      await deliveries.stop()
      server.closeAllConnections()
      await closed
      await store.close()
      log.info('stopped')
    })())
  return { port, url, app, store, bus, stop }
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host)
    server.once('listening', () => resolve(server))
    server.once('error', reject)
  })
}
