/**
 * A timeline page as the API serves it (`EventPage`: the keyset position as an opaque cursor), and
 * as its JSON body. One definition for every store: on SQLite a reader thread builds the body, so
 * the thread serving HTTP receives one string rather than a structured clone of the page's objects
 * that it would only turn back into that string.
 */
import type { EventPage } from '@eventline/shared'
import { encodeCursor } from './cursor.ts'
import type { TimelineResult } from './types.ts'

function toEventPage(result: TimelineResult): EventPage {
  return {
    items: result.items,
    nextCursor: result.next ? encodeCursor([result.next.time, result.next.id]) : null,
    total: result.total,
    totalCapped: result.totalCapped,
  }
}

/** The body `res.json(toEventPage(result))` sends (no replacer, no spaces: Express's defaults). */
export function eventPageJson(result: TimelineResult): string {
  return JSON.stringify(toEventPage(result))
}
