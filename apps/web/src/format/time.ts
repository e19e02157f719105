/** Time formatting of the console; pure functions of (time, now, locale) so they test without a clock. */

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
]

const relativeFormats = new Map<string, Intl.RelativeTimeFormat>()
const exactFormats = new Map<string, Intl.DateTimeFormat>()

function relativeFormat(locale: string): Intl.RelativeTimeFormat {
  let format = relativeFormats.get(locale)
  if (!format) relativeFormats.set(locale, (format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })))
  return format
}

/**
 * "5 minutes ago", "yesterday": the largest unit that fits, rounded down so "59 minutes" never
 * reads as "1 hour". Under 10 seconds, and for any time after `now` (a live event that arrived
 * between two ticks of the clock, or a source whose clock runs ahead), it is `justNow`: a
 * timeline never claims an event happens "in 12 seconds".
 */
export function formatRelative(iso: string, now: number, locale: string, justNow: string): string {
  const delta = Math.min(0, Date.parse(iso) - now)
  const size = Math.abs(delta)
  if (size < 10_000) return justNow
  for (const [unit, ms] of UNITS) {
    if (size >= ms) return relativeFormat(locale).format(Math.trunc(delta / ms), unit)
  }
  return justNow
}

/** The exact local date and time with seconds and the zone, for hover text and the "since" of repeats. */
export function formatExact(iso: string, locale: string): string {
  let format = exactFormats.get(locale)
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    })
    exactFormats.set(locale, format)
  }
  return format.format(new Date(iso))
}

/** How a timeline shows times: the local clock, UTC, or relative to now (with the clock beside it). */
export type TimeMode = 'local' | 'utc' | 'relative'

const clockFormats = new Map<string, Intl.DateTimeFormat>()
const dayFormats = new Map<string, Intl.DateTimeFormat>()

function cached(cache: Map<string, Intl.DateTimeFormat>, key: string, create: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = cache.get(key)
  if (!format) cache.set(key, (format = create()))
  return format
}

/** The time of day to the second ("14:03:07"), local or UTC: the row's own clock; the day is in the separator above it. */
export function formatClock(iso: string, locale: string, utc: boolean): string {
  return cached(clockFormats, `${locale}|${utc}`, () =>
    new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: utc ? 'UTC' : undefined }),
  ).format(new Date(iso))
}

/** The calendar day of a time ("Tue, Nov 24, 2026"), local or UTC: the text of a day separator. */
export function formatDay(iso: string, locale: string, utc: boolean): string {
  return cached(dayFormats, `${locale}|${utc}`, () =>
    new Intl.DateTimeFormat(locale, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: utc ? 'UTC' : undefined }),
  ).format(new Date(iso))
}

/** A key that changes exactly when the calendar day (local or UTC) does; cheaper than formatting. */
export function dayKey(ms: number, utc: boolean): number {
  const date = new Date(ms)
  return utc
    ? date.getUTCFullYear() * 10_000 + date.getUTCMonth() * 100 + date.getUTCDate()
    : date.getFullYear() * 10_000 + date.getMonth() * 100 + date.getDate()
}

/** A short span ("40 s", "3 min", "2 h") for the length of a burst or a gap. */
export function formatSpan(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 120) return `${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 120) return `${minutes} min`
  return `${Math.round(minutes / 60)} h`
}
