import { describe, expect, it } from 'vitest'
import { highlightParts } from './highlight.ts'

const marked = (text: string, q: string | undefined) =>
  highlightParts(text, q)
    .map((part) => (part.match ? `[${part.text}]` : part.text))
    .join('')

describe('highlightParts', () => {
  it('marks every term, case-insensitively, keeping the text as it was', () => {
    expect(marked('Readiness probe failed: probe timeout', 'PROBE readiness')).toBe('[Readiness] [probe] failed: [probe] timeout')
  })

  it('returns the text unmarked without a query or without a match', () => {
    expect(highlightParts('abc', undefined)).toEqual([{ text: 'abc', match: false }])
    expect(marked('abc', 'xyz')).toBe('abc')
  })

  it('keeps markup as text parts', () => {
    expect(marked('<img src=x onerror=alert(1)>', 'img')).toBe('<[img] src=x onerror=alert(1)>')
  })
})
