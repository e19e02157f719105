/**
 * Splits a text into plain and matching parts for the search terms of `q`, so a template can
 * wrap matches in `<mark>` while every part stays text (never HTML). Case-insensitive; each
 * whitespace-separated term matches on its own, as the server's full-text search does.
 */
export interface TextPart {
  text: string
  match: boolean
}

const MAX_TERMS = 8

export function highlightParts(text: string, q: string | undefined): TextPart[] {
  const terms = [...new Set((q ?? '').toLowerCase().split(/\s+/).filter((term) => term.length > 0))].slice(0, MAX_TERMS)
  if (terms.length === 0 || text.length === 0) return [{ text, match: false }]
  const lower = text.toLowerCase()
  const parts: TextPart[] = []
  let plainStart = 0
  let index = 0
  while (index < text.length) {
    // The longest term matching here wins, so "probe" inside "probes" marks the longer term when both are searched.
    let length = 0
    for (const term of terms) if (term.length > length && lower.startsWith(term, index)) length = term.length
    if (length === 0) {
      index++
      continue
    }
    if (index > plainStart) parts.push({ text: text.slice(plainStart, index), match: false })
    parts.push({ text: text.slice(index, index + length), match: true })
    index += length
    plainStart = index
  }
  if (plainStart < text.length) parts.push({ text: text.slice(plainStart), match: false })
  return parts
}
