import { toIso } from '@eventline/shared'
import type { EventItem } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import type { IngestEvent } from '../store/types.ts'
import { AlertGrouper, groupKey } from './alertGrouper.ts'
import type { AlertRule } from './fileConfig.ts'

const MINUTE = 60_000
const T0 = Date.UTC(2026, 11, 1, 12)

const crashes: AlertRule = { name: 'crashes', sink: 'pager', windowMs: 10 * MINUTE, match: [{ type: ['warning'], reason: ['^(BackOff|OOMKilling)$'] }] }

/** The event as published and as stored (the store's count). */
function occurrence(at: number, overrides: { id?: string; pod?: string; reason?: string; count?: number; mesh?: string } = {}): [IngestEvent, EventItem] {
  const event: IngestEvent = {
    id: overrides.id ?? 'kubernetes:e-1',
    time: at,
    count: overrides.count ?? 1,
    type: 'warning',
    reason: overrides.reason ?? 'BackOff',
    message: 'Back-off restarting failed container web',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: overrides.mesh ?? 'prod',
    object: { kind: 'Pod', namespace: 'shop', name: overrides.pod ?? 'web-1' },
  }
  const item: EventItem = { ...event, time: toIso(at), firstTime: toIso(at), count: overrides.count ?? 1 }
  return [event, item]
}

describe('AlertGrouper', () => {
  it('sends the first occurrence at once and a summary with the count when the window closes', () => {
    const grouper = new AlertGrouper([crashes])
    const [first] = grouper.observe(...occurrence(T0), T0)
    expect(first).toMatchObject({
      rule: 'crashes',
      sink: 'pager',
      kind: 'first',
      count: 1,
      windowStart: T0,
      windowEnd: T0 + 10 * MINUTE,
      group: groupKey('crashes', 'prod', { kind: 'Pod', namespace: 'shop', name: 'web-1' }, 'BackOff'),
      title: '[crashes] Warning BackOff on Pod shop/web-1 (prod)',
    })
    expect(first!.text).toContain('Back-off restarting failed container web')

    // Count bumps of the same Kubernetes event are further occurrences, not new groups.
    expect(grouper.observe(...occurrence(T0 + MINUTE, { count: 2 }), T0 + MINUTE)).toEqual([])
    expect(grouper.observe(...occurrence(T0 + 2 * MINUTE, { count: 3 }), T0 + 2 * MINUTE)).toEqual([])
    expect(grouper.flush(T0 + 9 * MINUTE)).toEqual([])

    const [summary, ...rest] = grouper.flush(T0 + 10 * MINUTE)
    expect(rest).toEqual([])
    expect(summary).toMatchObject({ kind: 'summary', count: 3, windowStart: T0, windowEnd: T0 + 10 * MINUTE, group: first!.group, title: '[crashes] BackOff on Pod shop/web-1 (prod): 3 times in 10m' })
    expect(summary!.event.count).toBe(3)
    expect(summary!.text).toContain('3 occurrences from 2026-12-01T12:00:00.000Z to 2026-12-01T12:10:00.000Z')
    expect(grouper.size).toBe(0)
  })

  it('sends no summary for a window with a single occurrence', () => {
    const grouper = new AlertGrouper([crashes])
    expect(grouper.observe(...occurrence(T0), T0)).toHaveLength(1)
    expect(grouper.flush(T0 + 10 * MINUTE)).toEqual([])
    expect(grouper.size).toBe(0)
  })

  it('opens a new group after the window, summarising the old one if flush was not called', () => {
    const grouper = new AlertGrouper([crashes])
    grouper.observe(...occurrence(T0), T0)
    grouper.observe(...occurrence(T0 + MINUTE, { count: 2 }), T0 + MINUTE)
    const notices = grouper.observe(...occurrence(T0 + 11 * MINUTE, { count: 3 }), T0 + 11 * MINUTE)
    expect(notices.map((notice) => [notice.kind, notice.count, notice.windowStart])).toEqual([
      ['summary', 2, T0],
      ['first', 1, T0 + 11 * MINUTE],
    ])
  })

  it('groups per object and per reason, and per mesh', () => {
    const grouper = new AlertGrouper([crashes])
    const firsts = [
      grouper.observe(...occurrence(T0), T0),
      grouper.observe(...occurrence(T0, { id: 'kubernetes:e-2', pod: 'web-2' }), T0),
      grouper.observe(...occurrence(T0, { id: 'kubernetes:e-3', reason: 'OOMKilling' }), T0),
      grouper.observe(...occurrence(T0, { id: 'kubernetes:e-4', mesh: 'staging' }), T0),
    ].flat()
    expect(firsts.map((notice) => notice.kind)).toEqual(['first', 'first', 'first', 'first'])
    expect(new Set(firsts.map((notice) => notice.group)).size).toBe(4)
    // Another event uid about the same pod and reason (a second container) joins the group.
    expect(grouper.observe(...occurrence(T0 + MINUTE, { id: 'kubernetes:e-5' }), T0 + MINUTE)).toEqual([])
    expect(grouper.flush(T0 + 10 * MINUTE).map((notice) => [notice.event.object.name, notice.count])).toEqual([['web-1', 2]])
  })

  it('counts a retried write of the same event once, and a jump in its count by the jump', () => {
    const grouper = new AlertGrouper([crashes])
    grouper.observe(...occurrence(T0, { count: 4 }), T0)
    grouper.observe(...occurrence(T0, { count: 4 }), T0 + 1_000)
    grouper.observe(...occurrence(T0 + MINUTE, { count: 7 }), T0 + MINUTE)
    expect(grouper.flush(T0 + 10 * MINUTE)[0]?.count).toBe(4)
  })

  it('keeps separate groups per rule, and ignores what no rule matches', () => {
    const oom: AlertRule = { name: 'oom', sink: 'chat', windowMs: 5 * MINUTE, match: [{ reason: ['OOM'] }] }
    const grouper = new AlertGrouper([crashes, oom])
    expect(grouper.observe(...occurrence(T0, { reason: 'OOMKilling' }), T0).map((notice) => [notice.rule, notice.sink])).toEqual([
      ['crashes', 'pager'],
      ['oom', 'chat'],
    ])
    expect(grouper.observe(...occurrence(T0, { id: 'kubernetes:e-9', reason: 'Unhealthy' }), T0)).toEqual([])
  })

  it('honours drop', () => {
    const grouper = new AlertGrouper([{ ...crashes, drop: [{ name: ['^web-'] }] }])
    expect(grouper.observe(...occurrence(T0), T0)).toEqual([])
  })

  it('ignores events whose last occurrence is older than the window (a re-list of history)', () => {
    const grouper = new AlertGrouper([crashes])
    expect(grouper.observe(...occurrence(T0 - 11 * MINUTE), T0)).toEqual([])
  })

  it('bounds the open groups, closing the oldest early when all are open', () => {
    const grouper = new AlertGrouper([crashes], 2)
    grouper.observe(...occurrence(T0, { id: 'a', pod: 'a' }), T0)
    grouper.observe(...occurrence(T0 + 1, { id: 'a', pod: 'a', count: 2 }), T0 + 1)
    grouper.observe(...occurrence(T0 + 2, { id: 'b', pod: 'b' }), T0 + 2)
    const notices = grouper.observe(...occurrence(T0 + 3, { id: 'c', pod: 'c' }), T0 + 3)
    expect(notices.map((notice) => [notice.kind, notice.event.object.name, notice.count, notice.windowEnd])).toEqual([
      ['summary', 'a', 2, T0 + 3],
      ['first', 'c', 1, T0 + 3 + 10 * MINUTE],
    ])
    expect(grouper.size).toBe(2)
  })

  it('keeps titles on one line', () => {
    const grouper = new AlertGrouper([{ ...crashes, match: [{ reason: ['.'] }] }])
    const [event, item] = occurrence(T0, { reason: 'Bad\nReason' })
    expect(grouper.observe(event, item, T0)[0]!.title).toBe('[crashes] Warning Bad Reason on Pod shop/web-1 (prod)')
  })
})
