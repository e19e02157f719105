/**
 * Alerts of `eventline.yaml`: every committed event goes through the alert grouper, and the notices
 * it gives (a group's first occurrence at once, its summary when the window closes) are published
 * into the outbox, from where the sink's delivery loop sends them at least once.
 *
 * Known limitation: a notice is queued in the batch after the one that stored its event, and open
 * groups live in memory. A crash in the ~100 ms between the two loses that notice, and a restart
 * forgets open groups (the next occurrence after it opens a new group and alerts again): a
 * duplicate page is preferred to a lost one.
 */
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { AlertGrouper } from '../rules/alertGrouper.ts'
import type { AlertNotice } from '../sinks/types.ts'
import type { IngestEvent, StoredEvent } from '../store/types.ts'

export interface AlertingOptions {
  /** How often closed windows are looked for, to send their summaries (default 5 s). */
  flushIntervalMs?: number
}

export class Alerting {
  private readonly timer: NodeJS.Timeout | undefined
  private readonly publishing = new Set<Promise<void>>()

  constructor(
    private readonly grouper: AlertGrouper,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    options: AlertingOptions = {},
  ) {
    if (grouper.ruleCount === 0) return
    this.timer = setInterval(() => this.queue(this.grouper.flush(Date.now())), options.flushIntervalMs ?? 5_000)
    this.timer.unref()
  }

  /** The writer's commit hook: what the write changed, with the events as their source published them. */
  readonly observe = (stored: readonly StoredEvent[], published: ReadonlyMap<string, IngestEvent>): void => {
    if (this.grouper.ruleCount === 0) return
    const now = Date.now()
    const notices: AlertNotice[] = []
    for (const { item } of stored) {
      const event = published.get(item.id)
      if (event) notices.push(...this.grouper.observe(event, item, now))
    }
    this.queue(notices)
  }

  private queue(notices: readonly AlertNotice[]): void {
    if (notices.length === 0) return
    for (const notice of notices) this.metrics.alertNotices.inc({ rule: notice.rule, kind: notice.kind })
    const published = this.bus
      .publish({ outbox: notices.map((notice) => ({ sink: notice.sink, alert: notice })), fenced: true })
      .catch((error: unknown) => this.log.error('queueing alert notices failed', { notices: notices.length, error }))
      .finally(() => this.publishing.delete(published))
    this.publishing.add(published)
  }

  /**
   * Stops the timer and queues the summaries of windows that have closed; call before the writer's
   * last flush. Groups still open are forgotten (see the module comment).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.queue(this.grouper.flush(Date.now()))
    await Promise.all(this.publishing)
  }
}
