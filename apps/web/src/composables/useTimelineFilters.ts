import type { EventSource, EventType } from '@eventline/shared'
import { computed } from 'vue'
import type { ComputedRef } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import type { LocationQuery } from 'vue-router'

/** The timeline filters an operator sets in the filter bar; every one lives in the URL query. */
export interface TimelineFilters {
  type?: EventType
  sources: EventSource[]
  q?: string
  since?: string
  until?: string
  namespaces: string[]
  kinds: string[]
  reasons: string[]
}

/** The query keys the filters own (CONTRACT section 5). */
type FilterKey = 'type' | 'source' | 'q' | 'since' | 'until' | 'namespace' | 'kind' | 'reason'

function list(value: LocationQuery[string]): string[] {
  return (first(value) ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
}

function first(value: LocationQuery[string]): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  return text ? text : undefined
}

/**
 * Reads the filters from a route query as they are: an unknown `type` or a `since` the server
 * cannot parse is passed on, so the server's 400 names it rather than the console hiding it.
 */
export function filtersFromQuery(query: LocationQuery): TimelineFilters {
  const filters: TimelineFilters = {
    sources: list(query.source) as EventSource[],
    namespaces: list(query.namespace),
    kinds: list(query.kind),
    reasons: list(query.reason),
  }
  const type = first(query.type)
  if (type) filters.type = type as EventType
  const q = first(query.q)?.trim()
  if (q) filters.q = q
  const since = first(query.since)
  if (since) filters.since = since
  const until = first(query.until)
  if (until) filters.until = until
  return filters
}

/** A comma list as the URL and the API carry it (CONTRACT section 3); an empty list is no filter. */
function joined(values: readonly string[]): string | undefined {
  return values.length > 0 ? values.join(',') : undefined
}

/** The query values of `filters`; an unset filter removes its key. */
export function filtersToQuery(filters: TimelineFilters): Record<FilterKey, string | undefined> {
  return {
    type: filters.type,
    source: joined(filters.sources),
    q: filters.q || undefined,
    since: filters.since,
    until: filters.until,
    namespace: joined(filters.namespaces),
    kind: joined(filters.kinds),
    reason: joined(filters.reasons),
  }
}

/** The filters as timeline query parameters of the API (the same names as in the URL). */
export function filtersToApiQuery(filters: TimelineFilters): Partial<Record<FilterKey, string>> {
  const query: Partial<Record<FilterKey, string>> = {}
  for (const [key, value] of Object.entries(filtersToQuery(filters)) as Array<[FilterKey, string | undefined]>) if (value !== undefined) query[key] = value
  return query
}

export function hasFilters(filters: TimelineFilters): boolean {
  return Object.values(filtersToQuery(filters)).some((value) => value !== undefined)
}

/** No filter set: what "Clear filters" leaves. */
export const NO_FILTERS: TimelineFilters = { sources: [], namespaces: [], kinds: [], reasons: [] }

/** The current route's timeline filters, and a setter that writes them back to the URL. */
export function useTimelineFilters(): { filters: ComputedRef<TimelineFilters>; setFilters: (filters: TimelineFilters) => void } {
  const route = useRoute()
  const router = useRouter()
  const filters = computed(() => filtersFromQuery(route.query))
  function setFilters(next: TimelineFilters): void {
    // A history entry per change: Back undoes a filter, and a copied URL reproduces the view.
    // A new filter leaves the linked event (`event=`): the view is no longer "around" it.
    void router.push({ query: { ...route.query, ...filtersToQuery(next), event: undefined } })
  }
  return { filters, setFilters }
}
