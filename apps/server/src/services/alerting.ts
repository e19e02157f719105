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
 * Two ways to see the committed events:
 * - One process (SQLite): the writer's commit hook (`observe`), as the events were published.
 * - Replicas (PostgreSQL, `follow`): `POST /events` commits on whichever replica received it, so
 *   the leader reads every committed event from the store in `seq` order, after the position it
 *   persisted (`#alerts:seq`), woken by the live feed. Each step writes the notices, the group
 *   changes and the new position in one fenced transaction, and the next step waits for it: a
 *   leader killed at any point leaves either all of a step or none of it, and the next leader
 *   repeats exactly what was not written. An event updated twice between two reads is observed
 *   once, in its latest state: the grouper counts occurrences by `count`, so nothing is lost.
 *   Pod labels (which rules may select on) are not stored: the leader remembers those of the
 *   events its own sources wrote until it has read them back; for other Kubernetes pod events
 *   (written by a previous leader that died before alerting on them) the pod's labels as last
 *   stored in the catalog stand in. Posted events never carry labels.
 *
 * Known limitation (SQLite, `observe`): notices and group states are queued in the batch after the
 * one that stored their events. A crash in the ~100 ms between the two loses that notice and that
 * group change (the next occurrence may then open the group again and alert again): a duplicate
 * page is preferred to a lost one.
 */
import type { EventItem } from '@eventline/shared'
import type { EventBus } from '../bus.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { isFenced } from '../replica/fencing.ts'
import type { AlertGrouper } from '../rules/alertGrouper.ts'
import type { AlertNotice } from '../sinks/types.ts'
import type { Checkpoint, EventStore, IngestEvent, StoredEvent } from '../store/types.ts'

/** Checkpoint keys of persisted groups (no mesh is named with `#`, so no source's keys collide). */
const GROUP_PREFIX = '#alerts:group:'
/** The store sequence up to which the leader has alerted (replicas only). */
export const ALERT_POSITION = '#alerts:seq'
/** Events read from the store per step. */
const READ_BATCH = 1000

/** What following the store reads (PostgreSQL replicas). */
export type AlertSource = Pick<EventStore, 'eventsAfter' | 'latestSeq' | 'readCheckpoint' | 'readCheckpoints' | 'instance'>

export interface AlertingOptions {
  /** How often closed windows are looked for, to send their summaries (default 5 s). */
  flushIntervalMs?: number
  /** The clock alert windows run on (default `Date.now`); tests move it instead of waiting. */
  now?: () => number
  /** After a failed step, when the leader reads again from the persisted position (default 1 s). */
  retryMs?: number
}

export class Alerting {
  private readonly timer: NodeJS.Timeout | undefined
  private readonly publishing = new Set<Promise<void>>()
  private readonly now: () => number
  private readonly retryMs: number
  /** Following the store: the source, whether this replica alerts now, and its term. */
  private follow: AlertSource | undefined
  private leading = false
  private term = 0
  /** The store sequence observed up to (persisted with each step). */
  private position = 0
  /** Steps (reads, window flushes) run one after another, each after the previous one's commit. */
  private steps: Promise<void> = Promise.resolve()
  private pending = false
  private again = false
  private retry: NodeJS.Timeout | undefined
  /** Pod labels of events this leader's sources wrote, by id, until read back (with their seq). */
  private readonly labels = new Map<string, { seq: number; labels?: Record<string, string> }>()

  constructor(
    private readonly grouper: AlertGrouper,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    options: AlertingOptions = {},
  ) {
    this.now = options.now ?? Date.now
    this.retryMs = options.retryMs ?? 1_000
    if (grouper.ruleCount === 0) return
    this.timer = setInterval(() => this.flushWindows(), options.flushIntervalMs ?? 5_000)
    this.timer.unref()
  }

  /**
   * Replicas: alert on every committed event read from `source` by seq (see the module comment),
   * not on this replica's own commits. Call once, before `resume`.
   */
  followStore(source: AlertSource): void {
    this.follow = source
  }

  /**
   * The writer's commit hook: what the write changed, with the events as their source published them.
   * Following the store, only the published pod labels are kept (the store lacks them).
   */
  readonly observe = (stored: readonly StoredEvent[], published: ReadonlyMap<string, IngestEvent>): void => {
    if (this.grouper.ruleCount === 0) return
    if (this.follow) {
      if (!this.leading) return
      if (this.grouper.usesLabels) {
        for (const { seq, item } of stored) {
          const event = published.get(item.id)
          if (event && seq > this.position) this.labels.set(item.id, event.labels ? { seq, labels: event.labels } : { seq })
        }
      }
      // Its own commits wake it at once, without waiting for the NOTIFY to come back.
      this.wake()
      return
    }
    const now = this.now()
    const notices: AlertNotice[] = []
    for (const { item } of stored) {
      const event = published.get(item.id)
      if (event) notices.push(...this.grouper.observe(event, item, now))
    }
    this.queue(notices)
  }

  /** Restores the persisted open groups (and, following the store, the position): this replica starts alerting (it leads). */
  async resume(store: Pick<EventStore, 'readCheckpoints'>): Promise<void> {
    if (this.grouper.ruleCount === 0) return
    if (!this.follow) {
      this.grouper.restore(await this.readGroups(store))
      return
    }
    const term = ++this.term
    this.leading = true
    await this.step(term, async () => {
      this.grouper.restore(await this.readGroups(store))
      const stored = await this.follow!.readCheckpoint(ALERT_POSITION)
      if (stored !== undefined) {
        this.position = Number(stored)
        return
      }
      // The first leader of this database: alert from here on, and say so at once, so that what is
      // posted before this leader's first step is not skipped by a next leader starting afresh.
      this.position = await this.follow!.latestSeq()
      await this.publish(term, [])
    })
    this.wake()
  }

  /** Following the store: something was committed (the live feed's wake-up); read what follows the position. */
  readonly wake = (): void => {
    if (!this.follow || !this.leading || this.grouper.ruleCount === 0) return
    if (this.pending) {
      this.again = true
      return
    }
    this.pending = true
    const term = this.term
    void this.step(term, () => this.readOn(term)).finally(() => {
      this.pending = false
      if (this.again) {
        this.again = false
        this.wake()
      }
    })
  }

  /** Forgets the open groups without notices: another replica leads and alerts from the persisted ones. */
  suspend(): void {
    this.leading = false
    this.term++
    clearTimeout(this.retry)
    this.labels.clear()
    this.grouper.forget()
  }

  private async readGroups(store: Pick<EventStore, 'readCheckpoints'>): Promise<Map<string, string>> {
    const stored = await store.readCheckpoints(GROUP_PREFIX)
    return new Map([...stored].map(([key, value]) => [decodeURIComponent(key), value]))
  }

  /** Runs `work` after the steps before it, unless the term it belongs to ended; a failure re-reads from the persisted state. */
  private step(term: number, work: () => Promise<void>): Promise<void> {
    const run = this.steps.then(async () => {
      if (term !== this.term) return
      try {
        await work()
      } catch (error) {
        if (term !== this.term) return
        // What this replica holds in memory may be ahead of the database: it stops, and starts again
        // from what committed. A refused (fenced) write ends the term anyway: `suspend` follows.
        if (!isFenced(error)) this.log.error('alerting from the store failed; reading again from the persisted position', { error })
        this.leading = false
        const failed = ++this.term
        clearTimeout(this.retry)
        this.retry = setTimeout(() => {
          if (failed === this.term) void this.resume(this.follow!)
        }, this.retryMs)
        this.retry.unref()
      }
    })
    this.steps = run
    return run
  }

  /** One step: the events after the position, observed, then notices, group changes and the new position written together. */
  private async readOn(term: number): Promise<void> {
    for (;;) {
      const stored = await this.follow!.eventsAfter(this.position, READ_BATCH)
      if (term !== this.term || stored.length === 0) return
      const now = this.now()
      const notices: AlertNotice[] = []
      for (const { seq, item } of stored) {
        const event = await this.asPublished(seq, item)
        if (term !== this.term) return
        notices.push(...this.grouper.observe(event, item, now))
      }
      this.position = stored.at(-1)!.seq
      for (const [id, { seq }] of this.labels) if (seq <= this.position) this.labels.delete(id)
      await this.publish(term, notices)
      if (stored.length < READ_BATCH) return
    }
  }

  /** The event as its source published it, as far as the rules read it. */
  private async asPublished(seq: number, item: EventItem): Promise<IngestEvent> {
    const event: IngestEvent = {
      id: item.id,
      time: Date.parse(item.time),
      firstTime: Date.parse(item.firstTime),
      count: item.count,
      type: item.type,
      reason: item.reason,
      message: item.message,
      source: item.source,
      component: item.component,
      mesh: item.mesh,
      object: item.object,
      ...(item.application === undefined ? {} : { application: item.application }),
    }
    if (!this.grouper.usesLabels || item.source !== 'kubernetes' || item.object.kind !== 'Pod') return event
    const remembered = this.labels.get(item.id)
    if (remembered && remembered.seq >= seq) {
      if (remembered.labels) event.labels = remembered.labels
      return event
    }
    const labels = (await this.follow!.instance(item.object.name, item.mesh))?.labels
    if (labels && Object.keys(labels).length > 0) event.labels = labels
    return event
  }

  /** Closes the windows that ended: summaries and closed groups, written as a step. */
  private flushWindows(): void {
    if (!this.follow) {
      this.queue(this.grouper.flush(this.now()))
      return
    }
    if (!this.leading) return
    const term = this.term
    void this.step(term, async () => {
      const notices = this.grouper.flush(this.now())
      await this.publish(term, notices, false)
    })
  }

  /**
   * Following the store: writes notices, group changes and the position in one fenced transaction,
   * and waits for it. Without `always`, nothing is written when there are neither notices nor changes.
   */
  private async publish(term: number, notices: readonly AlertNotice[], always = true): Promise<void> {
    const changes = this.groupChanges()
    if (term !== this.term || (!always && notices.length === 0 && changes.length === 0)) return
    const checkpoints = [...changes, { key: ALERT_POSITION, value: String(this.position) }]
    for (const notice of notices) this.metrics.alertNotices.inc({ rule: notice.rule, kind: notice.kind })
    await this.bus.publish({ outbox: notices.map((notice) => ({ sink: notice.sink, alert: notice })), checkpoints, fenced: true })
  }

  /** Group changes since the last call, as checkpoints. Group keys hold NUL separators, which PostgreSQL text cannot: the key is escaped. */
  private groupChanges(): Checkpoint[] {
    return this.grouper.takeChanges().map(({ key, value }) => ({ key: `${GROUP_PREFIX}${encodeURIComponent(key)}`, value }))
  }

  private queue(notices: readonly AlertNotice[]): void {
    const checkpoints = this.groupChanges()
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
    clearTimeout(this.retry)
    this.flushWindows()
    await Promise.all(this.publishing)
    await this.steps
    // What follows is the next leader's: it reads on from the position this one persisted.
    this.leading = false
    this.term++
  }
}
