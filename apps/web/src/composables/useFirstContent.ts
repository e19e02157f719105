import { readonly, ref } from 'vue'
import type { Ref } from 'vue'

/**
 * Whether a timeline has shown its first page since the console started. Chrome that is not
 * needed to read (the header's mesh and language selects, the theme switch, the filter bar) waits
 * for it on a timeline route, so a deep link shows its events before antd styles those controls.
 */
const shown = ref(false)

/** Called by a timeline once its first page (or its error) is on screen. */
export function markFirstContent(): void {
  shown.value = true
}

export function useFirstContent(): Readonly<Ref<boolean>> {
  return readonly(shown)
}
