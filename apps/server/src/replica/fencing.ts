/**
 * The fencing token of the ingesting role. A leader's writes (source batches with their
 * checkpoints, retention, outbox deletes, alert notices) carry the epoch of its lease; the store
 * refuses such a write, in the same transaction, once the epoch is no longer the current one, so
 * a paused or partitioned former leader cannot write after another replica took over.
 */
import { UnavailableError } from '../errors.ts'

/** A leader write refused because this replica no longer holds the lease (or never did). */
export class FencedError extends UnavailableError {
  constructor(readonly epoch: number | undefined) {
    super(epoch === undefined ? 'this replica is not the leader' : `the lease epoch ${epoch} is no longer current: another replica leads`)
    this.name = 'FencedError'
  }
}

export function isFenced(error: unknown): error is FencedError {
  return error instanceof FencedError
}

/** What a writer asks before a leader write and tells when the store refused one. */
export interface Fence {
  /** The current epoch while this replica leads, else undefined. */
  epoch(): number | undefined
  /** The store refused a write with this epoch: the term is over, step down at once. */
  refused(epoch: number | undefined): void
}

/** One process on SQLite: always the leader, nothing to fence. */
export const ALWAYS_LEADER: Fence = { epoch: () => 0, refused: () => undefined }
