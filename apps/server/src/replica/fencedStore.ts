/**
 * The store as the leader's retention and delivery loops see it: their writes (purges, outbox
 * deletes and discards) carry the current lease epoch, are refused locally when this replica does
 * not lead, and a refusal by the database ends the term at once. Reads pass through unchanged.
 */
import type { EventStore } from '../store/types.ts'
import type { Fence } from './fencing.ts'
import { FencedError, isFenced } from './fencing.ts'

export function fencedStore(store: EventStore, fence: Fence): EventStore {
  const guarded = async <T>(write: (epoch: number) => Promise<T>): Promise<T> => {
    const epoch = fence.epoch()
    if (epoch === undefined) throw new FencedError(undefined)
    try {
      return await write(epoch)
    } catch (error) {
      if (isFenced(error)) fence.refused(epoch)
      throw error
    }
  }
  const overrides: Partial<EventStore> = {
    purgeBefore: (cutoff, batchSize) => guarded((epoch) => store.purgeBefore(cutoff, batchSize, epoch)),
    deleteOutbox: (sink, seqs) => guarded((epoch) => store.deleteOutbox(sink, seqs, epoch)),
    discardOutbox: (sink, createdBefore) => guarded((epoch) => store.discardOutbox(sink, createdBefore, epoch)),
  }
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof EventStore]
      const value: unknown = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
