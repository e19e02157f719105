import { describe, expect, it } from 'vitest'
import { dayKey, formatClock, formatExact, formatRelative, formatSpan } from './time.ts'

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
    [new Date(NOW + 120_000).toISOString(), 'en', 'just now'],
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

describe('formatClock', () => {
  it('shows the time of day to the second, in UTC when asked', () => {
    expect(formatClock('2026-11-24T09:04:05Z', 'en', true)).toBe('09:04:05')
    expect(formatClock('2026-11-24T23:59:59Z', 'zh-CN', true)).toBe('23:59:59')
  })
})

describe('dayKey', () => {
  it('changes at midnight UTC, not within a day', () => {
    expect(dayKey(Date.parse('2026-11-24T00:00:00Z'), true)).toBe(dayKey(Date.parse('2026-11-24T23:59:59Z'), true))
    expect(dayKey(Date.parse('2026-11-24T23:59:59Z'), true)).not.toBe(dayKey(Date.parse('2026-11-25T00:00:00Z'), true))
  })
})

describe('formatSpan', () => {
  it.each([
    [40_000, '40 s'],
    [600_000, '10 min'],
    [3 * 3_600_000, '3 h'],
  ])('%d ms reads %s', (ms, expected) => {
    expect(formatSpan(ms)).toBe(expected)
  })
})
