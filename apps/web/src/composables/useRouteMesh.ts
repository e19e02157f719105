import { computed } from 'vue'
import type { WritableComputedRef } from 'vue'
import { useRoute, useRouter } from 'vue-router'

/**
 * The selected mesh, kept in the URL as `?mesh=` so every route deep-links and reloads with it.
 * `undefined` means all meshes. Setting it pushes a history entry and keeps the page and its filters.
 */
export function useRouteMesh(): WritableComputedRef<string | undefined> {
  const route = useRoute()
  const router = useRouter()
  return computed({
    get: () => {
      const value = route.query.mesh
      // A repeated `?mesh=` arrives as an array; the first one wins, as it would on the server.
      const mesh = Array.isArray(value) ? value[0] : value
      return mesh ? mesh : undefined
    },
    set: (mesh) => {
      // The page stays; a list cursor belongs to the old mesh's list and starts over.
      void router.push({ query: { ...route.query, mesh: mesh || undefined, cursor: undefined } })
    },
  })
}
