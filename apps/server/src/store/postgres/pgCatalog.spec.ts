/**
 * Which pods had an IP at a time, answered from the IP's pod-to-IP history in memory (the writer
 * reads an IP's history once per batch): the same answers as the per-event look-up it replaced.
 */
import { describe, expect, it } from 'vitest'
import { podsAt } from './pgCatalog.ts'
import type { PodInterval } from './pgCatalog.ts'

// One IP's history, oldest first: pod a until 100, pod b from 150 until 200, pod c from 250 (open).
const HISTORY: PodInterval[] = [
  { mesh: 'm', name: 'a', since: 10, until: 100 },
  { mesh: 'm', name: 'b', since: 150, until: 200 },
  { mesh: 'm', name: 'c', since: 250, until: null },
]

describe('podsAt', () => {
  it.each([
    ['inside an interval: its pod', 50, ['a']],
    ['at the end of an interval: the next pod (it is no longer the old one\'s)', 100, ['b']],
    ['between two pods: the next pod to get the IP', 120, ['b']],
    ['in the open interval: the current pod', 300, ['c']],
    ['before the first interval: the first pod', 5, ['a']],
  ] as const)('%s', (_name, time, pods) => {
    expect(podsAt(HISTORY, time).map(({ name }) => name)).toEqual(pods)
  })

  it('lists every pod holding the IP at once (hostNetwork)', () => {
    const shared: PodInterval[] = [
      { mesh: 'm', name: 'x', since: 10, until: null },
      { mesh: 'n', name: 'y', since: 20, until: null },
    ]
    expect(podsAt(shared, 30)).toEqual([
      { mesh: 'm', name: 'x' },
      { mesh: 'n', name: 'y' },
    ])
  })

  it('answers nothing for an IP without history', () => {
    expect(podsAt([], 30)).toEqual([])
  })
})
