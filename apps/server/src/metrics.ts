/** Prometheus metrics (`GET /metrics`). One registry per app instance, so tests stay isolated. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface Metrics {
  registry: Registry
  eventsIngested: Counter<'source'>
  eventsRejected: Counter<'source' | 'reason'>
  batchWriteSeconds: Histogram
  writeQueueDepth: Gauge
  httpRequestSeconds: Histogram<'method' | 'route' | 'status'>
  eventsPurged: Counter
  liveStreams: Gauge
  liveStreamsCutOff: Counter
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'eventline_' })
  return {
    registry,
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
  }
}
