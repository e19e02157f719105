import { defineStore } from 'pinia'
import { ref } from 'vue'

export const LOCALES = ['en', 'zh-CN'] as const
export type Locale = (typeof LOCALES)[number]

const LOCALE_KEY = 'eventline.locale'
const MESH_KEY = 'eventline.mesh'
const TIME_MODE_KEY = 'eventline.timeMode'
const THEME_KEY = 'eventline.theme'

/** How timelines show times (see `format/time.ts`). */
export const TIME_MODES = ['local', 'utc', 'relative'] as const
export type TimeMode = (typeof TIME_MODES)[number]

/** `system` follows the operating system's light or dark setting; the others pin one. */
export type ThemeChoice = 'system' | 'light' | 'dark'

/** The console's language for the browser's preferred languages: Chinese ones get zh-CN, the rest English. */
export function detectLocale(languages: readonly string[]): Locale {
  for (const language of languages) {
    const lower = language.toLowerCase()
    if (lower.startsWith('zh')) return 'zh-CN'
    if (lower.startsWith('en')) return 'en'
  }
  return 'en'
}

// Storage can be missing or refuse writes (private windows, disabled cookies): preferences are then
// kept for the session only, never an error.
function readStored(key: string): string | undefined {
  try {
    return globalThis.localStorage?.getItem(key) ?? undefined
  } catch {
    return undefined
  }
}

function writeStored(key: string, value: string | undefined): void {
  try {
    if (value === undefined) globalThis.localStorage?.removeItem(key)
    else globalThis.localStorage?.setItem(key, value)
  } catch {
    // See readStored.
  }
}

function isLocale(value: string | undefined): value is Locale {
  return (LOCALES as readonly string[]).includes(value ?? '')
}

/**
 * What the console remembers on this browser: the language (default from the browser), the
 * last mesh chosen, so a link without `?mesh=` opens where the operator last looked, how
 * timelines show times, and a light or dark theme when one was pinned.
 */
export const usePreferencesStore = defineStore('preferences', () => {
  const stored = readStored(LOCALE_KEY)
  const locale = ref<Locale>(isLocale(stored) ? stored : detectLocale(globalThis.navigator?.languages ?? []))
  const mesh = ref<string | undefined>(readStored(MESH_KEY) || undefined)
  const storedMode = readStored(TIME_MODE_KEY)
  const timeMode = ref<TimeMode>((TIME_MODES as readonly string[]).includes(storedMode ?? '') ? (storedMode as TimeMode) : 'local')
  const storedTheme = readStored(THEME_KEY)
  const theme = ref<ThemeChoice>(storedTheme === 'light' || storedTheme === 'dark' ? storedTheme : 'system')

  function setLocale(value: Locale): void {
    locale.value = value
    writeStored(LOCALE_KEY, value)
  }

  /** Remembers the mesh in view; `undefined` (all meshes) forgets it. */
  function rememberMesh(value: string | undefined): void {
    if (mesh.value === value) return
    mesh.value = value
    writeStored(MESH_KEY, value)
  }

  function setTimeMode(value: TimeMode): void {
    timeMode.value = value
    writeStored(TIME_MODE_KEY, value)
  }

  /** Pins light or dark; `system` goes back to following the operating system. */
  function setTheme(value: ThemeChoice): void {
    theme.value = value
    writeStored(THEME_KEY, value === 'system' ? undefined : value)
  }

  return { locale, mesh, timeMode, theme, setLocale, rememberMesh, setTimeMode, setTheme }
})
