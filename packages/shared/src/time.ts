/** Durations (`30m`, `12h`, `14d`) and time bounds as the contract spells them. */

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
const DURATION_PATTERN = /^(\d{1,9})([smhdw])$/
// ISO 8601 date-time with a zone (Z or ±hh:mm); a bare date is read as midnight UTC.
const ISO_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2})))?$/

/**
 * Whether the fields name a real instant. `Date.parse` rolls an impossible date over (2026-02-30
 * becomes 2 March) instead of refusing it, so the calendar is checked here first.
 */
function isRealDate(match: RegExpExecArray): boolean {
  const [year, month, day, hour = 0, minute = 0, second = 0, zoneHours = 0, zoneMinutes = 0] = match
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)))
  if (month! < 1 || month! > 12 || day! < 1) return false
  // Day 0 of the next month is the last day of this one (leap years included).
  if (day! > new Date(Date.UTC(year!, month!, 0)).getUTCDate()) return false
  return hour <= 23 && minute <= 59 && second <= 59 && zoneHours <= 23 && zoneMinutes <= 59
}

/** Parses `30m`, `12h`, `14d` (also `s` and `w`) into milliseconds; `undefined` when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim())
  if (!match) return undefined
  const amount = Number(match[1])
  return amount > 0 ? amount * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : undefined
}

/** Parses an ISO 8601 timestamp into epoch milliseconds; `undefined` when it does not parse or names no real date. */
export function parseIsoTime(text: string): number | undefined {
  const match = ISO_PATTERN.exec(text)
  if (!match || !isRealDate(match)) return undefined
  const ms = Date.parse(text.includes('T') || text.length === 10 ? text : text.replace(' ', 'T'))
  return Number.isFinite(ms) ? ms : undefined
}

/**
 * Parses a `since`/`until` bound: ISO 8601, or a relative duration meaning "that long before `now`".
 * Returns epoch milliseconds, or `undefined` when the text is neither.
 */
export function parseTimeBound(text: string, now: number): number | undefined {
  const relative = parseDuration(text)
  if (relative !== undefined) return now - relative
  return parseIsoTime(text)
}

/** Epoch milliseconds to the contract's ISO 8601 UTC form. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString()
}
