import type { EventItem, TimelineQueryInput } from '@eventline/shared'
import { computed, onScopeDispose, ref, shallowRef, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'
import { listEvents } from '../api/events.ts'
import type { TimelineScope } from '../api/events.ts'

export const TIMELINE_PAGE_SIZE = 50

/**
 * A timeline that grows page by page (`nextCursor`) for a reactive scope and query. A new scope or
 * query starts over and drops answers of the requests it superseded, so a slow old answer never
 * lands in a newer view. Items are de-duplicated by id: an event updated while the reader pages
 * can move into a later page, and must not show twice.
 */
export function useTimeline(
  scope: MaybeRefOrGetter<TimelineScope>,
  query: MaybeRefOrGetter<TimelineQueryInput>,
  pageSize = TIMELINE_PAGE_SIZE,
) {
  const items = shallowRef<EventItem[]>([])
  const total = ref(0)
  const totalCapped = ref(false)
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const error = shallowRef<Error | null>(null)
  let seen = new Set<string>()
  let controller: AbortController | null = null

  async function fetchPage(cursor: string | undefined): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      const page = await listEvents(toValue(scope), { ...toValue(query), limit: String(pageSize), cursor }, current.signal)
      if (current.signal.aborted) return
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
    } catch (cause) {
      if (current.signal.aborted) return
      error.value = cause instanceof Error ? cause : new Error(String(cause))
    } finally {
      if (controller === current) loading.value = false
    }
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

  watch(() => [toValue(scope), toValue(query)], reset, { immediate: true, deep: true })
  onScopeDispose(() => controller?.abort())

  const hasMore = computed(() => nextCursor.value !== null)
  return { items, total, totalCapped, hasMore, loading, loaded, error, loadMore, retry, reset }
}
