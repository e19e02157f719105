/**
 * Retention: deletes events whose last occurrence is older than the retention, in small batches
 * with a pause between them, so a large purge never holds the database for more than a few ms.
 */
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { EventStore } from '../store/types.ts'

export interface RetentionOptions {
  retentionMs: number
  intervalMs?: number
  batchSize?: number
  now?: () => number
}

export class Retention {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  private stopped = false

  constructor(
    private readonly store: EventStore,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: RetentionOptions,
  ) {}

  start(): void {
    const interval = this.options.intervalMs ?? 60_000
    const tick = () => {
      void this.purge().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, interval).unref()
      })
    }
    this.timer = setTimeout(tick, 1_000).unref()
  }

  /** Purges everything past retention now; resolves with the number of events deleted. */
  purge(): Promise<number> {
    this.running ??= this.purgeAll().finally(() => (this.running = undefined))
    return this.running
  }

  private async purgeAll(): Promise<number> {
    const batchSize = this.options.batchSize ?? 500
    const cutoff = (this.options.now ?? Date.now)() - this.options.retentionMs
    let total = 0
    try {
      for (;;) {
        const deleted = await this.store.purgeBefore(cutoff, batchSize)
        total += deleted
        this.metrics.eventsPurged.inc(deleted)
        if (deleted < batchSize || this.stopped) break
        await new Promise((resolve) => setImmediate(resolve)) // let queries and writes in between
      }
      if (total > 0) this.log.info('retention purged events', { deleted: total, before: new Date(cutoff).toISOString() })
    } catch (error) {
      this.log.error('retention purge failed', { error })
    }
    return total
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }
}
