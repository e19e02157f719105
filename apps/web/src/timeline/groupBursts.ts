/**
 * Bursts: a rollout that unregisters 30 providers is 30 rows saying the same thing. Consecutive
 * events (in timeline order, newest first) of the same mesh, reason and application, each within
 * `gapMs` of the one before and all within `spanMs`, collapse into one group of at least
 * `minSize`. Pure, so it runs over every loaded page at once (a burst that straddles a page
 * boundary is one group once both pages are in) and again after each live event.
 *
 * Known limits (candidly): only neighbours group; a burst interleaved with unrelated events of
 * the same application splits into several groups (Robusta does the same). Events without an
 * application group by namespace and object kind instead, which can join two workloads.
 */
import type { EventItem } from '@eventline/shared'

export interface BurstOptions {
  /** Largest time between two neighbours of one burst. */
  gapMs: number
  /** Largest time between the newest and the oldest event of one burst. */
  spanMs: number
  /** Fewest events that make a burst; shorter runs stay single rows. */
  minSize: number
}

export const DEFAULT_BURST: BurstOptions = { gapMs: 30_000, spanMs: 10 * 60_000, minSize: 3 }

export interface EventBurst {
  kind: 'group'
  /** The events, newest first, as in the timeline. */
  items: EventItem[]
  reason: string
  application?: string
  /** Distinct instances (or object names where an event names no instance). */
  instances: number
  /** Newest time minus oldest time. */
  spanMs: number
  /** A warning when any member is one. */
  type: EventItem['type']
}

export type BurstUnit = { kind: 'event'; item: EventItem } | EventBurst

function burstKey(item: EventItem): string {
  const owner = item.application ?? `~${item.object.namespace ?? ''}/${item.object.kind}`
  return `${item.mesh}\u0000${item.reason}\u0000${owner}`
}

/** The items (newest first) with each burst folded into one group; everything else passes through in order. */
export function groupBursts(items: readonly EventItem[], options: BurstOptions = DEFAULT_BURST): BurstUnit[] {
  const units: BurstUnit[] = []
  let run: EventItem[] = []
  let runKey = ''
  let runStart = 0
  let previous = 0

  const flush = () => {
    if (run.length >= options.minSize) units.push(summarise(run))
    else for (const item of run) units.push({ kind: 'event', item })
    run = []
  }

  for (const item of items) {
    const time = Date.parse(item.time)
    const key = burstKey(item)
    const joins = run.length > 0 && key === runKey && previous - time <= options.gapMs && runStart - time <= options.spanMs
    if (!joins) {
      flush()
      runKey = key
      runStart = time
    }
    run.push(item)
    previous = time
  }
  flush()
  return units
}

function summarise(items: EventItem[]): EventBurst {
  const first = items[0]!
  const instances = new Set(items.map((item) => item.instance ?? `${item.object.kind}/${item.object.name}`))
  return {
    kind: 'group',
    items,
    reason: first.reason,
    application: first.application,
    instances: instances.size,
    spanMs: Date.parse(first.time) - Date.parse(items[items.length - 1]!.time),
    type: items.some((item) => item.type === 'warning') ? 'warning' : 'normal',
  }
}
