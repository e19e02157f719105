/**
 * A SQLite store thread: the writer (one per database, read-write, runs the migrations) or a reader
 * (read-only connection, any number). better-sqlite3 is synchronous: a 1,000-event transaction or a
 * large timeline query takes tens of ms to seconds, and on the main thread every HTTP request, live
 * stream and `/healthz` would wait for it. Here it runs on its own thread with its own connection;
 * WAL lets readers read while the writer writes.
 *
 * The dispatch is generic: a request names a method of `SqliteStore` and its arguments; the thread
 * only runs the methods its role allows (`READ_METHODS` or `WRITE_METHODS`).
 */
import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteStore } from './sqliteStore.ts'
import type { StoreThreadData, ThreadRequest, ThreadResponse } from './threadProtocol.ts'
import { READ_METHODS, serializeError, THREAD_READ_METHODS, WRITE_METHODS } from './threadProtocol.ts'

const { path, role } = workerData as StoreThreadData
const port = parentPort!

/**
 * Reader threads run at a lower CPU priority than the writer and the thread that serves HTTP: when
 * the cores are short, commits and `/healthz` come first and reads take what is left. Measured under
 * the mixed load with searches: 3 searching readers at equal priority left the writer 2.1 s per
 * commit (395 of 2,000 events/s). Linux only: there the nice value belongs to the thread
 * (`setpriority` on the calling thread's id 0); elsewhere it would lower the whole process.
 */
const READER_NICE_STEP = 5
if (role === 'reader' && process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + READER_NICE_STEP))
  } catch {
    // Not permitted (a container's seccomp policy): the reader runs at the process's priority.
  }
}

let store: SqliteStore
try {
  store = new SqliteStore(path, { readonly: role === 'reader' })
  port.postMessage({ ready: true } satisfies ThreadResponse)
} catch (error) {
  port.postMessage({ ready: false, error: serializeError(error) } satisfies ThreadResponse)
  process.exit(1)
}

const allowed = new Set<string>(role === 'reader' ? [...READ_METHODS, ...THREAD_READ_METHODS] : WRITE_METHODS)

port.on('message', (request: ThreadRequest) => {
  const respond = (response: ThreadResponse) => port.postMessage(response)
  // SqliteStore's methods resolve synchronously inside; awaiting keeps one code path for all.
  const run = async (): Promise<unknown> => {
    if (request.method === 'close') return store.close()
    if (!allowed.has(request.method)) throw new Error(`a ${role} thread does not run ${request.method}`)
    const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[request.method]!
    return method.apply(store, request.args)
  }
  // The time inside the thread, so the caller can tell SQL from the hop (messaging, cloning).
  const started = performance.now()
  run().then(
    (result) => respond({ id: request.id, ok: true, result, runMs: performance.now() - started }),
    (error: unknown) => respond({ id: request.id, ok: false, error: serializeError(error), runMs: performance.now() - started }),
  )
})
