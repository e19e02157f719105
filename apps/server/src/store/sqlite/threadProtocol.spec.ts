import { describe, expect, it } from 'vitest'
import type { LaneQueues } from './threadProtocol.ts'
import { nextLane, pipelineLane, readLane } from './threadProtocol.ts'

const call = (calledAt: number) => ({ calledAt })
const queues = (quick: number[], page: number[], search: number[]): LaneQueues<{ calledAt: number }> => ({
  quick: quick.map(call),
  page: page.map(call),
  search: search.map(call),
})

describe('readLane', () => {
  it.each([
    ['eventOrigins', [['a']], 'quick'],
    ['event', ['a'], 'quick'],
    ['eventsAfter', [10, 100], 'quick'],
    ['timeline', [{ mesh: 'm' }, 20], 'page'],
    ['histogram', [{ application: 'a', since: 0, until: 1 }, 1, 1], 'page'],
    ['applications', [{}], 'page'],
    ['timeline', [{ mesh: 'm', q: 'timeout' }, 20], 'search'],
    ['facets', [{ q: 'a' }, 'reason'], 'search'],
  ] as const)('puts %s(%j) in the %s lane', (method, args, lane) => {
    expect(readLane(method, args)).toBe(lane)
  })
})

describe('nextLane', () => {
  it('serves quick lookups before anything older', () => {
    expect(nextLane(queues([5], [1], [0]), 0, 4)).toBe('quick')
  })

  it('serves pages and searches in the order they came', () => {
    expect(nextLane(queues([], [2], [1]), 0, 4)).toBe('search')
    expect(nextLane(queues([], [1], [2]), 0, 4)).toBe('page')
  })

  it('keeps one reader from searches, so a page never waits behind them', () => {
    expect(nextLane(queues([], [9], [1]), 3, 4)).toBe('page')
    expect(nextLane(queues([], [], [1]), 3, 4)).toBeUndefined()
    expect(nextLane(queues([], [], [1]), 2, 4)).toBe('search')
  })

  it('still answers searches on a pool down to one reader', () => {
    expect(nextLane(queues([], [], [1]), 0, 1)).toBe('search')
    expect(nextLane(queues([], [], [1]), 1, 1)).toBeUndefined()
  })

  it('leaves a reader idle when nothing waits', () => {
    expect(nextLane(queues([], [], []), 0, 4)).toBeUndefined()
  })
})

describe('pipelineLane', () => {
  it('lets a quick lookup wait in a busy reader before anything else', () => {
    expect(pipelineLane(queues([5], [1], [0]))).toBe('quick')
  })

  it('never queues a search behind another call', () => {
    expect(pipelineLane(queues([], [], [1]))).toBeUndefined()
  })

  it('queues a page only if no search waiting came before it, so searches are not overtaken for ever', () => {
    expect(pipelineLane(queues([], [1], []))).toBe('page')
    expect(pipelineLane(queues([], [1], [2]))).toBe('page')
    expect(pipelineLane(queues([], [2], [1]))).toBeUndefined()
  })

  it('has nothing to queue when nothing waits', () => {
    expect(pipelineLane(queues([], [], []))).toBeUndefined()
  })
})
