/** What a delivery loop drives: one sink (a NATS stream, a webhook), sending outbox entries in order. */
import type { EventItem } from '@eventline/shared'
import type { BackoffOptions } from '../backoff.ts'
import type { AlertNotice } from './types.ts'

/** One entry to send: an event in its current stored state, or an alert notice. */
export type Delivery = { seq: number; event: EventItem } | { seq: number; alert: AlertNotice }

/** A sink's retry bounds: the shared exponential backoff's. */
export type RetrySettings = BackoffOptions

/** Why a send failed. */
export class SinkError extends Error {
  constructor(
    message: string,
    /**
     * The sink refused these items themselves (e.g. HTTP 400): sending the same bytes again will not
     * help, unlike an outage. The loop narrows a refused batch down to the one item and gives up on
     * it after a few attempts.
     */
    readonly rejected = false,
    /** The sink asked to wait this long (e.g. `Retry-After`); still capped by the retry settings. */
    readonly retryAfterMs?: number,
  ) {
    super(message)
    this.name = 'SinkError'
  }
}

/**
 * The result of one `send`. Items are sent in order: the first `delivered` are done; when `error`
 * is set, the next `failed` items (at least one) were in the request that failed, and anything
 * after them was not tried. Delivered items are deleted from the outbox, the rest are retried.
 */
export interface SendOutcome {
  delivered: number
  /**
   * Of the delivered items, how many the sink accepted but discarded on its own terms (Loki's
   * "entry out of order" or "too far behind" for some entries of a push it otherwise stored), by
   * reason: counted and logged, never sent again (that would loop).
   */
  discarded?: { reason: string; count: number; detail: string }

  error?: SinkError
  failed?: number
}

export interface Sink {
  readonly name: string
  /** Most items one `send` takes. */
  readonly maxBatch: number
  /** Its backoff between failed attempts, when its configuration has one. */
  readonly retry?: RetrySettings
  /**
   * When fewer than `maxBatch` items are pending, wait this long for more before sending (batching
   * by time as well as size, as log shippers do); 0 or absent sends at once.
   */
  readonly batchWaitMs?: number
  /** Gets ready to send (connect, create the stream). Idempotent and cheap once ready; throws when it cannot. */
  open(): Promise<void>
  /**
   * Sends `items` in order. Must never throw: failures are reported in the outcome. When `signal`
   * aborts (shutdown), it stops waiting promptly and reports what it knows was delivered.
   */
  send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome>
  close(): Promise<void>
}

/** The message of any thrown value, for logs and errors. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
