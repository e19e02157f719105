import { computed, shallowRef, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'
import { ApiError } from '../api/client.ts'
import { getResource } from '../api/resources.ts'
import type { ResourceKind, ResourceTypes } from '../api/resources.ts'
import { useLatestRequest } from './useLatestRequest.ts'

/** What the catalog knows of one application, instance or service; `notFound` after a 404. */
export function useResource<K extends ResourceKind>(kind: K, name: MaybeRefOrGetter<string>, mesh: MaybeRefOrGetter<string | undefined>) {
  const detail = shallowRef<ResourceTypes[K]['detail'] | null>(null)
  const { loading, error, run } = useLatestRequest()

  async function load(previous?: unknown[], next?: unknown[]): Promise<void> {
    // Another entity: what was shown belongs to the old one. A retry keeps it until the answer.
    if (previous !== undefined && next !== undefined) detail.value = null
    const outcome = await run((signal) => getResource(kind, toValue(name), toValue(mesh), signal))
    if (outcome.ok) detail.value = outcome.value
    else if (error.value) detail.value = null
  }

  watch(
    () => [toValue(name), toValue(mesh)],
    (next, previous) => load(previous, next),
    { immediate: true },
  )

  const notFound = computed(() => error.value instanceof ApiError && error.value.status === 404)
  return { detail, loading, error, notFound, reload: () => load() }
}
