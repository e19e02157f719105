/**
 * Records, durably, when each source of each mesh was ingesting, and derives the gaps between
 * (CONTRACT section 3, `Gap`). A period opens when a source reports `connected` and closes when it
 * reports anything else or Eventline stops; a heartbeat moves an open period's end forward, so
 * after a crash (`kill -9`, power cut) the period ends at its last heartbeat and the gap starts
 * there, at most one heartbeat late.
 *
 * Known limits: a source that has never connected since it was configured has no period yet, so
 * the time before its first connection is not a gap; posted events (`api`) have no source and
 * never have gaps; with several processes on one SQLite file (not supported) periods would mix.
 */
import type { Gap, GapReason } from '@eventline/shared'
import type { Logger } from '../log.ts'
import type { ActivityChange, ActivityPeriod, EventStore } from '../store/types.ts'

export interface IngestActivityOptions {
  /** How often open periods are extended (default 15 s): the imprecision of a crash's gap. */
  heartbeatMs?: number
  /** Shortest pause reported as a gap (default 60 s, the contract's). Tests shorten it. */
  gapThresholdMs?: number
  now?: () => number
}

/** Kubernetes keeps events for an hour by default: a longer gap may have lost some for good. */
const KUBERNETES_EVENT_TTL_MS = 3_600_000
/** A lossy resumption (relist after 410) reported this soon after connecting belongs to that connection. */
const RESUMPTION_WINDOW_MS = 120_000

interface LiveSource {
  mesh: string
  source: string
  /** Start of the open period, or undefined while not ingesting. */
  openedAt: number | undefined
}

const key = (mesh: string, source: string) => `${mesh}\u0000${source}`

export class IngestActivity {
  private readonly live = new Map<string, LiveSource>()
  private readonly heartbeatMs: number
  readonly gapThresholdMs: number
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  /** Changes are applied in order, one after the other; `stop` waits for the last. */
  private chain: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: EventStore,
    private readonly log: Logger,
    options: IngestActivityOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000
    this.gapThresholdMs = options.gapThresholdMs ?? 60_000
    this.now = options.now ?? Date.now
  }

  /** Ends the periods a previous run left open (at their last heartbeat) and starts the heartbeat. */
  async start(): Promise<void> {
    this.record({ op: 'start' })
    await this.chain
    this.timer = setInterval(() => {
      if ([...this.live.values()].some((source) => source.openedAt !== undefined)) this.record({ op: 'beat', at: this.now() })
    }, this.heartbeatMs)
    this.timer.unref()
  }

  /** A source's status changed (`SourceContext.setStatus`). */
  status(mesh: string, source: string, status: string): void {
    const entry = this.live.get(key(mesh, source)) ?? { mesh, source, openedAt: undefined }
    this.live.set(key(mesh, source), entry)
    const at = this.now()
    if (status === 'connected' && entry.openedAt === undefined) {
      entry.openedAt = at
      this.record({ op: 'open', mesh, source, at })
    } else if (status !== 'connected' && entry.openedAt !== undefined) {
      entry.openedAt = undefined
      this.record({ op: 'close', mesh, source, at, reason: status })
    }
  }

  /**
   * The source resumed in a way that may have lost events (a Kubernetes watch relisted after 410).
   * It marks the connection it belongs to: the open one if it began moments ago, else the next.
   */
  resumedLossy(mesh: string, source: string, how: string): void {
    const entry = this.live.get(key(mesh, source))
    const opened = entry?.openedAt
    if (opened !== undefined && this.now() - opened > RESUMPTION_WINDOW_MS) return // a relist while connected: no gap to mark
    this.record({ op: 'resumed-lossy', mesh, source, how })
  }

  /** Stops the heartbeat and closes every open period as `stopped`; resolves once stored. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    const at = this.now()
    for (const entry of this.live.values()) {
      if (entry.openedAt === undefined) continue
      entry.openedAt = undefined
      this.record({ op: 'close', mesh: entry.mesh, source: entry.source, at, reason: 'stopped' })
    }
    await this.chain
  }

  /** Resolves once every change recorded so far is stored. */
  flush(): Promise<void> {
    return this.chain
  }

  /** The gaps overlapping [since, until), oldest first. */
  async gaps(query: { mesh?: string; since: number; until: number }): Promise<Gap[]> {
    await this.chain // read what this process has recorded so far
    const periods = await this.store.activityPeriods(query)
    const now = this.now()
    const notIngesting = new Set([...this.live.entries()].filter(([, entry]) => entry.openedAt === undefined).map(([name]) => name))
    return deriveGaps(periods, { now, thresholdMs: this.gapThresholdMs, notIngesting })
      .filter((gap) => Date.parse(gap.from) < query.until && Date.parse(gap.to) > query.since)
      .sort((a, b) => a.from.localeCompare(b.from) || a.mesh.localeCompare(b.mesh) || a.source.localeCompare(b.source))
  }

  private record(change: ActivityChange): void {
    this.chain = this.chain
      .then(() => this.store.recordActivity(change))
      .catch((error: unknown) => this.log.warn('recording ingestion activity failed', { op: change.op, error: (error as Error).message }))
  }
}

function gapReason(endReason: string | null): GapReason {
  if (endReason === 'error') return 'failing'
  if (endReason === 'connecting' || endReason === 'disabled') return 'disconnected'
  return 'not-running' // stopped, crashed
}

function lossPossible(source: string, from: number, to: number, resumedBy: string | null): boolean {
  if (resumedBy !== null) return true
  if (source === 'zookeeper' || source === 'nacos') return true // a registry shows states, not the changes between them
  if (source === 'kubernetes') return to - from > KUBERNETES_EVENT_TTL_MS
  return false
}

/**
 * Gaps between consecutive periods of each source longer than the threshold, plus the ongoing
 * gap of a source this process runs and that is not ingesting now. Pure: tests feed it periods.
 * `periods` are ordered by (mesh, source, started); `notIngesting` holds `mesh\0source` keys.
 */
export function deriveGaps(periods: readonly ActivityPeriod[], context: { now: number; thresholdMs: number; notIngesting: ReadonlySet<string> }): Gap[] {
  const gaps: Gap[] = []
  const push = (previous: ActivityPeriod, to: number, resumedBy: string | null, ongoing: boolean) => {
    const from = previous.lastSeen
    if (to - from <= context.thresholdMs) return
    const gap: Gap = {
      mesh: previous.mesh,
      source: previous.source,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      reason: gapReason(previous.endReason),
      lossPossible: lossPossible(previous.source, from, to, resumedBy),
    }
    if (ongoing) gap.ongoing = true
    gaps.push(gap)
  }
  for (let i = 0; i < periods.length; i++) {
    const period = periods[i]!
    const next = periods[i + 1]
    if (next && next.mesh === period.mesh && next.source === period.source) push(period, next.started, next.resumedBy, false)
    else if (period.endReason !== null && context.notIngesting.has(key(period.mesh, period.source))) push(period, context.now, null, true)
  }
  return gaps
}
