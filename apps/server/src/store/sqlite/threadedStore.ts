/**
 * `EventStore` on a SQLite file with no query on the thread that serves HTTP: one writer thread
 * (writes, retention, outbox deletes, in order) and a small pool of reader threads, each with its own
 * read-only connection (WAL lets them read while the writer writes). Built by composition: the
 * main thread holds no connection and no write state; each thread runs a `SqliteStore`, and calls
 * reach it as a method name and arguments (`threadProtocol.ts` lists which methods go where).
 *
 * Query budget: a read that has not answered `queryTimeoutMs` after it was asked is answered with
 * `UnavailableError` (503). better-sqlite3 cannot interrupt a running statement, so the reader
 * running it is terminated and replaced at once. A terminated thread keeps running native SQLite
 * code until its statement ends (it then exits): at most `maxAbandoned` such threads may exist.
 * Beyond that no replacement starts until one of them exits; reads queue for the readers that
 * remain and, when none is left, are answered 503 at their budget. So threads are bounded by
 * `readers + maxAbandoned + 1`, and the pool never wedges: every call settles by its deadline.
 *
 * `:memory:` stays single-threaded (`openStore` returns a plain `SqliteStore`): an in-memory
 * database belongs to one connection. A shared-cache in-memory database would reach other threads,
 * but shared cache locks whole tables (readers wait for the writer, the opposite of WAL) and SQLite
 * discourages it; a temporary file would silently put a `:memory:` store on disk. `:memory:` is
 * for tests and demos, and has no query budget.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { UnavailableError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { EventStore, TimelineFilter, TimelinePosition } from '../types.ts'
import { remember, SEARCH_TOTAL_MAX_AGE_MS, SqliteStore } from './sqliteStore.ts'
import type { PageTotal } from './sqliteStore.ts'
import type { ReadLane, ReadMethod, StoreThreadData, ThreadReadMethod, ThreadRequest, ThreadResponse, WriteMethod } from './threadProtocol.ts'
import { deserializeError, nextLane, pipelineLane, READ_METHODS, readLane, WRITE_METHODS } from './threadProtocol.ts'

export interface ThreadedStoreOptions {
  /** Reader threads (default 4). */
  readers?: number
  /** Time budget of one read, from the call to its answer (default 10 s). */
  queryTimeoutMs?: number
  /** Terminated readers still finishing their statement, at most (default 2). */
  maxAbandoned?: number
  log?: Logger
  /**
   * How long a search's total serves every reader (default `SEARCH_TOTAL_MAX_AGE_MS`, 1 s); a
   * capped total (a lower bound) ten times as long (see `CAPPED_TOTAL_AGE_FACTOR`).
   */
  searchTotalMaxAgeMs?: number
  /** The time, ms since the epoch, for the age of kept totals (default `Date.now`; tests move it). */
  clock?: () => number
  /** Told where each call's time went (the metrics of `/metrics`; the mixed-load benchmark reads them). */
  timings?: StoreTimings
}

/**
 * One stage of a store call, in seconds: `wait` for a free thread (readers: the pool's queue),
 * `run` inside the thread (SQL and building the result), `hop` the rest of the round trip (posting
 * the request and the answer between threads, structured clone both ways, the thread's wake-up; for
 * the writer also a write waiting behind another one, as writes queue in the thread).
 */
export type StoreTimings = (role: 'reader' | 'writer', stage: 'wait' | 'run' | 'hop', seconds: number) => void

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000
/**
 * A capped total says "at least this many" (the matches found within a scan budget), and while
 * events only arrive it stays true: it is kept this many times as long as an exact one. Under the
 * mixed load every search total was capped, and counting each again every second took a fifth of
 * the readers' time (a count walks the whole scan budget, 25-35 ms there).
 */
const CAPPED_TOTAL_AGE_FACTOR = 10
/**
 * Four, on any machine: a reader is held from the call's dispatch until the main thread takes its
 * answer, so it idles through the main thread's turn (measured under the mixed load: 2.2 ms in SQL,
 * 15 ms mean in the hop); two readers halved the pages served per second against four.
 */
const DEFAULT_READERS = 4
/**
 * Readers and abandoned threads together can all be running SQL at once (each on a core): 4 + 2
 * keeps that at the 6 of the earlier 2 + 4, which the slow-query reliability test holds `/healthz`
 * under 1 s with on 2 cores; 4 + 4 let it pass 1 s on a loaded machine.
 */
const DEFAULT_MAX_ABANDONED = 2
/** Wait before starting a thread again after one failed to start or died. */
const RESTART_DELAY_MS = 1000

/** Abandoned reader threads of every store in this process that are still finishing a statement. */
let abandonedInProcess = 0

/**
 * Reader threads cut off at their budget that still run a statement. While there are any, Node's
 * `process.exit()` waits for them (it joins every worker thread, and a thread inside native SQLite
 * code cannot be stopped): `main.ts` ends the process another way then.
 */
export function abandonedStoreThreads(): number {
  return abandonedInProcess
}

/**
 * Opens the store for `path`: threaded for a file, single-threaded for `:memory:`. Resolves once the
 * writer has opened (and migrated) the database and the readers are open, so a database that
 * cannot be opened fails start-up.
 */
export async function openStore(path: string, options: ThreadedStoreOptions = {}): Promise<EventStore> {
  if (path === ':memory:') return new SqliteStore(path)
  const store = new ThreadedSqliteStore(path, options)
  try {
    await store.opened
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}

/**
 * Starts the store thread script beside this module: JavaScript when bundled; under tsx and vitest
 * the TypeScript source, through tsx's loader registered inside the worker (Node 20 workers do not
 * take `--import` in execArgv).
 */
function startThread(data: StoreThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./storeWorker.js', import.meta.url), { workerData: data })
  // tsx's ESM register API (`tsx/esm/api`, import condition); require.resolve would give its CJS twin.
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
  const tsx = pathToFileURL(join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs')).href
  const script = new URL('./storeWorker.ts', import.meta.url).href
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script)}) })`
  return new Worker(boot, { eval: true, workerData: data })
}

interface Waiting {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

interface Sent extends Waiting {
  /** `performance.now()` when the request was posted to the thread. */
  sentAt: number
}

/** One store thread: requests in, answers out, matched by id. */
class StoreThread {
  readonly ready: Promise<void>
  private readonly worker: Worker
  private readonly pending = new Map<number, Sent>()
  private nextId = 0
  private stopped: Error | undefined
  private ended = false
  /** Called once when the thread ends without being asked to (crash, out of memory). */
  onDeath: ((error: Error) => void) | undefined

  constructor(
    private readonly data: StoreThreadData,
    private readonly timings: StoreTimings | undefined,
  ) {
    this.worker = startThread(data)
    let started!: Waiting
    this.ready = new Promise<void>((resolve, reject) => (started = { resolve: resolve as (value: unknown) => void, reject }))
    // Settled in every path below; a caller that never awaits must not see an unhandled rejection.
    this.ready.catch(() => {})
    this.worker.on('message', (response: ThreadResponse) => {
      if ('ready' in response) {
        if (response.ready) started.resolve(undefined)
        else started.reject(deserializeError(response.error))
        return
      }
      const waiting = this.pending.get(response.id)
      if (!waiting) return
      this.pending.delete(response.id)
      if (this.timings) {
        this.timings(this.data.role, 'run', response.runMs / 1000)
        this.timings(this.data.role, 'hop', Math.max(0, performance.now() - waiting.sentAt - response.runMs) / 1000)
      }
      if (response.ok) waiting.resolve(response.result)
      else waiting.reject(deserializeError(response.error))
    })
    const fail = (error: Error) => {
      if (this.stopped) return
      this.stopped = error
      started.reject(error)
      for (const waiting of this.pending.values()) waiting.reject(error)
      this.pending.clear()
      if (!this.ended) this.onDeath?.(error)
    }
    this.worker.on('error', (error) => fail(new UnavailableError(`a SQLite ${data.role} thread failed: ${error.message}`)))
    this.worker.on('exit', (code) => fail(new UnavailableError(`a SQLite ${data.role} thread stopped (exit code ${code})`)))
  }

  call(method: ThreadRequest['method'], args: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sentAt: performance.now() })
      this.worker.postMessage({ id, method, args } satisfies ThreadRequest)
    })
  }

  /** Closes the connection, then ends the thread. */
  async close(): Promise<void> {
    this.ended = true
    if (!this.stopped) await this.call('close', []).catch(() => {})
    await this.worker.terminate()
  }

  /**
   * Ends the thread without waiting for what it runs; resolves when it has exited, which for a
   * thread inside a long statement is when the statement ends (V8 stops it at the next JS).
   */
  abandon(): Promise<number> {
    this.ended = true
    return this.worker.terminate()
  }
}

/** The writer thread, restarted if it dies; calls made meanwhile wait for the new one. */
class Writer {
  private thread: StoreThread
  private closed = false

  constructor(
    private readonly path: string,
    private readonly log: Logger | undefined,
    private readonly timings: StoreTimings | undefined,
  ) {
    this.thread = this.start()
  }

  get ready(): Promise<void> {
    return this.thread.ready
  }

  private start(): StoreThread {
    const thread = new StoreThread({ path: this.path, role: 'writer' }, this.timings)
    thread.onDeath = (error) => {
      if (this.closed) return
      this.log?.error('the SQLite writer thread died; starting another', { error })
      // The replacement reads the sequences back from the database: nothing of the lost thread's
      // uncommitted transaction survives it.
      setTimeout(() => {
        if (!this.closed) this.thread = this.start()
      }, RESTART_DELAY_MS).unref()
    }
    return thread
  }

  async call(method: WriteMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new UnavailableError('the store is closed')
    const thread = this.thread
    await thread.ready
    return thread.call(method, args)
  }

  async close(): Promise<void> {
    this.closed = true
    await this.thread.close()
  }
}

interface ReadCall extends Waiting {
  method: ThreadReadMethod
  args: unknown[]
  lane: ReadLane
  timer: NodeJS.Timeout
  /** `performance.now()` when the call was made (its wait for a reader is measured from here). */
  calledAt: number
  reader?: StoreThread
}

/**
 * Reader threads, one query each at a time, every call settled by its deadline. Calls queue by lane
 * (`readLane`): quick lookups first, then pages and searches in the order they came, with searches
 * holding at most all readers but one, so a plain page never waits for a search to finish.
 */
class ReaderPool {
  private readonly idle: StoreThread[] = []
  /** The calls sent to each busy reader, in the order it runs them (at most `PIPELINE_DEPTH`). */
  private readonly running = new Map<StoreThread, ReadCall[]>()
  private readonly queues: Record<ReadLane, ReadCall[]> = { quick: [], page: [], search: [] }
  private searching = 0
  private live = 0
  private starting = 0
  private abandoned = 0
  private restartTimer: NodeJS.Timeout | undefined
  private started = false
  private closed = false

  constructor(
    private readonly path: string,
    private readonly size: number,
    private readonly budgetMs: number,
    private readonly maxAbandoned: number,
    private readonly log: Logger | undefined,
    private readonly timings: StoreTimings | undefined,
  ) {}

  /**
   * Starts the readers (once the writer has created and migrated the database; calls made before
   * wait in the queue, under their budget). Rejects when one fails to open.
   */
  async start(): Promise<void> {
    this.started = true
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()))
  }

  private spawn(): Promise<void> {
    this.starting++
    const thread = new StoreThread({ path: this.path, role: 'reader' }, this.timings)
    thread.onDeath = (error) => this.lost(thread, error)
    return thread.ready.then(
      () => {
        this.starting--
        if (this.closed) return void thread.close()
        this.live++
        this.idle.push(thread)
        this.dispatch()
      },
      (error: Error) => {
        this.starting--
        this.log?.error('a SQLite reader thread did not start', { error })
        this.refillLater()
        throw error
      },
    )
  }

  call(method: ThreadReadMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new UnavailableError('the store is closed'))
    return new Promise((resolve, reject) => {
      const call: ReadCall = { method, args, lane: readLane(method, args), resolve, reject, calledAt: performance.now(), timer: setTimeout(() => this.expire(call), this.budgetMs) }
      this.queues[call.lane].push(call)
      this.dispatch()
    })
  }

  private dispatch(): void {
    while (this.idle.length > 0) {
      const lane = nextLane(this.queues, this.searching, this.live)
      if (lane === undefined) return
      const thread = this.idle.pop()!
      this.running.set(thread, [])
      this.send(thread, this.queues[lane].shift()!)
    }
    // Every reader is busy: a quick look-up or a page may wait in a reader running a page, to start
    // there as soon as that one's answer is posted (the reader does not idle through the main
    // thread's turn). Measured under the mixed load: see the README's mixed rows.
    for (;;) {
      const lane = pipelineLane(this.queues)
      if (lane === undefined) return
      const thread = this.pipelinable()
      if (thread === undefined) return
      this.send(thread, this.queues[lane].shift()!)
    }
  }

  /** A busy reader that may take one more call: one call, not a search. */
  private pipelinable(): StoreThread | undefined {
    for (const [thread, calls] of this.running) if (calls.length === 1 && calls[0]!.lane !== 'search') return thread
    return undefined
  }

  private send(thread: StoreThread, call: ReadCall): void {
    call.reader = thread
    this.running.get(thread)!.push(call)
    if (call.lane === 'search') this.searching++
    this.timings?.('reader', 'wait', (performance.now() - call.calledAt) / 1000)
    thread.call(call.method, call.args).then(
      (result) => this.finish(thread, call, () => call.resolve(result)),
      (error: Error) => this.finish(thread, call, () => call.reject(error)),
    )
  }

  /** A call leaves its thread (answered, cut off, or the thread died); false if it had left already. */
  private release(thread: StoreThread, call: ReadCall): boolean {
    const calls = this.running.get(thread)
    const index = calls?.indexOf(call) ?? -1
    if (index < 0) return false
    calls!.splice(index, 1)
    if (call.lane === 'search') this.searching--
    return true
  }

  /**
   * The calls still waiting in a thread that is given up (cut off or dead) go back to the head of
   * their queues, in order, for another reader.
   */
  private requeue(thread: StoreThread): void {
    const calls = this.running.get(thread) ?? []
    this.running.delete(thread)
    for (const call of calls.reverse()) {
      call.reader = undefined
      if (call.lane === 'search') this.searching--
      this.queues[call.lane].unshift(call)
    }
  }

  private finish(thread: StoreThread, call: ReadCall, settle: () => void): void {
    // A call cut off at its budget was settled already (and its thread is gone if it was running).
    if (!this.release(thread, call)) return
    clearTimeout(call.timer)
    if (this.running.get(thread)!.length === 0) {
      this.running.delete(thread)
      this.idle.push(thread)
    }
    settle()
    this.dispatch()
  }

  /** The budget passed: answer 503, and if the query is running, give up its thread. */
  private expire(call: ReadCall): void {
    const seconds = this.budgetMs / 1000
    call.reject(new UnavailableError(`the query took longer than its time budget of ${seconds} s and was cut off; narrow it (a shorter time range, an entity) or retry later`))
    const thread = call.reader
    if (!thread) {
      const queue = this.queues[call.lane]
      queue.splice(queue.indexOf(call), 1)
      return
    }
    // Waiting behind another call in its reader: it only leaves (its late answer is ignored).
    if (this.running.get(thread)![0] !== call) {
      this.release(thread, call)
      return
    }
    this.release(thread, call)
    this.requeue(thread)
    this.live--
    this.abandoned++
    abandonedInProcess++
    this.log?.warn('a query passed its time budget; its reader thread is replaced', { method: call.method, budgetMs: this.budgetMs, abandoned: this.abandoned })
    void thread.abandon().finally(() => {
      this.abandoned--
      abandonedInProcess--
      this.refill()
    })
    this.refill()
    this.dispatch()
  }

  /** A reader died on its own (not abandoned): fail its call, start another. */
  private lost(thread: StoreThread, error: Error): void {
    if (this.closed) return
    // The call it was running fails with it; those waiting behind it go to another reader.
    const calls = this.running.get(thread)
    const call = calls?.[0]
    const index = this.idle.indexOf(thread)
    if (call) {
      clearTimeout(call.timer)
      this.release(thread, call)
      call.reject(error)
    }
    if (calls) this.requeue(thread)
    if (index >= 0) this.idle.splice(index, 1)
    if (calls || index >= 0) this.live--
    this.log?.error('a SQLite reader thread died; starting another', { error })
    this.refillLater()
    this.dispatch()
  }

  /** Starts readers up to `size`, while fewer than `maxAbandoned` abandoned threads still run. */
  private refill(): void {
    while (this.started && !this.closed && this.live + this.starting < this.size && this.abandoned < this.maxAbandoned) {
      this.spawn().catch(() => {})
    }
  }

  private refillLater(): void {
    if (this.restartTimer || this.closed) return
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.refill()
    }, RESTART_DELAY_MS)
    this.restartTimer.unref()
  }

  /** Threads: readers serving, starting, and abandoned ones still finishing a statement. */
  counts(): { live: number; starting: number; abandoned: number } {
    return { live: this.live, starting: this.starting, abandoned: this.abandoned }
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.restartTimer)
    for (const call of [...this.queues.quick.splice(0), ...this.queues.page.splice(0), ...this.queues.search.splice(0)]) {
      clearTimeout(call.timer)
      call.reject(new UnavailableError('the store is closed'))
    }
    // Abandoned threads are not waited for: they end with their statement, or with the process.
    const threads = [...this.idle.splice(0), ...this.running.keys()]
    await Promise.all(threads.map((thread) => thread.close()))
  }
}

// The read and write methods of EventStore are installed on the prototype below, from the lists in
// threadProtocol.ts: one place to add a method. This interface tells the type checker they exist.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface ThreadedSqliteStore extends Pick<EventStore, ReadMethod | WriteMethod> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ThreadedSqliteStore implements EventStore {
  /** Resolves once the writer and the readers are open; rejects when the database cannot be opened. */
  readonly opened: Promise<void>
  private readonly writer: Writer
  private readonly readers: ReaderPool
  private failure: string | undefined
  private open = true
  /**
   * The totals of recent searches, by filter, for every reader: a reader keeps the totals it
   * counted itself, so with four readers a walk's later pages mostly landed on one that had not
   * counted that search yet, and counted it again (a count reads up to a scan budget of rows, as
   * much as the page). Kept for `searchTotalMaxAgeMs` from when the count was asked, a capped
   * one `CAPPED_TOTAL_AGE_FACTOR` times as long.
   */
  private readonly searchTotals = new Map<string, { counted: PageTotal; at: number }>()
  private readonly searchTotalMaxAgeMs: number
  private readonly clock: () => number

  constructor(path: string, options: ThreadedStoreOptions = {}) {
    this.searchTotalMaxAgeMs = options.searchTotalMaxAgeMs ?? SEARCH_TOTAL_MAX_AGE_MS
    this.clock = options.clock ?? Date.now
    this.writer = new Writer(path, options.log, options.timings)
    this.readers = new ReaderPool(
      path,
      options.readers ?? DEFAULT_READERS,
      options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      options.maxAbandoned ?? DEFAULT_MAX_ABANDONED,
      options.log,
      options.timings,
    )
    // Readers open read-only, after the writer created and migrated the database.
    this.opened = this.writer.ready.then(() => this.readers.start())
    this.opened.catch(() => {})
  }

  /** @internal Runs a read on the pool (the installed read methods call this). */
  read(method: ThreadReadMethod, args: unknown[]): Promise<unknown> {
    return this.readers.call(method, args)
  }

  /** A page's JSON body; a search's total is counted once for all readers (`searchTotals`). */
  async timelineBody(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<string> {
    if (filter.q === undefined) return (await this.read('timelineBody', [filter, limit, after])) as string
    const key = JSON.stringify(filter)
    const asked = this.clock()
    const kept = this.searchTotals.get(key)
    const maxAge = kept?.counted.totalCapped ? this.searchTotalMaxAgeMs * CAPPED_TOTAL_AGE_FACTOR : this.searchTotalMaxAgeMs
    const known = kept !== undefined && asked - kept.at < maxAge ? kept.counted : undefined
    const { body, counted } = (await this.read('timelineBodyCounted', [filter, limit, after, known])) as { body: string; counted: PageTotal }
    if (known === undefined) remember(this.searchTotals, key, { counted, at: asked })
    return body
  }

  /** @internal Runs a write on the writer thread, tracking whether writes succeed (`/readyz`). */
  async write(method: WriteMethod, args: unknown[]): Promise<unknown> {
    try {
      const result = await this.writer.call(method, args)
      this.failure = undefined
      return result
    } catch (error) {
      if (error instanceof UnavailableError) this.failure = `writes failing since ${new Date().toISOString()}: ${error.message}${error.storeCode ? ` (${error.storeCode})` : ''}`
      throw error
    }
  }

  /** Reader threads serving, starting, and abandoned (cut off, still finishing their statement). */
  readerThreads(): { live: number; starting: number; abandoned: number } {
    return this.readers.counts()
  }

  isOpen(): boolean {
    return this.open
  }

  writeFailure(): string | undefined {
    return this.failure
  }

  async close(): Promise<void> {
    if (!this.open) return
    this.open = false
    // Readers first: the writer's connection, closing last, checkpoints and removes the WAL file.
    await this.readers.close()
    await this.writer.close()
  }
}

for (const method of READ_METHODS) {
  // A method the class defines itself (`timelineBody`) reaches the readers its own way.
  if (Object.hasOwn(ThreadedSqliteStore.prototype, method)) continue
  Object.defineProperty(ThreadedSqliteStore.prototype, method, {
    value: function (this: ThreadedSqliteStore, ...args: unknown[]) {
      return this.read(method, args)
    },
    writable: true,
    configurable: true,
  })
}
for (const method of WRITE_METHODS) {
  Object.defineProperty(ThreadedSqliteStore.prototype, method, {
    value: function (this: ThreadedSqliteStore, ...args: unknown[]) {
      return this.write(method, args)
    },
    writable: true,
    configurable: true,
  })
}
