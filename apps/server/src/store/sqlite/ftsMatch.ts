/**
 * An `ftsQuery` query decided on one event's reason and message in JS, as FTS5 would decide it,
 * for the `probe` search plan: there each scanned row used to probe the FTS index by rowid, and a
 * prefix probe is a merge of the doclists of every term the prefix starts (2-20 ms per row at
 * 100,000 events without a prefix index of its length). Testing the row's own text costs
 * microseconds whatever the prefix, so the FTS table needs no prefix index for probes.
 *
 * The answer must be the FTS index's own. The tokenizer (`unicode61 remove_diacritics 2`) is
 * reproduced for the characters listed here only: ASCII, Latin letters with or without accents,
 * Greek, Cyrillic, kana, CJK ideographs and common punctuation; `ftsMatch.spec.ts` checks each of
 * them against SQLite. A text or query with any other character (another script, an emoji, a
 * combining mark) gets NULL, and the SQL falls back to the FTS probe for that row.
 */

/** Registered on every connection (`openDatabase`): `fts_match(reason, message, ftsQuery)` is 1, 0 or NULL. */
export const FTS_MATCH_FUNCTION = 'fts_match'

/**
 * What each UTF-16 code unit of the covered ranges is to the tokenizer: '' a separator, else its
 * folded form; undefined outside the ranges (surrogates included, so astral characters too).
 */
const FOLD: Array<string | undefined> = new Array(0x10000)

const range = (from: number, to: number, fold: (char: string) => string) => {
  for (let code = from; code <= to; code++) FOLD[code] = fold(String.fromCharCode(code))
}
const separator = () => ''
const identity = (char: string) => char
const lower = (char: string) => char.toLowerCase()
/** Lower case without the accent: what remove_diacritics 2 folds a Latin letter to. */
const base = (char: string) => char.normalize('NFD')[0]!.toLowerCase()

range(0x00, 0x7f, (char) => (/[A-Za-z0-9]/.test(char) ? char.toLowerCase() : ''))
// Latin-1 punctuation and symbols, × and ÷; its letters and digits (ª ² ³ µ ¹ º ¼ ½ ¾) are left out.
range(0xa0, 0xa9, separator)
range(0xab, 0xb1, separator)
range(0xb4, 0xb4, separator)
range(0xb6, 0xb8, separator)
range(0xbb, 0xbb, separator)
range(0xbf, 0xbf, separator)
range(0xd7, 0xd7, separator)
range(0xf7, 0xf7, separator)
// Latin-1 and Latin Extended-A letters, without their accents; not ſ, which it keeps.
range(0xc0, 0xd6, base)
range(0xd8, 0xf6, base)
range(0xf8, 0x17e, base)
// Greek and Cyrillic letters, lower-cased only (unicode61 keeps their accents); not ς, which it folds to σ.
range(0x391, 0x3a1, lower)
range(0x3a3, 0x3a9, lower)
range(0x3b1, 0x3c1, lower)
range(0x3c3, 0x3c9, lower)
range(0x400, 0x45f, lower)
// General punctuation (dashes, quotes, bullets, ellipsis, per mille).
range(0x2010, 0x2027, separator)
range(0x2030, 0x205e, separator)
// CJK punctuation, kana, the CJK Unified Ideographs block and full-width punctuation.
range(0x3000, 0x3004, separator)
range(0x3008, 0x3020, separator)
range(0x3041, 0x3096, identity)
range(0x30a1, 0x30fa, identity)
range(0x4e00, 0x9fff, identity)
range(0xff01, 0xff0f, separator)
range(0xff1a, 0xff20, separator)

/**
 * FTS5 cuts a token at 32,768 bytes: a token that long is left to it. Past this many UTF-16 code
 * units (3 bytes each at most in UTF-8, for the ranges here) a token might be cut.
 */
const MAX_TOKEN = 10_000

/** The folded tokens of `text` in order, or undefined when it has a character outside the ranges. */
export function ftsTokens(text: string): string[] | undefined {
  const out: string[] = []
  let token = ''
  for (let index = 0; index <= text.length; index++) {
    const folded = index < text.length ? FOLD[text.charCodeAt(index)] : ''
    if (folded === undefined) return undefined
    if (folded) {
      token += folded
    } else if (token) {
      if (token.length > MAX_TOKEN) return undefined
      out.push(token)
      token = ''
    }
  }
  return out
}

/** Whether `phrase` occurs in `column`: its tokens in a row, the last one as a prefix. */
function hasPhrase(column: string[], phrase: string[]): boolean {
  const last = phrase.length - 1
  for (let start = 0; start + last < column.length; start++) {
    let at = 0
    while (at < last && column[start + at] === phrase[at]) at++
    if (at === last && column[start + last]!.startsWith(phrase[last]!)) return true
  }
  return false
}

let cachedQuery: string | undefined
let cachedPhrases: string[][] | undefined

/** The phrases of an `ftsQuery` result (`"back off"* "a"*`) as folded tokens, or undefined when not covered. */
function phrases(query: string): string[][] | undefined {
  if (query === cachedQuery) return cachedPhrases
  const parsed = [...query.matchAll(/"([^"]*)"\*/g)].map(([, text]) => ftsTokens(text!))
  cachedQuery = query
  // An empty phrase (`""`, no token) is left to FTS5 too.
  cachedPhrases = parsed.length && parsed.every((phrase) => phrase?.length) ? (parsed as string[][]) : undefined
  return cachedPhrases
}

/**
 * 1 when the event's text matches the query (every phrase in the reason or in the message), 0 when
 * it does not, NULL when the text or the query has a character this module does not cover.
 */
export function ftsMatch(reason: string, message: string, query: string): number | null {
  const wanted = phrases(query)
  if (!wanted) return null
  const columns = [ftsTokens(reason), ftsTokens(message)]
  if (!columns[0] || !columns[1]) return null
  return wanted.every((phrase) => columns.some((column) => hasPhrase(column!, phrase))) ? 1 : 0
}
