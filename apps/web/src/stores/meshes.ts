import type { Mesh } from '@eventline/shared'
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { listMeshes } from '../api/meshes.ts'

/** The configured meshes (sources), loaded once and shared by every view that names one. */
export const useMeshesStore = defineStore('meshes', () => {
  const meshes = shallowRef<Mesh[]>([])
  const loading = ref(false)
  const error = shallowRef<Error | null>(null)
  let pending: Promise<void> | null = null

  /** Loads the list; concurrent callers share one request. `force` refetches a list already loaded. */
  function load(force = false): Promise<void> {
    if (pending) return pending
    if (!force && meshes.value.length > 0) return Promise.resolve()
    loading.value = true
    error.value = null
    pending = listMeshes()
      .then((page) => {
        meshes.value = page.items
      })
      .catch((cause: unknown) => {
        error.value = cause instanceof Error ? cause : new Error(String(cause))
      })
      .finally(() => {
        loading.value = false
        pending = null
      })
    return pending
  }

  return { meshes, loading, error, load }
})
