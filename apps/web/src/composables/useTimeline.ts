import type { EventItem, TimelineQueryInput } from '@eventline/shared'
import { onScopeDispose, ref, shallowRef, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'
import { listEvents } from '../api/events.ts'

/**
 * One page of a timeline for a reactive query: refetches when the query changes and drops the
 * answer of a request it has superseded, so a slow old answer never overwrites a newer one.
 * Known limitation: first page only; paging (`nextCursor`) and the live stream come later.
 */
export function useTimeline(query: MaybeRefOrGetter<TimelineQueryInput>) {
  const items = shallowRef<EventItem[]>([])
  const total = ref(0)
  const totalCapped = ref(false)
  const loading = ref(false)
  const loaded = ref(false)
  const error = shallowRef<Error | null>(null)
  let controller: AbortController | null = null

  async function load(): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      const page = await listEvents(toValue(query), current.signal)
      items.value = page.items
      total.value = page.total
      totalCapped.value = page.totalCapped
      loaded.value = true
    } catch (cause) {
      if (current.signal.aborted) return
      items.value = []
      error.value = cause instanceof Error ? cause : new Error(String(cause))
    } finally {
      if (controller === current) loading.value = false
    }
  }

  watch(() => toValue(query), load, { immediate: true, deep: true })
  onScopeDispose(() => controller?.abort())

  return { items, total, totalCapped, loading, loaded, error, reload: load }
}
