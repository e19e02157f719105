import { defineStore } from 'pinia'
import { ref } from 'vue'

export const LOCALES = ['en', 'zh-CN'] as const
export type Locale = (typeof LOCALES)[number]

const LOCALE_KEY = 'eventline.locale'
const MESH_KEY = 'eventline.mesh'

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
 * What the console remembers on this browser: the language (default from the browser) and the
 * last mesh chosen, so a link without `?mesh=` opens where the operator last looked.
 */
export const usePreferencesStore = defineStore('preferences', () => {
  const stored = readStored(LOCALE_KEY)
  const locale = ref<Locale>(isLocale(stored) ? stored : detectLocale(globalThis.navigator?.languages ?? []))
  const mesh = ref<string | undefined>(readStored(MESH_KEY) || undefined)

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

  return { locale, mesh, setLocale, rememberMesh }
})
