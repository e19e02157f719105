import { onScopeDispose, ref, watch } from 'vue'
import type { Ref } from 'vue'

/**
 * Whether `target` is within `rootMargin` of the viewport, watched by an IntersectionObserver
 * (which costs nothing while the reader scrolls elsewhere, unlike a scroll listener).
 */
export function useVisibility(target: Ref<Element | null | undefined>, rootMargin = '0px'): Ref<boolean> {
  const visible = ref(false)
  let observer: IntersectionObserver | undefined

  const stopWatch = watch(
    target,
    (element) => {
      observer?.disconnect()
      visible.value = false
      if (!element) return
      observer = new IntersectionObserver(
        (entries) => {
          const entry = entries[entries.length - 1]
          if (entry) visible.value = entry.isIntersecting
        },
        { rootMargin },
      )
      observer.observe(element)
    },
    { immediate: true, flush: 'post' },
  )

  onScopeDispose(() => {
    stopWatch()
    observer?.disconnect()
  })
  return visible
}
