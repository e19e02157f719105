/**
 * The rows of a timeline, in order: day separators, gaps in the history, single events and
 * bursts. Pure, so the placement rules are tested without a DOM.
 *
 * Known limits (candidly): a gap older than every loaded event waits until the last page is in
 * (before that its place is not known); an event inside a gap's period shows below the gap row.
 */
import type { EventItem } from '@eventline/shared'
import type { Gap } from '../api/events.ts'
import { dayKey } from '../format/time.ts'
import { DEFAULT_BURST, groupBursts } from './groupBursts.ts'
import type { BurstOptions, EventBurst } from './groupBursts.ts'


export type TimelineRow =
  | { kind: 'day'; key: string; time: string }
  | { kind: 'gap'; key: string; gap: Gap }
  | { kind: 'event'; key: string; item: EventItem }
  | ({ key: string } & EventBurst)

export interface RowOptions {
  /** Day separators by the UTC day rather than the local one. */
  utc: boolean
  /** Every page is loaded: gaps older than the oldest event belong at the end. */
  complete: boolean
  /** Burst grouping; `null` shows every event as its own row. */
  bursts?: BurstOptions | null
}

/** Builds the rows of `items` (newest first) with `gaps` placed where their period falls. */
export function timelineRows(items: readonly EventItem[], gaps: readonly Gap[], options: RowOptions): TimelineRow[] {
  const units = options.bursts === null ? items.map((item) => ({ kind: 'event' as const, item })) : groupBursts(items, options.bursts ?? DEFAULT_BURST)
  const pending = [...gaps].sort((a, b) => Date.parse(b.to) - Date.parse(a.to))
  const rows: TimelineRow[] = []
  let day: number | undefined
  let next = 0

  for (const unit of units) {
    const newest = unit.kind === 'event' ? unit.item : unit.items[0]!
    const time = Date.parse(newest.time)
    // Every gap that ended after this event sits above it.
    while (next < pending.length && Date.parse(pending[next]!.to) > time) rows.push(gapRow(pending[next++]!))
    const key = dayKey(time, options.utc)
    if (key !== day) {
      day = key
      rows.push({ kind: 'day', key: `day:${key}`, time: newest.time })
    }
    rows.push(unit.kind === 'event' ? { kind: 'event', key: unit.item.id, item: unit.item } : { ...unit, key: `group:${newest.id}` })
  }
  if (options.complete) while (next < pending.length) rows.push(gapRow(pending[next++]!))
  return rows
}

function gapRow(gap: Gap): TimelineRow {
  return { kind: 'gap', key: `gap:${gap.mesh}:${gap.source}:${gap.from}`, gap }
}
