import type { EventItem, EventPage, TimelineQueryInput } from '@eventline/shared'
import { computed, ref, shallowRef, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'
import { listEvents } from '../api/events.ts'
import type { TimelineScope } from '../api/events.ts'
import { useLatestRequest } from './useLatestRequest.ts'

export const TIMELINE_PAGE_SIZE = 50

/**
 * A timeline that grows page by page (`nextCursor`) for a reactive scope and query (`null`: not
 * yet known, nothing is fetched; a linked event's time, for one, comes first). A new scope or
 * query starts over and drops answers of the requests it superseded, so a slow old answer never
 * lands in a newer view. Items are de-duplicated by id: an event updated while the reader pages
 * can move into a later page, and must not show twice.
 */
export function useTimeline(
  scope: MaybeRefOrGetter<TimelineScope>,
  query: MaybeRefOrGetter<TimelineQueryInput | null>,
  pageSize = TIMELINE_PAGE_SIZE,
) {
  const items = shallowRef<EventItem[]>([])
  const total = ref(0)
  const totalCapped = ref(false)
  const nextCursor = ref<string | null>(null)
  const loaded = ref(false)
  const { error, run } = useLatestRequest()
  // Cleared only once a page's items and cursor are in place: the request's own loading flag
  // drops a microtask earlier, and a sentinel still in view would then ask for the same cursor
  // again (every page was fetched twice before this).
  const loading = ref(false)
  let ticket = 0
  let seen = new Set<string>()

  async function fetchPage(cursor: string | undefined): Promise<void> {
    const current = toValue(query)
    if (current === null) return
    const mine = ++ticket
    loading.value = true
    try {
      const outcome = await run((signal) => listEvents(toValue(scope), { ...current, limit: String(pageSize), cursor }, signal))
      if (outcome.ok) apply(outcome.value, cursor)
    } finally {
      if (mine === ticket) loading.value = false
    }
  }

  function apply(page: EventPage, cursor: string | undefined): void {
    const fresh = page.items.filter((item) => !seen.has(item.id))
    for (const item of fresh) seen.add(item.id)
    items.value = cursor === undefined ? fresh : [...items.value, ...fresh]
    nextCursor.value = page.nextCursor
    // Counted with the first page, for the query as a whole; later pages count the same set.
    if (cursor === undefined) {
      total.value = page.total
      totalCapped.value = page.totalCapped
    }
    loaded.value = true
  }

  /** Starts over from the newest event. */
  function reset(): Promise<void> {
    seen = new Set()
    items.value = []
    nextCursor.value = null
    loaded.value = false
    total.value = 0
    totalCapped.value = false
    return fetchPage(undefined)
  }

  /** Fetches the next (older) page; does nothing while a page loads, after an error, or at the end. */
  function loadMore(): Promise<void> {
    if (loading.value || error.value || nextCursor.value === null) return Promise.resolve()
    return fetchPage(nextCursor.value)
  }

  /** After an error: refetches the page that failed (the first one, or the next one). */
  function retry(): Promise<void> {
    return !loaded.value ? reset() : fetchPage(nextCursor.value ?? undefined)
  }

  /**
   * Puts events at the top, newest first: a live event, or the head of the timeline refetched
   * after the live stream may have missed some. A known id is an update (a repeat): it moves up.
   * Resolves with the ids that were new.
   */
  function prepend(incoming: readonly EventItem[]): string[] {
    if (incoming.length === 0) return []
    const fresh = incoming.filter((item) => !seen.has(item.id)).map((item) => item.id)
    const updated = new Set(incoming.map((item) => item.id))
    for (const id of fresh) seen.add(id)
    const merged = [...incoming].sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
    items.value = [...merged, ...items.value.filter((item) => !updated.has(item.id))]
    total.value += fresh.length
    return fresh
  }

  /** Refetches the newest page and merges it in, keeping the pages already loaded. */
  async function refreshHead(): Promise<void> {
    const current = toValue(query)
    if (current === null) return
    try {
      const page = await listEvents(toValue(scope), { ...current, limit: String(pageSize) })
      prepend(page.items)
    } catch {
      // The next live event or a reload will do; the timeline shown stays as it is.
    }
  }

  // By value: a query recomputed equal (another URL parameter such as `live` changed) is the same timeline.
  watch(() => JSON.stringify([toValue(scope), toValue(query)]), reset, { immediate: true })

  const hasMore = computed(() => nextCursor.value !== null)
  return { items, total, totalCapped, hasMore, loading, loaded, error, loadMore, retry, reset, prepend, refreshHead }
}
