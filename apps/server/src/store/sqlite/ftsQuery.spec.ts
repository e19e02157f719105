import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { ftsQuery } from './timelineSql.ts'

/** A real FTS5 table with the store's tokenizer: whatever `ftsQuery` builds must be valid syntax. */
function ftsTable() {
  const db = new Database(':memory:')
  db.exec("CREATE VIRTUAL TABLE f USING fts5 (reason, message, tokenize = 'unicode61 remove_diacritics 2')")
  db.prepare('INSERT INTO f (reason, message) VALUES (?, ?)').run('BackOff', 'Back-off restarting failed container café-1 "quoted" NEAR x')
  return { count: (text: string) => db.prepare('SELECT count(*) FROM f WHERE f MATCH ?').pluck().get(ftsQuery(text)) as number }
}

describe('ftsQuery', () => {
  const table = ftsTable()

  it('never builds a syntax error, whatever the text', () => {
    const ascii = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code))
    const nasty = ['', ' ', '"', '""', '*', 'a"b', 'a\u0000b', '\u0000', 'NEAR(', 'a OR', 'AND', 'NOT x', '^x', 'col:x', '(a', 'a)', '-x', '+x', '{a b}', '\ud800', '🙂', 'é']
    for (const text of [...ascii, ...ascii.map((char) => `back${char}off`), ...nasty]) {
      expect(() => table.count(text), JSON.stringify(text)).not.toThrow()
    }
  })

  it('keeps the word-prefix meaning: every word, as a prefix, punctuation splitting a phrase', () => {
    expect(table.count('back')).toBe(1)
    expect(table.count('back-off restart')).toBe(1)
    expect(table.count('"quoted" near')).toBe(1)
    expect(table.count('cafe')).toBe(1)
    expect(table.count('back missing')).toBe(0)
    expect(ftsQuery('a"b\u0000c')).toBe('"a b c"*')
    expect(ftsQuery('!!! ???')).toBe('""')
  })
})
