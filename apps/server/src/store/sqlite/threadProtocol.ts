/**
 * What the main thread and the SQLite store threads (`storeWorker.ts`) say to each other, and which
 * `SqliteStore` methods each kind of thread runs. A read method added to `SqliteStore` and
 * `EventStore` is served by the reader pool once its name is in `READ_METHODS`; the type check
 * below fails while an `EventStore` method is in neither list.
 */
import { UnavailableError } from '../../errors.ts'
import type { EventStore } from '../types.ts'

/** Methods that only read: run on a reader thread (read-only connection), under the query budget. */
export const READ_METHODS = [
  'timeline',
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

/** Methods that write: run on the one writer thread, in order. */
export const WRITE_METHODS = ['writeBatch', 'purgeBefore', 'deleteOutbox', 'discardOutbox', 'recordActivity'] as const satisfies ReadonlyArray<keyof EventStore>

export type ReadMethod = (typeof READ_METHODS)[number]
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
  method: ReadMethod | WriteMethod | 'close'
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
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: SerializedError }

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
