/**
 * Alerts of `eventline.yaml`: every committed event goes through the alert grouper, and the notices
 * it gives (a group's first occurrence at once, its summary when the window closes) are published
 * into the outbox, from where the sink's delivery loop sends them at least once.
 *
 * Open groups are persisted as checkpoints (`#alerts:group:<key>`), written in the same fenced
 * transaction as the notices they cause, and restored when a replica starts leading (`resume`):
 * a failover or restart neither pages a group twice nor forgets its window. Only the leader
 * alerts; a replica that stops leading forgets its groups (`suspend`), the next leader has them.
 *
 * Known limitation: notices and group states are queued in the batch after the one that stored
 * their events. A crash in the ~100 ms between the two loses that notice and that group change
 * (the next occurrence may then open the group again and alert again): a duplicate page is
 * preferred to a lost one.
 */
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { AlertGrouper } from '../rules/alertGrouper.ts'
import type { AlertNotice } from '../sinks/types.ts'
import type { EventStore, IngestEvent, StoredEvent } from '../store/types.ts'

/** Checkpoint keys of persisted groups (no mesh is named with `#`, so no source's keys collide). */
const GROUP_PREFIX = '#alerts:group:'

export interface AlertingOptions {
  /** How often closed windows are looked for, to send their summaries (default 5 s). */
  flushIntervalMs?: number
  /** The clock alert windows run on (default `Date.now`); tests move it instead of waiting. */
  now?: () => number
}

export class Alerting {
  private readonly timer: NodeJS.Timeout | undefined
  private readonly publishing = new Set<Promise<void>>()
  private readonly now: () => number

  constructor(
    private readonly grouper: AlertGrouper,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    options: AlertingOptions = {},
  ) {
    this.now = options.now ?? Date.now
    if (grouper.ruleCount === 0) return
    this.timer = setInterval(() => this.queue(this.grouper.flush(this.now())), options.flushIntervalMs ?? 5_000)
    this.timer.unref()
  }

  /** The writer's commit hook: what the write changed, with the events as their source published them. */
  readonly observe = (stored: readonly StoredEvent[], published: ReadonlyMap<string, IngestEvent>): void => {
    if (this.grouper.ruleCount === 0) return
    const now = this.now()
    const notices: AlertNotice[] = []
    for (const { item } of stored) {
      const event = published.get(item.id)
      if (event) notices.push(...this.grouper.observe(event, item, now))
    }
    this.queue(notices)
  }

  /** Restores the persisted open groups: this replica starts alerting (it leads). */
  async resume(store: Pick<EventStore, 'readCheckpoints'>): Promise<void> {
    if (this.grouper.ruleCount === 0) return
    const stored = await store.readCheckpoints(GROUP_PREFIX)
    this.grouper.restore(new Map([...stored].map(([key, value]) => [decodeURIComponent(key), value])))
  }

  /** Forgets the open groups without notices: another replica leads and alerts from the persisted ones. */
  suspend(): void {
    this.grouper.forget()
  }

  private queue(notices: readonly AlertNotice[]): void {
    // Group keys hold NUL separators, which PostgreSQL text cannot: the checkpoint key is escaped.
    const checkpoints = this.grouper.takeChanges().map(({ key, value }) => ({ key: `${GROUP_PREFIX}${encodeURIComponent(key)}`, value }))
    if (notices.length === 0 && checkpoints.length === 0) return
    for (const notice of notices) this.metrics.alertNotices.inc({ rule: notice.rule, kind: notice.kind })
    const published = this.bus
      .publish({ outbox: notices.map((notice) => ({ sink: notice.sink, alert: notice })), checkpoints, fenced: true })
      .catch((error: unknown) => this.log.error('queueing alert notices failed', { notices: notices.length, error }))
      .finally(() => this.publishing.delete(published))
    this.publishing.add(published)
  }

  /**
   * Stops the timer and queues the summaries of windows that have closed; call before the writer's
   * last flush. Groups still open stay persisted for the next leader (see the module comment).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.queue(this.grouper.flush(this.now()))
    await Promise.all(this.publishing)
  }
}
