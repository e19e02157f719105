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
}

/** The query keys the filters own (CONTRACT section 5). */
type FilterKey = 'type' | 'source' | 'q' | 'since'

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
    sources: (first(query.source) ?? '')
      .split(',')
      .map((source) => source.trim())
      .filter(Boolean) as EventSource[],
  }
  const type = first(query.type)
  if (type) filters.type = type as EventType
  const q = first(query.q)?.trim()
  if (q) filters.q = q
  const since = first(query.since)
  if (since) filters.since = since
  return filters
}

/** The query values of `filters`; an unset filter removes its key. */
export function filtersToQuery(filters: TimelineFilters): Record<FilterKey, string | undefined> {
  return {
    type: filters.type,
    source: filters.sources.length > 0 ? filters.sources.join(',') : undefined,
    q: filters.q || undefined,
    since: filters.since,
  }
}

export function hasFilters(filters: TimelineFilters): boolean {
  return filters.type !== undefined || filters.sources.length > 0 || filters.q !== undefined || filters.since !== undefined
}

/** The current route's timeline filters, and a setter that writes them back to the URL. */
export function useTimelineFilters(): { filters: ComputedRef<TimelineFilters>; setFilters: (filters: TimelineFilters) => void } {
  const route = useRoute()
  const router = useRouter()
  const filters = computed(() => filtersFromQuery(route.query))
  function setFilters(next: TimelineFilters): void {
    // A history entry per change: Back undoes a filter, and a copied URL reproduces the view.
    void router.push({ query: { ...route.query, ...filtersToQuery(next) } })
  }
  return { filters, setFilters }
}
