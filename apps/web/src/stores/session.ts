import { defineStore } from 'pinia'
import { ref } from 'vue'
import { ApiError, getJson, onUnauthorized, setAccessToken } from '../api/client.ts'

const TOKEN_KEY = 'eventline.token'

// Session storage: the token lives as long as the tab, never in a file on the operator's disk.
function stored(): string | undefined {
  try {
    return globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? undefined
  } catch {
    return undefined
  }
}

function store(token: string | undefined): void {
  try {
    if (token === undefined) globalThis.sessionStorage?.removeItem(TOKEN_KEY)
    else globalThis.sessionStorage?.setItem(TOKEN_KEY, token)
  } catch {
    // Without storage the token lasts until the page reloads.
  }
}

/**
 * The console's access to a server started with `EVENTLINE_TOKEN`: any 401 asks for the token;
 * a token is checked against the server before it is kept.
 */
export const useSessionStore = defineStore('session', () => {
  const token = ref<string | undefined>(stored())
  setAccessToken(token.value)
  const required = ref(false)
  onUnauthorized(() => {
    required.value = true
  })

  /** Checks `candidate` with the server; resolves true and keeps it when accepted. */
  async function signIn(candidate: string): Promise<boolean> {
    const previous = token.value
    setAccessToken(candidate)
    try {
      await getJson('/meshes')
    } catch (error) {
      setAccessToken(previous)
      if (error instanceof ApiError && error.status === 401) return false
      throw error
    }
    token.value = candidate
    store(candidate)
    required.value = false
    return true
  }

  function signOut(): void {
    token.value = undefined
    setAccessToken(undefined)
    store(undefined)
  }

  return { token, required, signIn, signOut }
})
