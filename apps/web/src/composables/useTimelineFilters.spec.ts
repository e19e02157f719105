import { describe, expect, it } from 'vitest'
import { filtersFromQuery, filtersToApiQuery, filtersToQuery, hasFilters, NO_FILTERS } from './useTimelineFilters.ts'

describe('timeline filters in the URL', () => {
  it.each([
    [{}, { sources: [], namespaces: [], kinds: [], reasons: [] }],
    [
      { type: 'warning', source: 'kubernetes,nacos', q: ' OOM ', since: '24h' },
      { type: 'warning', sources: ['kubernetes', 'nacos'], namespaces: [], kinds: [], reasons: [], q: 'OOM', since: '24h' },
    ],
    [{ type: ['normal', 'warning'], source: ' ,api, ' }, { type: 'normal', sources: ['api'], namespaces: [], kinds: [], reasons: [] }],
    [{ q: '   ', since: '' }, { sources: [], namespaces: [], kinds: [], reasons: [] }],
    [
      { until: '2026-11-24T01:00:00.000Z', namespace: 'shop', kind: 'Pod', reason: 'BackOff,Unhealthy' },
      { sources: [], reasons: ['BackOff', 'Unhealthy'], until: '2026-11-24T01:00:00.000Z', namespaces: ['shop'], kinds: ['Pod'] },
    ],
    [
      { namespace: 'shop,kube-system', kind: 'Pod,,Node ' },
      { sources: [], reasons: [], namespaces: ['shop', 'kube-system'], kinds: ['Pod', 'Node'] },
    ],
  ])('reads %j', (query, expected) => {
    expect(filtersFromQuery(query)).toEqual(expected)
  })

  it('writes what it reads, and removes unset filters', () => {
    const filters = {
      type: 'warning' as const,
      sources: ['zookeeper' as const],
      reasons: ['ProviderUnregistered'],
      q: 'Unregistered',
      since: '2026-11-24T00:00:00Z',
      until: '2026-11-24T06:00:00Z',
      namespaces: ['shop', 'kube-system'],
      kinds: ['Pod'],
    }
    const written = Object.fromEntries(Object.entries(filtersToQuery(filters)).filter(([, value]) => value !== undefined)) as Record<string, string>
    expect(filtersFromQuery(written)).toEqual(filters)
    expect(Object.values(filtersToQuery(NO_FILTERS)).every((value) => value === undefined)).toBe(true)
    expect(hasFilters(NO_FILTERS)).toBe(false)
    expect(hasFilters({ ...NO_FILTERS, since: '1h' })).toBe(true)
    expect(hasFilters({ ...NO_FILTERS, reasons: ['BackOff'] })).toBe(true)
    expect(hasFilters({ ...NO_FILTERS, namespaces: ['shop'] })).toBe(true)
  })

  it('gives the API only the filters that are set', () => {
    expect(filtersToApiQuery({ ...NO_FILTERS, reasons: ['A', 'B'], kinds: ['Pod'] })).toEqual({ reason: 'A,B', kind: 'Pod' })
    expect(filtersToApiQuery({ ...NO_FILTERS, namespaces: ['shop', 'ops'], kinds: ['Pod', 'Node'] })).toEqual({ namespace: 'shop,ops', kind: 'Pod,Node' })
  })
})
