/**
 * The live feed of a replica on PostgreSQL: every committed event, whoever wrote it, read from
 * the `seq` index in order. `NOTIFY` (sent by each committing batch) is only the wake-up; the
 * index is the source of truth, so a lost notice (the listening connection broke) costs latency,
 * never an event: after each reconnection, and every `pollMs` as a backstop, the feed reads what
 * follows the last seq it emitted. Store sequences become visible in commit order (see pgStore),
 * so reading "after the last seq" skips nothing.
 *
 * It offers `onStored` as the in-process bus does, so the live stream serves from either.
 */
import type { StoredListener } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { EventStore, ReplicaStore } from '../store/types.ts'

const READ_BATCH = 1000

export interface LiveFeedOptions {
  /** A read even without a notice, in case one was lost without the connection breaking (default 5 s). */
  pollMs?: number
}

export class LiveFeed {
  private readonly listeners = new Set<StoredListener>()
  private last = 0
  private reading: Promise<void> | undefined
  private again = false
  private closed = false
  private unlisten: (() => Promise<void>) | undefined
  private poll: NodeJS.Timeout | undefined

  constructor(
    private readonly store: EventStore,
    private readonly replicas: ReplicaStore,
    private readonly log: Logger,
    private readonly options: LiveFeedOptions = {},
  ) {}

  /** Starts after the newest committed event: a stream replays older ones from `Last-Event-ID`. */
  async start(): Promise<void> {
    this.last = await this.replicas.lastSeq()
    this.unlisten = await this.replicas.listen(() => this.wake())
    this.poll = setInterval(() => this.wake(), this.options.pollMs ?? 5_000)
    this.poll.unref()
  }

  onStored(listener: StoredListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Reads what follows the last emitted seq; a wake during a read runs one more read after it. */
  private wake(): void {
    if (this.closed) return
    if (this.reading) {
      this.again = true
      return
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined
      if (this.again) {
        this.again = false
        this.wake()
      }
    })
  }

  private async read(): Promise<void> {
    try {
      for (;;) {
        const events = await this.store.eventsAfter(this.last, READ_BATCH)
        if (events.length === 0 || this.closed) return
        this.last = events.at(-1)!.seq
        for (const listener of this.listeners) {
          try {
            listener(events)
          } catch (error) {
            this.log.error('a live feed listener failed', { error })
          }
        }
        if (events.length < READ_BATCH) return
      }
    } catch (error) {
      // The next notice or poll retries from the same seq.
      this.log.warn('reading the live feed failed', { error })
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.poll)
    await this.unlisten?.()
    await this.reading
  }
}
