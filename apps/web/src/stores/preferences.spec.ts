import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { detectLocale, usePreferencesStore } from './preferences.ts'

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe('detectLocale', () => {
  it.each([
    [['zh-CN', 'en'], 'zh-CN'],
    [['zh-TW'], 'zh-CN'],
    [['en-GB', 'zh-CN'], 'en'],
    [['de-DE', 'zh'], 'zh-CN'],
    [['fr'], 'en'],
    [[], 'en'],
  ])('picks %j -> %s', (languages, expected) => {
    expect(detectLocale(languages)).toBe(expected)
  })
})

describe('preferences store', () => {
  it('remembers the language and the mesh across visits', () => {
    const first = usePreferencesStore()
    first.setLocale('zh-CN')
    first.rememberMesh('prod')

    setActivePinia(createPinia())
    const next = usePreferencesStore()
    expect(next.locale).toBe('zh-CN')
    expect(next.mesh).toBe('prod')

    next.rememberMesh(undefined)
    setActivePinia(createPinia())
    expect(usePreferencesStore().mesh).toBeUndefined()
  })

  it('remembers the time mode and a pinned theme; system is the default and is not stored', () => {
    const first = usePreferencesStore()
    expect(first.timeMode).toBe('local')
    expect(first.theme).toBe('system')
    first.setTimeMode('utc')
    first.setTheme('dark')
    setActivePinia(createPinia())
    const next = usePreferencesStore()
    expect(next.timeMode).toBe('utc')
    expect(next.theme).toBe('dark')
    next.setTheme('system')
    expect(localStorage.getItem('eventline.theme')).toBeNull()
    localStorage.setItem('eventline.timeMode', 'sundial')
    setActivePinia(createPinia())
    expect(usePreferencesStore().timeMode).toBe('local')
  })

  it('ignores a stored language it does not know and falls back to the browser', () => {
    localStorage.setItem('eventline.locale', 'klingon')
    vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['zh-CN'])
    expect(usePreferencesStore().locale).toBe('zh-CN')
  })

  it('keeps working for the session when storage refuses writes', () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('quota exceeded', 'QuotaExceededError')
    })
    const store = usePreferencesStore()
    store.setLocale('zh-CN')
    store.rememberMesh('prod')
    expect(store.locale).toBe('zh-CN')
    expect(store.mesh).toBe('prod')
  })
})
