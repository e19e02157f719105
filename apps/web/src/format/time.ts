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
 * "5 minutes ago", "yesterday", "in 2 minutes" (clock skew): the largest unit that fits, rounded
 * down so "59 minutes" never reads as "1 hour". Under 10 seconds it is `justNow`.
 */
export function formatRelative(iso: string, now: number, locale: string, justNow: string): string {
  const delta = Date.parse(iso) - now
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
