import { computed, onScopeDispose, ref } from 'vue'
import type { ComputedRef } from 'vue'
import { usePreferencesStore } from '../stores/preferences.ts'

/** Whether the console shows dark: the operating system's choice until the reader pins one with the theme toggle. */
export function useDark(): ComputedRef<boolean> {
  const preferences = usePreferencesStore()
  const systemDark = ref(false)
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)')
  if (media) {
    systemDark.value = media.matches
    const follow = (event: MediaQueryListEvent) => {
      systemDark.value = event.matches
    }
    media.addEventListener('change', follow)
    onScopeDispose(() => media.removeEventListener('change', follow))
  }
  return computed(() => (preferences.theme === 'system' ? systemDark.value : preferences.theme === 'dark'))
}
