/**
 * The SQLite writer thread. better-sqlite3 is synchronous: a 1,000-event transaction takes tens of
 * ms, and on the main thread every HTTP request waits for it. Here it runs on its own thread with
 * its own connection; WAL lets the main thread's connection read meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteStore } from './sqliteStore.ts'
import type { WriterRequest, WriterResponse } from './threadedStore.ts'

const store = new SqliteStore((workerData as { path: string }).path)
const port = parentPort!

port.on('message', (request: WriterRequest) => {
  const respond = (response: Omit<WriterResponse, 'id'>) => port.postMessage({ id: request.id, ...response })
  // SqliteStore's methods resolve synchronously inside; awaiting keeps one code path for both.
  const run = async () => {
    switch (request.method) {
      case 'writeBatch':
        return store.writeBatch(request.batch)
      case 'purgeBefore':
        return store.purgeBefore(request.cutoff, request.batchSize)
      case 'deleteOutbox':
        return store.deleteOutbox(request.sink, request.seqs)
      case 'discardOutbox':
        return store.discardOutbox(request.sink, request.createdBefore)
      case 'recordActivity':
        return store.recordActivity(request.change)
      case 'close':
        return store.close()
    }
  }
  run().then(
    (result) => respond({ ok: true, result }),
    (error: unknown) => respond({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  )
})
