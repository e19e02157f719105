import { describe, expect, it } from 'vitest'
import { ApiError } from '../errors.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'

describe('page cursors', () => {
  it('round-trips a keyset position', () => {
    const cursor = encodeCursor([1_763_600_000_123, 'kubernetes:0d2c-ü/🙂'])
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(decodeCursor(cursor, ['n', 's'] as const)).toEqual([1_763_600_000_123, 'kubernetes:0d2c-ü/🙂'])
  })

  it.each([
    ['garbage', 'not-a-cursor'],
    ['empty checksum', `${encodeCursor([1, 'a']).split('.')[0]}.`],
    ['flipped payload', (() => {
      const [payload, sum] = encodeCursor([1, 'a']).split('.')
      return `${payload!.slice(0, -2)}${payload!.endsWith('AA') ? 'BB' : 'AA'}.${sum}`
    })()],
    ['wrong shape', encodeCursor(['a', 'b'])],
    ['too many parts', `${encodeCursor([1, 'a'])}.x`],
  ])('refuses a cursor it did not issue (%s) with a 400 on the cursor field', (_name, cursor) => {
    try {
      decodeCursor(cursor, ['n', 's'] as const)
      throw new Error('accepted')
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError)
      expect((error as ApiError).code).toBe('invalid_argument')
      expect((error as ApiError).field).toBe('cursor')
    }
  })
})
