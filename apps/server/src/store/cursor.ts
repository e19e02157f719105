/**
 * Opaque page cursors. A cursor carries the keyset position of the last row served and a
 * checksum, so a cursor this server did not issue (typo, truncation, tampering) is refused
 * with a 400 instead of silently serving the wrong page.
 */
import { createHash } from 'node:crypto'
import { invalidArgument } from '../errors.ts'

const VERSION = 'c1'

function checksum(payload: string): string {
  return createHash('sha256').update(`eventline-cursor:${payload}`).digest('base64url').slice(0, 10)
}

/** Encodes a keyset position (e.g. `[time, id]`) into an opaque cursor string. */
export function encodeCursor(position: ReadonlyArray<string | number>): string {
  const payload = Buffer.from(JSON.stringify([VERSION, ...position])).toString('base64url')
  return `${payload}.${checksum(payload)}`
}

/**
 * Decodes a cursor issued by `encodeCursor` with the given shape of position (`'n'` number,
 * `'s'` string). Throws a 400 naming `field` when it was not issued by this server.
 */
export function decodeCursor<const T extends ReadonlyArray<'n' | 's'>>(
  cursor: string,
  shape: T,
  field = 'cursor',
): { [K in keyof T]: T[K] extends 'n' ? number : string } {
  const refuse = () => invalidArgument(field, 'was not issued by this server (expected a nextCursor value from a previous page)')
  const [payload, sum, extra] = cursor.split('.')
  if (!payload || !sum || extra !== undefined || checksum(payload) !== sum) throw refuse()
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw refuse()
  }
  if (!Array.isArray(decoded) || decoded[0] !== VERSION || decoded.length !== shape.length + 1) throw refuse()
  const position = decoded.slice(1)
  const matches = shape.every((kind, i) => (kind === 'n' ? Number.isSafeInteger(position[i]) : typeof position[i] === 'string'))
  if (!matches) throw refuse()
  return position as { [K in keyof T]: T[K] extends 'n' ? number : string }
}
