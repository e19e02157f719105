import { computed, onScopeDispose, ref, shallowRef, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'
import { ApiError } from '../api/client.ts'
import { getResource } from '../api/resources.ts'
import type { ResourceKind, ResourceTypes } from '../api/resources.ts'

/** What the catalog knows of one application, instance or service; `notFound` after a 404. */
export function useResource<K extends ResourceKind>(kind: K, name: MaybeRefOrGetter<string>, mesh: MaybeRefOrGetter<string | undefined>) {
  const detail = shallowRef<ResourceTypes[K]['detail'] | null>(null)
  const loading = ref(false)
  const error = shallowRef<Error | null>(null)
  let controller: AbortController | null = null

  async function load(): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      detail.value = await getResource(kind, toValue(name), toValue(mesh), current.signal)
    } catch (cause) {
      if (current.signal.aborted) return
      detail.value = null
      error.value = cause instanceof Error ? cause : new Error(String(cause))
    } finally {
      if (controller === current) loading.value = false
    }
  }

  watch(() => [toValue(name), toValue(mesh)], load, { immediate: true })
  onScopeDispose(() => controller?.abort())

  const notFound = computed(() => error.value instanceof ApiError && error.value.status === 404)
  return { detail, loading, error, notFound, reload: load }
}
