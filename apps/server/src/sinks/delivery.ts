/**
 * At-least-once delivery: one loop per sink reads its pending outbox entries in order, sends a
 * batch, and deletes what the sink accepted. A failure keeps the entries and backs off; a restart
 * resumes from the outbox. Nothing is deleted before the sink confirmed it, so an entry is lost
 * only when it is dropped on purpose (its event purged by retention, or refused by the sink
 * repeatedly), and both are counted and logged.
 *
 * Duplicates happen, and only in these cases: a send the sink completed but whose confirmation did
 * not arrive (a timeout, a connection cut after the request, a shutdown that abandoned the send),
 * or a crash between the sink's confirmation and the outbox delete. The entries are then sent
 * again. NATS drops those repeats itself (`Nats-Msg-Id` within the stream's duplicate window);
 * a webhook receiver sees them and can recognise them by event `id` and `count`.
 */
import { backoffDelay } from '../backoff.ts'
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { EventStore, PendingEntry } from '../store/types.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { Delivery, RetrySettings, SendOutcome, Sink } from './sink.ts'

export interface DeliveryTuning {
  /** Backoff of sinks whose configuration has none (NATS); default 500 ms doubling up to 30 s. */
  retry?: RetrySettings
  /** Without a nudge, how often an idle loop looks at the outbox anyway (default 30 s). */
  idlePollMs?: number
  /** How long `stop()` lets an in-flight send finish before abandoning it (default 5 s). */
  stopGraceMs?: number
  /** Refusals of one entry by the sink (see `SinkError.rejected`) before it is dropped (default 3). */
  maxRejections?: number
  /**
   * Entries of a sink no longer configured are kept (a start without its configuration must not
   * wipe them) until they are older than this, the event retention (default 14 days).
   */
  retentionMs?: number
  /**
   * Where each sink is configured (`eventline.yaml: sinks[1] (line 12)`), by name: every log line
   * of its loop names it, so "sink unavailable" at start points at the entry to check.
   */
  locations?: Readonly<Record<string, string>>
}

const DEFAULT_RETRY: RetrySettings = { initialMs: 500, maxMs: 30_000 }

/** The delivery loop of one sink. */
export class DeliveryLoop {
  private readonly retry: RetrySettings
  private readonly idlePollMs: number
  private readonly stopGraceMs: number
  private readonly maxRejections: number
  private batchLimit: number
  /** Consecutive failed attempts; 0 while the sink is healthy. */
  private failures = 0
  /** Refusals per entry seq, while the loop narrows a refused batch down. */
  private readonly rejections = new Map<number, number>()
  private nudged = false
  private wake: (() => void) | undefined
  private wakeOnNudge = false
  private inflight: AbortController | undefined
  private stopping = false
  private running: Promise<void> | undefined

  constructor(
    private readonly sink: Sink,
    private readonly store: EventStore,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    tuning: DeliveryTuning = {},
  ) {
    this.retry = sink.retry ?? tuning.retry ?? DEFAULT_RETRY
    this.idlePollMs = tuning.idlePollMs ?? 30_000
    this.stopGraceMs = tuning.stopGraceMs ?? 5_000
    this.maxRejections = tuning.maxRejections ?? 3
    this.batchLimit = sink.maxBatch
  }

  start(): void {
    this.running ??= this.run()
  }

  /** New entries for this sink were committed: look now rather than at the next poll. */
  nudge(): void {
    this.nudged = true
    if (this.wakeOnNudge) this.wake?.()
  }

  /**
   * Stops the loop. An in-flight send gets `stopGraceMs` to finish (its delivered entries are then
   * deleted as usual); after that it is aborted and its entries stay for the next start.
   */
  async stop(): Promise<void> {
    this.stopping = true
    this.wake?.()
    const grace = setTimeout(() => this.inflight?.abort(new Error('Eventline is stopping')), this.stopGraceMs)
    // A sink that ignores the abort must not hold up shutdown: the entries stay in the outbox anyway.
    let bound: NodeJS.Timeout | undefined
    await Promise.race([this.running, new Promise((resolve) => (bound = setTimeout(resolve, this.stopGraceMs + 2_000)))])
    clearTimeout(grace)
    clearTimeout(bound)
  }

  private async run(): Promise<void> {
    let lingered = false
    while (!this.stopping) {
      // Opened first, before the outbox is read: a sink that cannot open is reported at start
      // even when nothing is waiting for it.
      try {
        await this.sink.open()
      } catch (error) {
        await this.failed(new SinkError(reasonOf(error)))
        continue
      }
      this.nudged = false
      let entries: PendingEntry[]
      try {
        entries = await this.store.pendingOutbox(this.sink.name, this.batchLimit)
      } catch (error) {
        if (this.stopping) break
        this.log.error('reading the outbox failed', { sink: this.sink.name, error })
        await this.sleep(this.retry.maxMs, false)
        continue
      }
      if (entries.length === 0) {
        // Open and nothing to send: the sink is back (a NATS outage at start that ended while the
        // outbox was empty), so the next outage is reported as new and backs off from the start.
        if (this.failures > 0) this.succeeded()
        if (!this.nudged) await this.sleep(this.idlePollMs, true)
        continue
      }
      // Batching by time: a sink that prefers fuller requests (Loki) gets one wait for more.
      if (!lingered && entries.length < this.batchLimit && (this.sink.batchWaitMs ?? 0) > 0 && this.failures === 0) {
        lingered = true
        await this.sleep(this.sink.batchWaitMs!, false)
        continue
      }
      lingered = false
      await this.deliver(entries)
    }
  }

  private async deliver(entries: readonly PendingEntry[]): Promise<void> {
    const purged: number[] = []
    const items: Delivery[] = []
    for (const entry of entries) {
      if ('alert' in entry) items.push({ seq: entry.seq, alert: entry.alert })
      else if (entry.event) items.push({ seq: entry.seq, event: entry.event })
      else purged.push(entry.seq)
    }
    if (purged.length > 0) {
      // Retention removed the event before the sink got it: there is nothing left to send.
      this.metrics.sinkDropped.inc({ sink: this.sink.name, reason: 'purged' }, purged.length)
      this.log.warn('dropped outbox entries whose events retention purged before delivery', { sink: this.sink.name, entries: purged.length })
    }
    const outcome = items.length > 0 ? await this.send(items) : { delivered: 0 }
    const delivered = items.slice(0, outcome.delivered).map(({ seq }) => seq)
    if (!(await this.remove([...purged, ...delivered]))) return
    if (delivered.length > 0) this.metrics.sinkSent.inc({ sink: this.sink.name }, delivered.length)
    if (outcome.discarded && outcome.discarded.count > 0) {
      const { reason, count, detail } = outcome.discarded
      this.metrics.sinkDropped.inc({ sink: this.sink.name, reason }, count)
      this.log.warn('the sink accepted a request but discarded some of its entries', { sink: this.sink.name, reason, entries: count, detail })
    }
    if (!outcome.error) {
      if (delivered.length > 0) this.succeeded()
      return
    }
    const failed = Math.min(Math.max(outcome.failed ?? 1, 1), items.length - outcome.delivered)
    this.metrics.sinkFailed.inc({ sink: this.sink.name }, failed)
    if (this.stopping) return // an abandoned send on shutdown: the entries stay for the next start
    if (outcome.error.rejected) {
      if (failed > 1) {
        // One request of several items was refused: halve it until the refused item stands alone,
        // so one bad entry neither blocks the queue nor takes the good ones down with it.
        this.batchLimit = Math.max(1, Math.floor(failed / 2))
        return
      }
      const item = items[outcome.delivered]!
      const refusals = (this.rejections.get(item.seq) ?? 0) + 1
      if (refusals >= this.maxRejections) {
        this.rejections.delete(item.seq)
        if (!(await this.remove([item.seq]))) return
        this.metrics.sinkDropped.inc({ sink: this.sink.name, reason: 'rejected' })
        this.log.error('sink refused an entry repeatedly; dropped it', {
          sink: this.sink.name,
          attempts: refusals,
          ...('event' in item ? { event: item.event.id } : { alert: item.alert.rule }),
          reason: outcome.error.message,
        })
        return
      }
      this.rejections.set(item.seq, refusals)
    }
    await this.failed(outcome.error)
  }

  /** Sends, never throwing, with a signal `stop()` aborts once its grace is over. */
  private async send(items: readonly Delivery[]): Promise<SendOutcome> {
    const controller = new AbortController()
    this.inflight = controller
    try {
      return await this.sink.send(items, controller.signal)
    } catch (error) {
      return { delivered: 0, error: new SinkError(reasonOf(error)), failed: items.length }
    } finally {
      this.inflight = undefined
    }
  }

  /** Deletes entries; false when the store refused (they will be sent again: at least once). */
  private async remove(seqs: number[]): Promise<boolean> {
    try {
      await this.store.deleteOutbox(this.sink.name, seqs)
      return true
    } catch (error) {
      if (!this.stopping) this.log.error('deleting delivered outbox entries failed; they will be sent again', { sink: this.sink.name, error })
      await this.sleep(this.retry.maxMs, false)
      return false
    }
  }

  private succeeded(): void {
    if (this.failures > 0) this.log.info('sink recovered', { sink: this.sink.name, failedAttempts: this.failures })
    this.failures = 0
    this.batchLimit = this.sink.maxBatch
    this.rejections.clear()
  }

  /** Logs the failure (the first of a run as an error) and waits out the backoff. */
  private async failed(error: SinkError): Promise<void> {
    if (this.stopping) return
    this.failures++
    const context = { sink: this.sink.name, reason: error.message, attempt: this.failures }
    if (this.failures === 1) this.log.error('sink unavailable; its entries stay in the outbox and are retried', context)
    else this.log.warn('sink still unavailable', context)
    await this.sleep(this.backoffMs(error), false)
  }

  /** Exponential backoff with jitter (half fixed, half random), capped at `maxMs`; a `Retry-After` wins. */
  private backoffMs(error: SinkError): number {
    if (error.retryAfterMs !== undefined) return Math.min(this.retry.maxMs, Math.max(error.retryAfterMs, this.retry.initialMs))
    return backoffDelay(this.failures - 1, this.retry, Math.random, 0.5)
  }

  /** Waits `ms`, or less when stopping (or on a nudge when `onNudge`). */
  private sleep(ms: number, onNudge: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        this.wakeOnNudge = false
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
      this.wakeOnNudge = onNudge
    })
  }
}

/** Throws when two sinks share a name: outbox entries name their sink, so names must be unique. */
export function checkSinkNames(sinks: ReadonlyArray<{ name: string }>): void {
  const names = sinks.map(({ name }) => name)
  const repeated = names.find((name, index) => names.indexOf(name) !== index)
  if (repeated !== undefined) throw new Error(`two sinks are named ${repeated}; sink names must be unique`)
}

/** Every sink's delivery loop, started after the store opens and stopped before it closes. */
export class SinkDeliveries {
  private readonly loops = new Map<string, DeliveryLoop>()
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly sinks: readonly Sink[],
    private readonly store: EventStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly tuning: DeliveryTuning = {},
  ) {
    checkSinkNames(sinks)
  }

  /**
   * Starts one loop per sink. Entries of a sink that is not configured are kept, so a start with
   * a missing or mistaken configuration loses nothing and the sink resumes when it is configured
   * again; those older than the retention are discarded, so a removed or renamed sink does not keep
   * them forever (their events are purged by then anyway).
   */
  async start(): Promise<void> {
    const names = new Set(this.sinks.map(({ name }) => name))
    const retentionMs = this.tuning.retentionMs ?? 14 * 86_400_000
    for (const [sink, pending] of await this.store.outboxCounts()) {
      if (names.has(sink)) continue
      const discarded = await this.store.discardOutbox(sink, Date.now() - retentionMs)
      this.log.warn('outbox entries for a sink that is not configured: kept until they are older than the retention', {
        sink,
        kept: pending - discarded,
        discarded,
      })
    }
    for (const sink of this.sinks) {
      // Zero rather than absent, so a dashboard shows every configured sink from the start.
      this.metrics.sinkSent.inc({ sink: sink.name }, 0)
      this.metrics.sinkFailed.inc({ sink: sink.name }, 0)
      const location = this.tuning.locations?.[sink.name]
      const loop = new DeliveryLoop(sink, this.store, location ? this.log.child({ config: location }) : this.log, this.metrics, this.tuning)
      this.loops.set(sink.name, loop)
      loop.start()
    }
    this.metrics.readSinkPending = async () => {
      const counts = await this.store.outboxCounts()
      return new Map(this.sinks.map(({ name }) => [name, counts.get(name) ?? 0]))
    }
    this.unsubscribe = this.bus.onOutbox((sinks) => {
      for (const name of sinks) this.loops.get(name)?.nudge()
    })
  }

  /** Stops every loop (see `DeliveryLoop.stop`) and closes the sinks. */
  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.metrics.readSinkPending = undefined
    await Promise.all([...this.loops.values()].map((loop) => loop.stop()))
    await Promise.all(
      this.sinks.map(async (sink) => {
        try {
          await sink.close()
        } catch (error) {
          this.log.warn('closing a sink failed', { sink: sink.name, error })
        }
      }),
    )
  }
}
