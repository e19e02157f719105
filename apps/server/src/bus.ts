/**
 * The in-process bus. Every source publishes normalised events (with the catalog changes and
 * checkpoints they advance) here; the batched writer is the one consumer that persists them, and
 * whatever reacts to stored events (live stream, sinks, alerts) subscribes to `stored`.
 */
import type { OutboxEntry } from './sinks/types.ts'
import type { CatalogChange, Checkpoint, IngestEvent, StoredEvent } from './store/types.ts'

export interface Publication {
  events?: IngestEvent[]
  catalog?: CatalogChange[]
  /**
   * Source checkpoints (e.g. a watch's resourceVersion, a registry node's last known content),
   * stored in the same transaction; `null` deletes the key.
   */
  checkpoints?: Checkpoint[]
  /**
   * Deliveries for the sinks (alert notices), stored in the same transaction, so a crash either
   * keeps both the events and what they triggered or neither. Event entries come from the writer's
   * routing; a publisher adds them only to forward an event the routing would not.
   */
  outbox?: OutboxEntry[]
  /**
   * A write of the leader's role (sources, alert notices): it carries the lease epoch and is
   * refused once this replica no longer leads. Unset for writes any replica makes (`POST /events`).
   */
  fenced?: boolean
}

/** Resolves once the publication is durably stored; rejects if the write failed. */
export type IngestHandler = (publication: Publication) => Promise<void>
export type StoredListener = (events: readonly StoredEvent[]) => void
/** Told the sinks that got new outbox entries in a committed batch. */
export type OutboxListener = (sinks: ReadonlySet<string>) => void

export class EventBus {
  private ingestHandler: IngestHandler | undefined
  private readonly storedListeners = new Set<StoredListener>()
  private readonly outboxListeners = new Set<OutboxListener>()

  /** Publishes events; the promise resolves when they are stored. */
  publish(publication: Publication): Promise<void> {
    if (!this.ingestHandler) return Promise.reject(new Error('event bus has no writer attached'))
    return this.ingestHandler(publication)
  }

  /** Attaches the single persisting consumer (the batched writer). */
  attachWriter(handler: IngestHandler): void {
    if (this.ingestHandler) throw new Error('event bus already has a writer')
    this.ingestHandler = handler
  }

  /** Subscribes to events after they are stored; returns the unsubscribe function. */
  onStored(listener: StoredListener): () => void {
    this.storedListeners.add(listener)
    return () => this.storedListeners.delete(listener)
  }

  /** Called by the writer after each committed batch. A failing listener never affects others. */
  emitStored(events: readonly StoredEvent[]): void {
    for (const listener of this.storedListeners) {
      try {
        listener(events)
      } catch {
        // Listeners own their errors; the bus must keep delivering to the rest.
      }
    }
  }

  /** Subscribes to new outbox entries (the sinks' delivery loops); returns the unsubscribe function. */
  onOutbox(listener: OutboxListener): () => void {
    this.outboxListeners.add(listener)
    return () => this.outboxListeners.delete(listener)
  }

  /**
   * Called by the writer after a batch with outbox entries committed: a nudge, so delivery starts
   * at once instead of at the loops' next poll. Losing one loses no entry, only latency.
   */
  emitOutbox(sinks: ReadonlySet<string>): void {
    for (const listener of this.outboxListeners) {
      try {
        listener(sinks)
      } catch {
        // As for stored listeners: one failing listener must not starve the others.
      }
    }
  }
}
