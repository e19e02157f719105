/**
 * The live stream (`GET /api/v1/events/stream`): Server-Sent Events of new and updated events that
 * match a timeline's filters. Each frame's `id` is the store sequence, so a client that reconnects
 * with `Last-Event-ID` is replayed from the store what it missed, then continues live, without a
 * gap or a repeat. A client that cannot keep up is cut off (with a `retry:` hint) rather than
 * allowed to grow the server's memory.
 */
import type { Response } from 'express'
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { EventStore, StoredEvent, TimelineFilter } from '../store/types.ts'
import { streamFilter } from './streamFilter.ts'

export interface StreamOptions {
  /** Concurrent streams served; more are refused with 503 (default 100). */
  maxStreams?: number
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number
  /** Bytes a client may leave unread before it is cut off (default 1 MiB). */
  maxBufferedBytes?: number
  /** Live events held for a client while its replay runs, before it is cut off (default 10,000). */
  maxPendingEvents?: number
  /** Reconnect delay suggested to clients, and to a client that was cut off (ms, default 3 s / 10 s). */
  retryMs?: number
  cutOffRetryMs?: number
}

const REPLAY_BATCH = 500

export class StreamLimitError extends Error {
  constructor(readonly limit: number) {
    super(`too many live streams (limit ${limit}); retry later`)
  }
}

/** One connected client. */
class StreamClient {
  private lastSent: number
  private pending: StoredEvent[] | undefined
  private closed = false

  constructor(
    private readonly res: Response,
    private readonly matches: (event: StoredEvent) => boolean,
    private readonly options: Required<StreamOptions>,
    private readonly onCutOff: (reason: string) => void,
    resumeAfter: number | undefined,
  ) {
    this.lastSent = resumeAfter ?? 0
    // While the store replays what the client missed, live events wait here, in order.
    this.pending = resumeAfter === undefined ? undefined : []
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Live events, in sequence order, as the writer committed them. */
  deliver(events: readonly StoredEvent[]): void {
    if (this.closed) return
    if (this.pending) {
      for (const event of events) if (this.matches(event)) this.pending.push(event)
      if (this.pending.length > this.options.maxPendingEvents) this.cutOff(`more than ${this.options.maxPendingEvents} live events queued during the replay`)
      return
    }
    // Judged between batches: what a client left unread since the last one. Within one batch the
    // socket cannot drain, so a batch may overshoot the limit once; one writer batch bounds it.
    if (this.res.writableLength > this.options.maxBufferedBytes) return this.cutOff(`more than ${this.options.maxBufferedBytes} bytes unread`)
    for (const event of events) this.send(event)
  }

  /** Replays events after the client's `Last-Event-ID` from the store, then the live ones that waited. */
  async replay(store: EventStore): Promise<void> {
    let after = this.lastSent
    for (;;) {
      const batch = await store.eventsAfter(after, REPLAY_BATCH)
      for (const event of batch) {
        if (this.closed) return
        after = event.seq
        this.send(event)
        // Replay goes at the client's pace: wait for the socket to drain rather than buffer it all.
        if (this.res.writableNeedDrain) await new Promise((resolve) => this.res.once('drain', resolve).once('close', resolve))
      }
      if (batch.length < REPLAY_BATCH) break
    }
    const waiting = this.pending ?? []
    this.pending = undefined
    for (const event of waiting) this.send(event)
  }

  heartbeat(): void {
    if (!this.closed) this.res.write(': heartbeat\n\n')
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.res.end()
  }

  private send(event: StoredEvent): void {
    // A replayed event may also have arrived live (or the reverse): each sequence goes out once.
    if (this.closed || event.seq <= this.lastSent || !this.matches(event)) return
    this.lastSent = event.seq
    this.res.write(`event: event\nid: ${event.seq}\ndata: ${JSON.stringify(event.item)}\n\n`)
  }

  private cutOff(reason: string): void {
    if (this.closed) return
    this.res.write(`retry: ${this.options.cutOffRetryMs}\n\n`)
    this.close()
    // end() waits for the unread bytes; a client that does not read them is dropped.
    setTimeout(() => this.res.destroy(), 5000).unref()
    this.onCutOff(reason)
  }
}

export class StreamService {
  private readonly clients = new Set<StreamClient>()
  private readonly options: Required<StreamOptions>
  private readonly unsubscribe: () => void
  private readonly heartbeat: NodeJS.Timeout

  constructor(
    private readonly store: EventStore,
    /** Where committed events come from: the in-process bus, or the database's live feed (replicas). */
    bus: Pick<EventBus, 'onStored'>,
    private readonly log: Logger,
    private readonly metrics: Pick<Metrics, 'liveStreams' | 'liveStreamsCutOff'>,
    options: StreamOptions = {},
  ) {
    this.options = {
      maxStreams: 100,
      heartbeatMs: 15_000,
      maxBufferedBytes: 1 << 20,
      maxPendingEvents: 10_000,
      retryMs: 3000,
      cutOffRetryMs: 10_000,
      ...options,
    }
    this.unsubscribe = bus.onStored((events) => {
      for (const client of this.clients) client.deliver(events)
    })
    this.heartbeat = setInterval(() => {
      for (const client of this.clients) client.heartbeat()
    }, this.options.heartbeatMs)
    this.heartbeat.unref()
  }

  get size(): number {
    return this.clients.size
  }

  /**
   * Serves one stream on `res` until the client goes away. Throws {@link StreamLimitError} before
   * writing anything when the limit is reached.
   */
  async open(res: Response, filter: TimelineFilter, lastEventId: number | undefined): Promise<void> {
    if (this.clients.size >= this.options.maxStreams) throw new StreamLimitError(this.options.maxStreams)
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back.
      'X-Accel-Buffering': 'no',
    })
    res.write(`retry: ${this.options.retryMs}\n\n`)
    const cutOff = (reason: string) => {
      this.metrics.liveStreamsCutOff.inc()
      this.log.warn('live stream cut off', { reason })
    }
    const client = new StreamClient(res, streamFilter(filter), this.options, cutOff, lastEventId)
    this.clients.add(client)
    this.metrics.liveStreams.set(this.clients.size)
    res.once('close', () => {
      this.clients.delete(client)
      this.metrics.liveStreams.set(this.clients.size)
      client.close()
    })
    if (lastEventId !== undefined) {
      try {
        await client.replay(this.store)
      } catch (error) {
        this.log.error('live stream replay failed', { error: error instanceof Error ? error.message : String(error) })
        client.close()
      }
    }
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.heartbeat)
    this.unsubscribe()
    for (const client of this.clients) client.close()
    this.clients.clear()
    this.metrics.liveStreams.set(0)
  }
}
