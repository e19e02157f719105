import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { ftsMatch, ftsTokens } from './ftsMatch.ts'
import { ftsQuery } from './timelineSql.ts'

/** An FTS5 table with the store's tokenizer, and its terms by document in order. */
function ftsTable(docs: Array<[string, string]>) {
  const db = new Database(':memory:')
  db.exec("CREATE VIRTUAL TABLE f USING fts5 (reason, message, tokenize = 'unicode61 remove_diacritics 2')")
  db.exec("CREATE VIRTUAL TABLE v USING fts5vocab (f, 'instance')")
  const insert = db.prepare('INSERT INTO f (rowid, reason, message) VALUES (?, ?, ?)')
  db.transaction(() => docs.forEach(([reason, message], index) => insert.run(index + 1, reason, message)))()
  return db
}

/** Every code unit `ftsTokens` covers (it answers for a text of that one character). */
const covered = Array.from({ length: 0x10000 }, (_, code) => String.fromCharCode(code)).filter((char) => ftsTokens(char) !== undefined)

describe('ftsMatch', () => {
  it('tokenizes every character it covers as unicode61 with remove_diacritics 2 does', () => {
    expect(covered.length).toBeGreaterThan(20_000)
    // Each character alone, between letters and between separators: a token of its own, part of
    // one, or a separator, and folded as FTS5 folds it.
    const texts = covered.map((char) => `${char} a${char}b -${char}- ${char}${char}`)
    const db = ftsTable(texts.map((text) => ['', text]))
    const terms = new Map<number, string[]>()
    for (const { term, doc } of db.prepare("SELECT term, doc FROM v WHERE col = 'message' ORDER BY doc, offset").all() as Array<{ term: string; doc: number }>) {
      terms.set(doc, [...(terms.get(doc) ?? []), term])
    }
    const wrong = texts.filter((text, index) => JSON.stringify(terms.get(index + 1) ?? []) !== JSON.stringify(ftsTokens(text)))
    expect(wrong.slice(0, 20).map((text) => `${text.codePointAt(0)!.toString(16)}: ${JSON.stringify(text)}`)).toEqual([])
  })

  it('answers what FTS5 answers for prefix phrases in either column, or NULL outside what it covers', () => {
    const docs: Array<[string, string]> = [
      ['BackOff', 'Back-off restarting failed container café-1'],
      ['Pulled', 'Successfully pulled image "nginx:1.25" in 2.1s'],
      ['ProviderRegistered', 'Provider org.x.Api registered at 10.0.0.7:20880'],
      ['Timeout', '服务调用失败 连接超时，重试 3 次'],
      ['Killing', 'コンテナの再起動 失敗 – ÉCOLE naïve Ærø'],
      ['Other', 'emoji 🙂 outside'],
      ['Mark', 'cafe\u0301 decomposed'],
    ]
    const db = ftsTable(docs)
    const matching = db.prepare('SELECT rowid FROM f WHERE f MATCH ? ORDER BY rowid').pluck()
    const queries = [
      'a', 'b', 'back', 'back-off', 'back off', 'off back', 'backoff', 'BACK restart', 'restarting failed', 'failed restarting',
      'cafe', 'café', 'cafe 1', 'ecole', 'école', 'naive', 'pulled', 'nginx 1 2', 'nginx 1 25', '2 1s', '10 0 0 7',
      'org x api', 'x.api', 'provider', 'registered at', '服务', '超时', '连接超时', '失敗', 'コンテナ', 'コ', '3 次', 'emoji',
      'outside', 'decomposed', 'z', '',
    ]
    for (const text of queries) {
      const query = ftsQuery(text)
      const want = matching.all(query) as number[]
      docs.forEach(([reason, message], index) => {
        const got = ftsMatch(reason, message, query)
        const covers = ftsTokens(reason) && ftsTokens(message) && ftsTokens(text.replace(/[^\p{L}\p{N}\p{M}]+/gu, ' '))
        if (!covers || query === '""') expect(got, `${text} in ${message}`).toBeNull()
        else expect(got, `${text} in ${message}`).toBe(want.includes(index + 1) ? 1 : 0)
      })
    }
  })

  it('leaves a token FTS5 might cut (32,768 bytes) to the index', () => {
    expect(ftsMatch('x', `y ${'a'.repeat(10_000)}`, '"a"*')).toBe(1)
    expect(ftsMatch('x', `y ${'a'.repeat(10_001)}`, '"a"*')).toBeNull()
  })
})
