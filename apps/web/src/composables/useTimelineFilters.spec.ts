import { describe, expect, it } from 'vitest'
import { filtersFromQuery, filtersToQuery, hasFilters } from './useTimelineFilters.ts'

describe('timeline filters in the URL', () => {
  it.each([
    [{}, { sources: [] }],
    [{ type: 'warning', source: 'kubernetes,nacos', q: ' OOM ', since: '24h' }, { type: 'warning', sources: ['kubernetes', 'nacos'], q: 'OOM', since: '24h' }],
    [{ type: ['normal', 'warning'], source: ' ,api, ' }, { type: 'normal', sources: ['api'] }],
    [{ q: '   ', since: '' }, { sources: [] }],
  ])('reads %j', (query, expected) => {
    expect(filtersFromQuery(query)).toEqual(expected)
  })

  it('writes what it reads, and removes unset filters', () => {
    const filters = { type: 'warning' as const, sources: ['zookeeper' as const], q: 'Unregistered', since: '2026-11-24T00:00:00Z' }
    const written = Object.fromEntries(Object.entries(filtersToQuery(filters)).filter(([, value]) => value !== undefined)) as Record<string, string>
    expect(filtersFromQuery(written)).toEqual(filters)
    expect(filtersToQuery({ sources: [] })).toEqual({ type: undefined, source: undefined, q: undefined, since: undefined })
    expect(hasFilters({ sources: [] })).toBe(false)
    expect(hasFilters({ sources: [], since: '1h' })).toBe(true)
  })
})
