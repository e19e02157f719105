import { onScopeDispose, ref, watch } from 'vue'
import type { Ref } from 'vue'

/**
 * Whether `target` is within `rootMargin` of the viewport, watched by an IntersectionObserver
 * (which costs nothing while the reader scrolls elsewhere, unlike a scroll listener), and
 * `recheck` to ask again after the layout changed without the target crossing the margin.
 */
export function useVisibility(target: Ref<Element | null | undefined>, rootMargin = '0px'): { visible: Ref<boolean>; recheck: () => void } {
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

  /**
   * Forgets the last answer and observes again: the observer reports the target's position after
   * the next layout, even when it did not cross the margin (as when content grew above it).
   */
  function recheck(): void {
    const element = target.value
    if (!observer || !element) return
    visible.value = false
    observer.unobserve(element)
    observer.observe(element)
  }
  return { visible, recheck }
}
