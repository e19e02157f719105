/**
 * The live stream (`GET /api/v1/events/stream`): Server-Sent Events of new and updated events that
 * match a timeline's filters. Each frame's `id` is the store sequence, so a client that reconnects
 * with `Last-Event-ID` is replayed from the store what it missed, then continues live, without a
 * gap or a repeat.
 *
 * Memory is bounded by design, however many readers stall:
 * - an event's frame (`event:`, `id:`, `data:` JSON) is serialised once, into one Buffer that every
 *   stream carrying it writes (cached per stored event): a hundred readers hold references to the
 *   same bytes, not a hundred copies;
 * - a client whose unread bytes pass `maxBufferedBytes` is cut off at the write that passed it (with
 *   a `retry:` hint), not at the next batch, so one batch cannot pile up behind a paused socket;
 * - a replay goes at the client's pace (it waits for the socket to drain).
 *
 * `Last-Event-ID` ahead of the store (a database restored from a backup, or another server's id):
 * treated as a reset. The store's newest sequence is read before the client is subscribed and the
 * stream resumes from there: everything written after that point is sent, nothing is skipped.
 * Without this, the client's id would hide every new event numbered below it. What the client saw
 * of the old numbering and the restored store lacks cannot be told apart, so it is not replayed.
 *
 * Known limits (candidly): events queued for a client while its replay runs are bounded by count
 * (`maxPendingEvents`), not bytes, but they are the bus's shared objects, not copies.
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
  /**
   * Bytes a client may leave unread before it is cut off, checked at every write (default 4 MiB).
   * A reader that keeps up still receives a whole writer batch at once, so this must exceed one
   * batch's frames; frames are shared between streams, so the bound costs little real memory.
   */
  maxBufferedBytes?: number
  /** Live events held for a client while its replay runs, before it is cut off (default 10,000). */
  maxPendingEvents?: number
  /** Reconnect delay suggested to clients, and to a client that was cut off (ms, default 3 s / 10 s). */
  retryMs?: number
  cutOffRetryMs?: number
}

const REPLAY_BATCH = 500

/** Serialised frames by stored event: built on first use, shared by every stream that sends it. */
const frames = new WeakMap<StoredEvent, Buffer>()

/** The SSE frame of `event`, built once per stored event however many streams carry it. */
export function eventFrame(event: StoredEvent): Buffer {
  let frame = frames.get(event)
  if (frame === undefined) {
    frame = Buffer.from(`event: event\nid: ${event.seq}\ndata: ${JSON.stringify(event.item)}\n\n`)
    frames.set(event, frame)
  }
  return frame
}

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
    // `send` cuts the client off at the write that passes the limit; the rest of the batch is dropped.
    for (const event of events) {
      if (this.closed) return
      this.send(event)
    }
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
    if (this.closed) return
    this.res.write(': heartbeat\n\n')
    this.checkUnread()
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
    this.res.write(eventFrame(event))
    this.checkUnread()
  }

  /** Cuts the client off as soon as what it left unread passes the limit. */
  private checkUnread(): void {
    if (this.res.writableLength > this.options.maxBufferedBytes) this.cutOff(`more than ${this.options.maxBufferedBytes} bytes unread`)
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
      maxBufferedBytes: 4 << 20,
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
    let resumeAfter = lastEventId
    if (lastEventId !== undefined) {
      // Read before subscribing: every event written after this point is either replayed or live.
      const head = await this.store.latestSeq()
      if (lastEventId > head) {
        this.log.info('Last-Event-ID is ahead of the store; resuming from its newest event', { lastEventId, head })
        resumeAfter = head
      }
      if (this.clients.size >= this.options.maxStreams) throw new StreamLimitError(this.options.maxStreams)
      // The client may have gone while the store answered; its 'close' has then already fired.
      if (res.socket === null || res.socket.destroyed) return
    }
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
    const client = new StreamClient(res, streamFilter(filter), this.options, cutOff, resumeAfter)
    this.clients.add(client)
    this.metrics.liveStreams.set(this.clients.size)
    res.once('close', () => {
      this.clients.delete(client)
      this.metrics.liveStreams.set(this.clients.size)
      client.close()
    })
    if (resumeAfter !== undefined) {
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
