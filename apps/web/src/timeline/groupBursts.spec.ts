import type { EventItem } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { groupBursts } from './groupBursts.ts'
import { timelineRows } from './timelineRows.ts'
import type { Gap } from '../api/events.ts'

const T0 = Date.parse('2026-11-24T12:00:00Z')

/** An event `seconds` before T0. */
function event(id: string, seconds: number, overrides: Partial<EventItem> = {}): EventItem {
  const time = new Date(T0 - seconds * 1000).toISOString()
  return {
    id,
    time,
    firstTime: time,
    count: 1,
    type: 'warning',
    reason: 'ProviderUnregistered',
    message: `provider ${id} gone`,
    source: 'zookeeper',
    component: 'zookeeper',
    mesh: 'zk',
    object: { kind: 'Provider', name: id },
    application: 'orders',
    instance: `10.0.0.${id}:20880`,
    ...overrides,
  }
}

/** A burst of `count` unregistrations a second apart, starting `start` seconds before T0. */
function burst(count: number, start = 0, prefix = 'p'): EventItem[] {
  return Array.from({ length: count }, (_, index) => event(`${prefix}${index}`, start + index))
}

const shape = (units: ReturnType<typeof groupBursts>) => units.map((unit) => (unit.kind === 'event' ? unit.item.id : `group(${unit.items.length})`))

describe('groupBursts', () => {
  it('folds 30 unregistrations of one application in 30 s into one group that counts instances and span', () => {
    const units = groupBursts(burst(30))
    expect(units).toHaveLength(1)
    const [group] = units
    if (group?.kind !== 'group') throw new Error('expected a group')
    expect(group.items.map((item) => item.id)).toEqual(burst(30).map((item) => item.id))
    expect(group.reason).toBe('ProviderUnregistered')
    expect(group.application).toBe('orders')
    expect(group.instances).toBe(30)
    expect(group.spanMs).toBe(29_000)
    expect(group.type).toBe('warning')
  })

  it('leaves runs shorter than the minimum as single rows', () => {
    expect(shape(groupBursts(burst(2)))).toEqual(['p0', 'p1'])
  })

  it('splits on another reason, another application, or a pause longer than the gap', () => {
    const items = [
      ...burst(3, 0, 'a'),
      event('other-reason', 3, { reason: 'ProviderRegistered' }),
      ...burst(3, 4, 'b'),
      event('other-app', 7, { application: 'payments' }),
      ...burst(3, 8, 'c'),
      // 60 s after c2: too long a pause to be the same burst.
      ...burst(3, 70, 'd'),
    ]
    expect(shape(groupBursts(items))).toEqual(['group(3)', 'other-reason', 'group(3)', 'other-app', 'group(3)', 'group(3)'])
  })

  it('caps a burst at its span even when every neighbour is close', () => {
    // 40 events 20 s apart: 780 s in all, over the 10 min span.
    const items = Array.from({ length: 40 }, (_, index) => event(`s${index}`, index * 20))
    const sizes = groupBursts(items).map((unit) => (unit.kind === 'group' ? unit.items.length : 1))
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(40)
    expect(sizes[0]).toBe(31)
  })

  it('is the same group whether a burst arrived in one page or across a page boundary, and grows with live events', () => {
    const all = burst(12)
    const firstPage = groupBursts(all.slice(0, 5))
    expect(shape(firstPage)).toEqual(['group(5)'])
    expect(shape(groupBursts([...all.slice(0, 5), ...all.slice(5)]))).toEqual(['group(12)'])
    const live = event('live', -1)
    expect(shape(groupBursts([live, ...all]))).toEqual(['group(13)'])
  })
})

describe('timelineRows', () => {
  const gap: Gap = { mesh: 'zk', source: 'zookeeper', from: new Date(T0 - 3_600_000).toISOString(), to: new Date(T0 - 1_800_000).toISOString(), reason: 'disconnected', lossPossible: true }

  it('puts a day separator above the first event of each day', () => {
    const items = [event('today', 0), event('yesterday', 13 * 3600)]
    const rows = timelineRows(items, [], { utc: true, complete: true, bursts: null })
    expect(rows.map((row) => row.kind)).toEqual(['day', 'event', 'day', 'event'])
  })

  it('places a gap between the events after it and those before it', () => {
    const items = [event('after', 60), event('before', 4000)]
    const rows = timelineRows(items, [gap], { utc: true, complete: false, bursts: null })
    expect(rows.map((row) => (row.kind === 'event' ? row.item.id : row.kind))).toEqual(['day', 'after', 'gap', 'before'])
  })

  it('holds back a gap older than every loaded event until the last page is in', () => {
    const items = [event('after', 60)]
    expect(timelineRows(items, [gap], { utc: true, complete: false, bursts: null }).some((row) => row.kind === 'gap')).toBe(false)
    expect(timelineRows(items, [gap], { utc: true, complete: true, bursts: null }).at(-1)?.kind).toBe('gap')
  })

  it('groups bursts by default, keyed by the newest event', () => {
    const rows = timelineRows(burst(4), [], { utc: true, complete: true })
    expect(rows.map((row) => row.key)).toEqual([expect.stringMatching(/^day:/), 'group:p0'])
  })
})
