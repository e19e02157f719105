import { describe, expect, it } from 'vitest'
import { formatExact, formatRelative } from './time.ts'

const NOW = Date.parse('2026-11-24T12:00:00Z')
const ago = (ms: number) => new Date(NOW - ms).toISOString()

describe('formatRelative', () => {
  it.each([
    [ago(3000), 'en', 'just now'],
    [ago(45_000), 'en', '45 seconds ago'],
    [ago(59 * 60_000), 'en', '59 minutes ago'],
    [ago(61 * 60_000), 'en', '1 hour ago'],
    [ago(86_400_000), 'en', 'yesterday'],
    [ago(3 * 86_400_000), 'en', '3 days ago'],
    [new Date(NOW + 120_000).toISOString(), 'en', 'in 2 minutes'],
    [ago(5 * 60_000), 'zh-CN', '5分钟前'],
  ])('%s in %s reads %s', (iso, locale, expected) => {
    expect(formatRelative(iso, NOW, locale, 'just now')).toBe(expected)
  })
})

describe('formatExact', () => {
  it('shows the date, the time to the second and the zone', () => {
    const text = formatExact('2026-11-24T12:34:56Z', 'en')
    expect(text).toMatch(/2026/)
    expect(text).toMatch(/\d{2}:34:56/)
  })
})
