/**
 * `EventStore` on SQLite with writes on a worker thread: reads (timelines, catalog) run on this
 * thread's connection, writes and retention on the writer thread's, so a large batch never holds
 * up an HTTP request. In-memory databases cannot be shared between connections; `openStore` uses
 * the single-threaded `SqliteStore` for them.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { ActivityChange, EventStore, StoredEvent, WriteBatch } from '../types.ts'
import { SqliteStore } from './sqliteStore.ts'

type WriterCall =
  | { method: 'writeBatch'; batch: WriteBatch }
  | { method: 'purgeBefore'; cutoff: number; batchSize: number }
  | { method: 'deleteOutbox'; sink: string; seqs: readonly number[] }
  | { method: 'discardOutbox'; sink: string; createdBefore: number }
  | { method: 'recordActivity'; change: ActivityChange }
  | { method: 'close' }
export type WriterRequest = { id: number } & WriterCall
export interface WriterResponse {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

/** Opens the store for `path`: threaded for a file, single-threaded for `:memory:`. */
export function openStore(path: string): SqliteStore {
  return path === ':memory:' ? new SqliteStore(path) : new ThreadedSqliteStore(path)
}

/**
 * Starts the writer script beside this module: JavaScript when bundled; under tsx and vitest the
 * TypeScript source, through tsx's loader registered inside the worker (Node 20 workers do not
 * take `--import` in execArgv).
 */
function startWriter(path: string): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./writerWorker.js', import.meta.url), { workerData: { path } })
  // tsx's ESM register API (`tsx/esm/api`, import condition); require.resolve would give its CJS twin.
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
  const tsx = pathToFileURL(join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs')).href
  const script = new URL('./writerWorker.ts', import.meta.url).href
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script)}) })`
  return new Worker(boot, { eval: true, workerData: { path } })
}

export class ThreadedSqliteStore extends SqliteStore implements EventStore {
  private readonly worker: Worker
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private nextId = 0
  private workerError: Error | undefined

  constructor(path: string) {
    // This thread's connection opens (and migrates) first; the writer opens the same file after.
    super(path)
    this.worker = startWriter(path)
    this.worker.on('message', (response: WriterResponse) => {
      const waiting = this.pending.get(response.id)
      if (!waiting) return
      this.pending.delete(response.id)
      if (response.ok) waiting.resolve(response.result)
      else waiting.reject(new Error(response.error))
    })
    const fail = (error: Error) => {
      this.workerError = error
      for (const waiting of this.pending.values()) waiting.reject(error)
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`SQLite writer thread exited with code ${code}`))
    })
  }

  private call<T>(request: WriterCall): Promise<T> {
    if (this.workerError) return Promise.reject(this.workerError)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage({ id, ...request })
    })
  }

  override writeBatch(batch: WriteBatch): Promise<StoredEvent[]> {
    return this.call({ method: 'writeBatch', batch })
  }

  override purgeBefore(cutoff: number, batchSize: number): Promise<number> {
    return this.call({ method: 'purgeBefore', cutoff, batchSize })
  }

  // Outbox deletes are writes: they go to the writer thread too, so one connection writes. Reading
  // pending entries stays on this thread; the writer commits before it answers, so what it wrote
  // is visible here by then.
  override deleteOutbox(sink: string, seqs: readonly number[]): Promise<void> {
    return seqs.length === 0 ? Promise.resolve() : this.call({ method: 'deleteOutbox', sink, seqs })
  }

  override discardOutbox(sink: string, createdBefore: number): Promise<number> {
    return this.call({ method: 'discardOutbox', sink, createdBefore })
  }

  override recordActivity(change: ActivityChange): Promise<void> {
    return this.call({ method: 'recordActivity', change })
  }

  override isOpen(): boolean {
    return super.isOpen() && this.workerError === undefined
  }

  override async close(): Promise<void> {
    if (!super.isOpen()) return
    if (!this.workerError) await this.call({ method: 'close' })
    await this.worker.terminate()
    await super.close()
  }
}
