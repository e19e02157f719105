/**
 * The system Chromium the browser tests drive. Playwright's own browser builds are never
 * downloaded: this machine reaches no download host, and CI runs on the same kind of machine.
 */
import { accessSync, constants } from 'node:fs'

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

/** Flags for a headless run in a container: no sandbox (root), no GPU, and no calls home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
]

export interface ChromiumLookup {
  path: string
  found: boolean
  /** Why it cannot be used, and how to fix that; set when `found` is false. */
  problem?: string
}

/** Looks for the Chromium executable at `$CHROMIUM_PATH`, else at {@link DEFAULT_CHROMIUM_PATH}. */
export function findChromium(path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH): ChromiumLookup {
  try {
    accessSync(path, constants.X_OK)
    return { path, found: true }
  } catch {
    return {
      path,
      found: false,
      problem: `no executable Chromium at ${path}: install it (apt-get install chromium) or point CHROMIUM_PATH at one`,
    }
  }
}
