/**
 * The server's version, from its `package.json`: `--version`, `eventline_build_info` and the
 * OpenAPI document all print it. The file sits one folder up both from `src/` (development, tests)
 * and from `dist/` (the bundle, also in the image), so one relative URL serves both.
 */
import { readFileSync } from 'node:fs'

function readVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof manifest.version === 'string' ? manifest.version : 'unknown'
  } catch {
    // A copy of the bundle without its manifest still starts; it just cannot say what it is.
    return 'unknown'
  }
}

export const VERSION = readVersion()
