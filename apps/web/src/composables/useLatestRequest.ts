import { onScopeDispose, ref, shallowRef } from 'vue'

export type RequestOutcome<T> = { ok: true; value: T } | { ok: false }

/**
 * One request at a time for a view that refetches as its inputs change: a new request aborts
 * the one before, so a slow old answer never lands after a newer one. `loading` and `error`
 * describe the latest request only; aborted requests leave no error.
 */
export function useLatestRequest() {
  const loading = ref(false)
  const error = shallowRef<Error | null>(null)
  let controller: AbortController | null = null

  async function run<T>(request: (signal: AbortSignal) => Promise<T>): Promise<RequestOutcome<T>> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      const value = await request(current.signal)
      return current.signal.aborted ? { ok: false } : { ok: true, value }
    } catch (cause) {
      if (!current.signal.aborted) error.value = cause instanceof Error ? cause : new Error(String(cause))
      return { ok: false }
    } finally {
      if (controller === current) loading.value = false
    }
  }

  onScopeDispose(() => controller?.abort())
  return { loading, error, run }
}
