/**
 * What the main thread and the SQLite store threads (`storeWorker.ts`) say to each other, and which
 * `SqliteStore` methods each kind of thread runs. A read method added to `SqliteStore` and
 * `EventStore` is served by the reader pool once its name is in `READ_METHODS`; the type check
 * below fails while an `EventStore` method is in neither list.
 */
import { UnavailableError } from '../../errors.ts'
import type { EventStore } from '../types.ts'
import type { SqliteStore } from './sqliteStore.ts'

/** Methods that only read: run on a reader thread (read-only connection), under the query budget. */
export const READ_METHODS = [
  'timeline',
  'timelineBody',
  'timelineByOffset',
  'eventsAfter',
  'readCheckpoint',
  'readCheckpoints',
  'pendingOutbox',
  'outboxCounts',
  'meshes',
  'applications',
  'application',
  'instances',
  'instance',
  'services',
  'service',
  'latestSeq',
  'event',
  'eventOrigins',
  'timelinePage',
  'oldestMatch',
  'histogram',
  'facets',
  'activityPeriods',
] as const satisfies ReadonlyArray<keyof EventStore>

/**
 * Reads that look up a few rows by key (an id, a sequence, a checkpoint, a catalog entry): they go
 * ahead of timeline pages in the reader pool's queue, so a POST's id check or a live stream's
 * catch-up never waits behind a queue of pages.
 */
export const QUICK_READ_METHODS = [
  'eventsAfter',
  'readCheckpoint',
  'readCheckpoints',
  'outboxCounts',
  'meshes',
  'application',
  'instance',
  'service',
  'latestSeq',
  'event',
  'eventOrigins',
] as const satisfies ReadonlyArray<ReadMethod>

/**
 * The reader pool's lanes: `quick` (keyed lookups, first), `page` (timelines, histograms, facets and
 * lists without `q`) and `search` (any read whose filter has `q`, the only kind that can take
 * seconds: it may hold all readers but one, so a page never waits behind searches).
 */
export type ReadLane = 'quick' | 'page' | 'search'

const quickMethods = new Set<string>(QUICK_READ_METHODS)

export function readLane(method: ThreadReadMethod, args: readonly unknown[]): ReadLane {
  if (quickMethods.has(method)) return 'quick'
  const filter = args[0]
  return typeof filter === 'object' && filter !== null && (filter as { q?: unknown }).q !== undefined ? 'search' : 'page'
}

/** The reader pool's waiting calls by lane, each queue oldest first. */
export type LaneQueues<T extends { calledAt: number }> = Record<ReadLane, T[]>

/**
 * Which lane the next free reader serves, or undefined to leave it idle: quick lookups first; then
 * the older of the first page and the first search, searches only while fewer than all readers but
 * one run them (at least one: a pool down to one reader still answers searches).
 */
export function nextLane<T extends { calledAt: number }>(queues: LaneQueues<T>, searching: number, readers: number): ReadLane | undefined {
  const { quick, page, search } = queues
  if (quick.length > 0) return 'quick'
  const searchAllowed = search.length > 0 && searching < Math.max(1, readers - 1)
  if (searchAllowed && (page.length === 0 || search[0]!.calledAt < page[0]!.calledAt)) return 'search'
  return page.length > 0 ? 'page' : undefined
}

/**
 * The lane whose head may be sent to a reader that is already running a call (never a search: a
 * search can run for seconds and what waits behind it in that thread would wait as long): quick
 * look-ups, then a page, but only a page that came before every waiting search, so that searches
 * are not overtaken for ever. The reader starts it the moment it has posted its current answer,
 * rather than idling while the main thread takes that answer in.
 */
export function pipelineLane<T extends { calledAt: number }>(queues: LaneQueues<T>): 'quick' | 'page' | undefined {
  const { quick, page, search } = queues
  if (quick.length > 0) return 'quick'
  if (page.length > 0 && (search.length === 0 || page[0]!.calledAt < search[0]!.calledAt)) return 'page'
  return undefined
}

/** Methods that write: run on the one writer thread, in order. */
export const WRITE_METHODS = ['writeBatch', 'purgeBefore', 'deleteOutbox', 'discardOutbox', 'recordActivity'] as const satisfies ReadonlyArray<keyof EventStore>

export type ReadMethod = (typeof READ_METHODS)[number]

/**
 * Reads the reader threads run that `EventStore` does not have: the threaded store's own forms of
 * its methods (`timelineBodyCounted`: a page whose total the main thread keeps for every reader).
 */
export const THREAD_READ_METHODS = ['timelineBodyCounted'] as const satisfies ReadonlyArray<keyof SqliteStore>
/** What a reader thread may be asked to run. */
export type ThreadReadMethod = ReadMethod | (typeof THREAD_READ_METHODS)[number]
export type WriteMethod = (typeof WRITE_METHODS)[number]

/** `EventStore` members the threaded store answers itself rather than on a thread (`replicas` is absent on SQLite). */
type LocalMethod = 'isOpen' | 'writeFailure' | 'close' | 'replicas'
// Compile-time check: every EventStore method is routed somewhere.
const everyMethodRouted: [Exclude<keyof EventStore, ReadMethod | WriteMethod | LocalMethod>] extends [never] ? true : never = true
void everyMethodRouted

export interface StoreThreadData {
  path: string
  role: 'reader' | 'writer'
}

export interface ThreadRequest {
  id: number
  method: ThreadReadMethod | WriteMethod | 'close'
  args: unknown[]
}

export interface SerializedError {
  message: string
  /** SQLite result code (`SQLITE_FULL`), when the error has one. */
  code?: string
  unavailable: boolean
}

export type ThreadResponse =
  | { ready: true }
  | { ready: false; error: SerializedError }
  | { id: number; ok: true; result: unknown; runMs: number }
  | { id: number; ok: false; error: SerializedError; runMs: number }

export function serializeError(error: unknown): SerializedError {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof UnavailableError) return { message, unavailable: true, ...(error.storeCode === undefined ? {} : { code: error.storeCode }) }
  const code = (error as { code?: unknown } | null)?.code
  return { message, unavailable: false, ...(typeof code === 'string' ? { code } : {}) }
}

export function deserializeError(error: SerializedError): Error {
  if (error.unavailable) return new UnavailableError(error.message, error.code)
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code })
}
