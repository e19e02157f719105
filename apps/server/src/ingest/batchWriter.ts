/**
 * The batched writer: the bus's one persisting consumer. Publications queue up and are written
 * together in one transaction every `flushIntervalMs` or as soon as `maxBatchEvents` are waiting,
 * whichever comes first. Each publisher's promise settles when its events are committed.
 *
 * A batch whose write fails rejects every publication in it with the store's error (a POST answers
 * 503 `unavailable` for a full disk or a lock timeout; sources retry their publications): nothing of
 * it reaches live streams, alert grouping or sink nudges, which only ever see committed batches.
 */
import type { Publication } from '../bus.ts'
import { UnavailableError } from '../errors.ts'
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { Fence } from '../replica/fencing.ts'
import { FencedError, isFenced } from '../replica/fencing.ts'
import type { EventStore, IngestEvent, StoredEvent, WriteBatch } from '../store/types.ts'

export interface BatchWriterOptions {
  flushIntervalMs?: number
  maxBatchEvents?: number
  /**
   * The sinks each event is forwarded to (the routes). Runs on this thread before the batch goes
   * to the writer, and its outbox entries commit with the event. Must be fast and synchronous.
   */
  routeEvent?: (event: IngestEvent) => string[]
  /**
   * The ingestion filter of `eventline.yaml`: an event it refuses is counted and not stored (nor
   * forwarded, nor alerted); the publication's catalog changes and checkpoints still apply, so a
   * source does not read the same noise again. Must be fast and synchronous.
   */
  keep?: (event: IngestEvent) => boolean
  /**
   * Called after each commit with what the write changed (`stored`) and the events as published,
   * by id (the last of a batch wins, as in the store): alerts match on published fields the store
   * does not keep, such as pod labels. A throwing callback is logged, never fails the write.
   */
  onCommitted?: (stored: readonly StoredEvent[], published: ReadonlyMap<string, IngestEvent>) => void
  /**
   * Leadership: a batch of `fenced` publications carries the current epoch, or is refused without
   * a write when this replica does not lead. Fenced and unfenced publications never share a batch,
   * so a refused leader write never costs a `POST /events`. Default: always the leader.
   */
  fence?: Fence
}

interface Pending {
  publication: Publication
  size: number
  /** `performance.now()` when it was queued. */
  queuedAt: number
  resolve: () => void
  reject: (error: unknown) => void
}

export class BatchWriter {
  private readonly flushIntervalMs: number
  private readonly maxBatchEvents: number
  private readonly routeEvent: ((event: IngestEvent) => string[]) | undefined
  private readonly keep: ((event: IngestEvent) => boolean) | undefined
  private readonly onCommitted: BatchWriterOptions['onCommitted']
  private readonly fence: Fence | undefined
  private queue: Pending[] = []
  private queuedEvents = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private closed = false

  constructor(
    private readonly store: EventStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    options: BatchWriterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 100
    this.maxBatchEvents = options.maxBatchEvents ?? 1000
    this.routeEvent = options.routeEvent
    this.keep = options.keep
    this.onCommitted = options.onCommitted
    this.fence = options.fence
    bus.attachWriter((publication) => this.enqueue(publication))
  }

  private enqueue(publication: Publication): Promise<void> {
    // While the closing flush drains, what its commits cause (alert notices of the last events)
    // is still accepted: that drain writes it before close resolves.
    // Shutting down is an outage a client can wait out (503 with Retry-After), not a server error.
    if (this.closed && !this.flushing) return Promise.reject(new UnavailableError('the server is shutting down; the writer is closed'))
    return new Promise<void>((resolve, reject) => {
      const size = publication.events?.length ?? 0
      this.queue.push({ publication, size, resolve, reject, queuedAt: performance.now() })
      this.queuedEvents += size
      this.metrics.writeQueueDepth.set(this.queuedEvents)
      if (this.queuedEvents >= this.maxBatchEvents) this.schedule(0)
      else this.schedule(this.flushIntervalMs)
    })
  }

  private schedule(delayMs: number): void {
    if (this.flushing) return // the running flush re-schedules when it finishes
    if (this.timer && delayMs > 0) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, delayMs)
  }

  /** Writes everything queued so far, one batch (one transaction) after another. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined
      if (this.queue.length > 0) this.schedule(this.queuedEvents >= this.maxBatchEvents ? 0 : this.flushIntervalMs)
    })
    return this.flushing
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const taken = this.take()
      const batch: WriteBatch = { events: [], catalog: [], checkpoints: [], outbox: [] }
      // A watch publishes its resourceVersion with every event: only the last value per key matters.
      const checkpoints = new Map<string, string | null>()
      for (const { publication } of taken) {
        if (publication.events) {
          const events = this.filter(publication.events)
          batch.events.push(...events)
          this.route(events, batch)
        }
        if (publication.catalog) batch.catalog.push(...publication.catalog)
        for (const { key, value } of publication.checkpoints ?? []) checkpoints.set(key, value)
        if (publication.outbox) batch.outbox.push(...publication.outbox)
      }
      batch.checkpoints = [...checkpoints].map(([key, value]) => ({ key, value }))
      if (taken[0]!.publication.fenced && this.fence) {
        const epoch = this.fence.epoch()
        if (epoch === undefined) {
          const error = new FencedError(undefined)
          for (const pending of taken) pending.reject(error)
          continue
        }
        batch.fence = epoch
      }
      const stopTimer = this.metrics.batchWriteSeconds.startTimer()
      try {
        const stored = await this.store.writeBatch(batch)
        stopTimer()
        for (const { item } of stored) this.metrics.eventsIngested.inc({ source: item.source })
        this.delivered(taken)
        for (const pending of taken) pending.resolve()
        this.bus.emitStored(stored)
        this.committed(stored, batch.events)
        if (batch.outbox.length > 0) this.bus.emitOutbox(new Set(batch.outbox.map(({ sink }) => sink)))
      } catch (error) {
        stopTimer()
        if (isFenced(error)) {
          this.log.warn('a leader write was refused: this replica no longer leads', { events: batch.events.length, epoch: batch.fence })
          this.fence?.refused(batch.fence)
        } else this.log.error('batch write failed', { events: batch.events.length, error })
        for (const pending of taken) pending.reject(error)
      }
      // SQLite writes synchronously: let waiting HTTP requests run between two transactions.
      if (this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /**
   * `eventline_source_last_event_timestamp_seconds`: the meshes whose sources delivered events in
   * this batch, stored now. Events the ingestion filter dropped count too: the source delivered them.
   */
  private delivered(taken: readonly Pending[]): void {
    const now = Date.now() / 1000
    const meshes = new Set<string>()
    for (const { publication } of taken) for (const event of publication.events ?? []) meshes.add(event.mesh)
    for (const mesh of meshes) this.metrics.sourceLastEvent.set({ mesh }, now)
  }

  /** The events the ingestion filter keeps; the others are counted by source and dropped. */
  private filter(events: IngestEvent[]): IngestEvent[] {
    if (!this.keep) return events
    const keep = this.keep
    return events.filter((event) => {
      let kept: boolean
      try {
        kept = keep(event)
      } catch (error) {
        // A filter bug must neither lose the event nor stall the batch (its publishers would wait forever).
        this.log.error('the ingestion filter failed on an event; it is stored', { id: event.id, error })
        return true
      }
      if (kept) return true
      this.metrics.eventsFiltered.inc({ source: event.source })
      return false
    })
  }

  private committed(stored: readonly StoredEvent[], events: readonly IngestEvent[]): void {
    if (!this.onCommitted || stored.length === 0) return
    try {
      this.onCommitted(stored, new Map(events.map((event) => [event.id, event])))
    } catch (error) {
      this.log.error('a commit listener failed', { events: stored.length, error })
    }
  }

  /** Adds one outbox entry per (routed sink, event) to the batch. */
  private route(events: readonly IngestEvent[], batch: WriteBatch): void {
    if (!this.routeEvent) return
    for (const event of events) {
      let sinks: string[]
      try {
        sinks = this.routeEvent(event)
      } catch (error) {
        // A routing bug must not cost the event itself: store it, forward it nowhere, say so loudly.
        this.log.error('routing an event failed; it is stored but not forwarded', { id: event.id, error })
        continue
      }
      for (const sink of sinks) batch.outbox.push({ sink, eventId: event.id })
    }
  }

  /** Takes whole publications up to `maxBatchEvents` events (at least one publication), all fenced or none. */
  private take(): Pending[] {
    let count = 0
    let end = 0
    const fenced = this.queue[0]?.publication.fenced === true
    while (
      end < this.queue.length &&
      (end === 0 || (count + this.queue[end]!.size <= this.maxBatchEvents && (this.queue[end]!.publication.fenced === true) === fenced))
    ) {
      count += this.queue[end]!.size
      end++
    }
    const taken = this.queue.slice(0, end)
    this.queue = this.queue.slice(end)
    const now = performance.now()
    for (const pending of taken) this.metrics.writeWaitSeconds.observe((now - pending.queuedAt) / 1000)
    this.queuedEvents -= count
    this.metrics.writeQueueDepth.set(this.queuedEvents)
    return taken
  }

  /** Flushes what is queued and refuses further writes (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
  }
}
