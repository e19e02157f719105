/**
 * Prometheus metrics (`GET /metrics`). One registry per app instance, so tests stay isolated.
 *
 * Names follow the ecosystem: the process and runtime metrics keep prom-client's standard
 * `process_*` / `nodejs_*` names, so stock Node.js dashboards work; `eventline_build_info` is the
 * usual constant 1 carrying the version; per mesh, `eventline_source_up` and
 * `eventline_source_last_event_timestamp_seconds` say whether a source is connected and when it
 * last delivered. `promtool check metrics` passes on the output (see metrics.spec.ts).
 *
 * Known limits (candidly): `eventline_source_last_event_timestamp_seconds` starts empty at each
 * start and appears for a mesh with its first delivery after that; it is the time Eventline took
 * the events in, not the events' own times (a relist delivers old events now).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { VERSION } from './version.ts'

/** One running source as `eventline_source_up` reports it. */
export interface SourceState {
  mesh: string
  kind: string
  /** Connected and ingesting. */
  up: boolean
}

export interface Metrics {
  registry: Registry
  eventsIngested: Counter<'source'>
  eventsRejected: Counter<'source' | 'reason'>
  batchWriteSeconds: Histogram
  /** SQLite store thread calls: wait for a reader, run in the thread, hop between threads. */
  storeCallSeconds: Histogram<'role' | 'stage'>
  /** A publication's wait in the batched writer before its batch is written. */
  writeWaitSeconds: Histogram
  writeQueueDepth: Gauge
  httpRequestSeconds: Histogram<'method' | 'route' | 'status'>
  eventsPurged: Counter
  eventsFiltered: Counter<'source'>
  alertNotices: Counter<'rule' | 'kind'>
  liveStreams: Gauge
  liveStreamsCutOff: Counter
  sinkSent: Counter<'sink'>
  sinkFailed: Counter<'sink'>
  sinkDropped: Counter<'sink' | 'reason'>
  sinkPending: Gauge<'sink'>
  /** 1 while this replica holds the leader lease (always 1 on SQLite), else 0. */
  leader: Gauge
  /** Leader writes refused because this replica no longer held the lease (fencing). */
  fencedWrites: Counter
  /**
   * Where `eventline_sink_pending` reads the outbox on each scrape: the configured sinks and their
   * pending entries. Set when the delivery loops start; unset, the gauge reports nothing.
   */
  readSinkPending?: () => Promise<ReadonlyMap<string, number>>
  /** Constant 1 with the version (the ecosystem's `*_build_info` convention). */
  buildInfo: Gauge<'version' | 'node_version'>
  sourceUp: Gauge<'mesh' | 'kind'>
  /** Set by the writer when a mesh's events are committed: seconds since the epoch. */
  sourceLastEvent: Gauge<'mesh'>
  /**
   * Where `eventline_source_up` reads the running sources on each scrape (the mesh status board).
   * Unset, the gauge reports nothing.
   */
  readSources?: () => readonly SourceState[]
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  // No prefix: `process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`... are what dashboards query.
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    buildInfo: new Gauge({
      name: 'eventline_build_info',
      help: 'Always 1; the labels say which Eventline version runs on which Node.js',
      labelNames: ['version', 'node_version'],
      registers: [registry],
    }),
    sourceUp: new Gauge({
      name: 'eventline_source_up',
      help: 'Whether the source of a mesh is connected (1) or connecting, failing or stopped (0), by mesh and kind',
      labelNames: ['mesh', 'kind'],
      registers: [registry],
      collect() {
        const read = metrics.readSources
        if (!read) return
        this.reset()
        for (const { mesh, kind, up } of read()) this.set({ mesh, kind }, up ? 1 : 0)
      },
    }),
    sourceLastEvent: new Gauge({
      name: 'eventline_source_last_event_timestamp_seconds',
      help: 'When events of the mesh were last stored (Unix time in seconds), by mesh',
      labelNames: ['mesh'],
      registers: [registry],
    }),
    eventsIngested: new Counter({
      name: 'eventline_events_ingested_total',
      help: 'Events written to the store (inserts and updates), by source',
      labelNames: ['source'],
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'eventline_events_rejected_total',
      help: 'Malformed events or registry data skipped, by source and reason',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    batchWriteSeconds: new Histogram({
      name: 'eventline_batch_write_seconds',
      help: 'Latency of one batched store write (one transaction)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    storeCallSeconds: new Histogram({
      name: 'eventline_store_call_seconds',
      help: 'Store calls on the SQLite threads by role (reader, writer) and stage: wait for a free reader, run inside the thread, hop between threads',
      labelNames: ['role', 'stage'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    writeWaitSeconds: new Histogram({
      name: 'eventline_write_wait_seconds',
      help: 'Time a publication waits in the batched writer before its batch goes to the store',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    writeQueueDepth: new Gauge({
      name: 'eventline_write_queue_events',
      help: 'Events published and waiting for the batched writer',
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: 'eventline_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsPurged: new Counter({
      name: 'eventline_events_purged_total',
      help: 'Events deleted by retention',
      registers: [registry],
    }),
    eventsFiltered: new Counter({
      name: 'eventline_events_filtered_total',
      help: 'Events the ingestion filter of eventline.yaml dropped before they were stored, by source',
      labelNames: ['source'],
      registers: [registry],
    }),
    alertNotices: new Counter({
      name: 'eventline_alert_notices_total',
      help: 'Alert notices queued for their sink, by rule and kind (first, summary)',
      labelNames: ['rule', 'kind'],
      registers: [registry],
    }),
    liveStreams: new Gauge({
      name: 'eventline_live_streams',
      help: 'Open live streams (GET /api/v1/events/stream)',
      registers: [registry],
    }),
    liveStreamsCutOff: new Counter({
      name: 'eventline_live_streams_cut_off_total',
      help: 'Live streams disconnected because the client did not keep up',
      registers: [registry],
    }),
    sinkSent: new Counter({
      name: 'eventline_sink_sent_total',
      help: 'Outbox entries (events and alert notices) a sink accepted, by sink',
      labelNames: ['sink'],
      registers: [registry],
    }),
    sinkFailed: new Counter({
      name: 'eventline_sink_failed_total',
      help: 'Outbox entries in send attempts that failed, by sink; each retry counts again',
      labelNames: ['sink'],
      registers: [registry],
    }),
    sinkDropped: new Counter({
      name: 'eventline_sink_dropped_total',
      help: 'Outbox entries given up on, by sink and reason (purged: the event left retention first; rejected: the sink refused it)',
      labelNames: ['sink', 'reason'],
      registers: [registry],
    }),
    sinkPending: new Gauge({
      name: 'eventline_sink_pending',
      help: 'Outbox entries waiting for delivery, by sink (read from the outbox at scrape time)',
      labelNames: ['sink'],
      registers: [registry],
      async collect() {
        const read = metrics.readSinkPending
        if (!read) return
        try {
          const pending = await read()
          this.reset()
          for (const [sink, count] of pending) this.set({ sink }, count)
        } catch {
          // The store is closing: keep the last figures rather than fail the whole scrape.
        }
      },
    }),
    leader: new Gauge({
      name: 'eventline_leader',
      help: 'Whether this replica is the leader (runs the sources, retention, sink deliveries and alerting): 1 or 0',
      registers: [registry],
    }),
    fencedWrites: new Counter({
      name: 'eventline_fenced_writes_total',
      help: 'Leader writes refused because this replica no longer held the lease',
      registers: [registry],
    }),
  }
  metrics.buildInfo.set({ version: VERSION, node_version: process.version }, 1)
  return metrics
}
