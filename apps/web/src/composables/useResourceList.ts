import type { Page } from '@eventline/shared'
import { computed, ref, shallowRef, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { listResources } from '../api/resources.ts'
import type { ResourceKind, ResourceTypes } from '../api/resources.ts'
import { useLatestRequest } from './useLatestRequest.ts'
import { useRouteMesh } from './useRouteMesh.ts'

export const LIST_PAGE_SIZE = 50

function text(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' && first ? first : undefined
}

/**
 * One keyset page of a catalog list, driven by the URL (`?mesh&q&cursor`) so a reload or a shared
 * link shows the same page. The cursors of the pages before are kept in memory for "Previous".
 */
export function useResourceList<K extends ResourceKind>(kind: K) {
  const route = useRoute()
  const router = useRouter()
  const mesh = useRouteMesh()
  const q = computed(() => text(route.query.q))
  const cursor = computed(() => text(route.query.cursor))

  const page = shallowRef<Page<ResourceTypes[K]['summary']> | null>(null)
  const previous = ref<Array<string | undefined>>([])
  const { loading, error, run } = useLatestRequest()

  async function load(): Promise<void> {
    const outcome = await run((signal) => listResources(kind, { mesh: mesh.value, q: q.value, cursor: cursor.value, limit: LIST_PAGE_SIZE }, signal))
    if (outcome.ok) page.value = outcome.value
  }

  watch([mesh, q, cursor], load, { immediate: true })
  // Another mesh or search is another list: its pages start over.
  watch([mesh, q], () => {
    previous.value = []
  })

  function go(next: string | undefined): void {
    void router.push({ query: { ...route.query, cursor: next } })
  }

  return {
    page,
    loading,
    error,
    q,
    reload: load,
    search(value: string): void {
      void router.push({ query: { ...route.query, q: value.trim() || undefined, cursor: undefined } })
    },
    hasPrevious: computed(() => cursor.value !== undefined),
    hasNext: computed(() => Boolean(page.value?.nextCursor)),
    next(): void {
      if (!page.value?.nextCursor) return
      previous.value = [...previous.value, cursor.value]
      go(page.value.nextCursor)
    },
    previous(): void {
      // After a reload the way back is unknown: go to the first page rather than guess.
      const before = previous.value.length > 0 ? previous.value[previous.value.length - 1] : undefined
      previous.value = previous.value.slice(0, -1)
      go(before)
    },
  }
}
