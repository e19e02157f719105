/**
 * One ZooKeeper client (one session) behind promises. node-zookeeper-client queues requests made
 * while disconnected until the connection is back, and never answers those still queued when the
 * session expires: `kill` rejects every call still waiting, so no sync waits on a dead client.
 * Calls beyond `maxInFlight` wait their turn, so listing a large tree does not queue it all at once.
 */
import zookeeper from 'node-zookeeper-client'
import type { Client, Event, State } from 'node-zookeeper-client'

/** ZooKeeper's error codes this source tells apart. */
export const ZK_NO_NODE = zookeeper.Exception.NO_NODE
export const ZK_NO_AUTH = zookeeper.Exception.NO_AUTH

/** A ZooKeeper call that failed, with ZooKeeper's error code when it gave one (undefined: the session died). */
export class ZkCallError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'ZkCallError'
  }
}

/** How to reach the ensemble, and who hears about the connection state. */
export interface ZkSessionOptions {
  connectString: string
  sessionTimeoutMs: number
  spinDelayMs: number
  /** `user:password` for digest auth, sent on every (re)connection. */
  digest?: string
  maxInFlight?: number
  onState(state: State): void
}

/** A one-shot watch callback. */
export type Watcher = (event: Event) => void

/** One client and its session; a new one replaces it when the session expires. */
export class ZkSession {
  readonly client: Client
  private dead: Error | undefined
  private readonly waiting = new Set<(error: Error) => void>()
  private inFlight = 0
  private readonly queue: Array<() => void> = []
  private readonly maxInFlight: number

  constructor(options: ZkSessionOptions) {
    this.maxInFlight = options.maxInFlight ?? 256
    this.client = zookeeper.createClient(options.connectString, { sessionTimeout: options.sessionTimeoutMs, spinDelay: options.spinDelayMs, retries: 0 })
    if (options.digest) this.client.addAuthInfo('digest', Buffer.from(options.digest))
    this.client.on('state', (state) => options.onState(state))
  }

  connect(): void {
    this.client.connect()
  }

  get alive(): boolean {
    return this.dead === undefined
  }

  /**
   * Whether the client is connected now. When the connection drops, the library fails the requests
   * in flight and reports the drop in the same tick: a caller whose call failed then sees false.
   */
  get connected(): boolean {
    const code = this.client.getState().code
    return code === zookeeper.State.SYNC_CONNECTED.code || code === zookeeper.State.CONNECTED_READ_ONLY.code
  }

  /** Children of `path`, watching them; undefined when the node does not exist (no watch is left then). */
  children(path: string, watcher: Watcher): Promise<string[] | undefined> {
    return this.call<string[] | undefined>((done) => this.client.getChildren(path, watcher, (error, children) => done(error, children)))
  }

  /** Data of `path`, watching it; undefined when the node does not exist. */
  data(path: string, watcher: Watcher): Promise<Buffer | undefined> {
    return this.call<Buffer | undefined>((done) => this.client.getData(path, watcher, (error, data) => done(error, data ?? Buffer.alloc(0))))
  }

  /** Whether `path` exists, watching its creation or deletion. */
  exists(path: string, watcher: Watcher): Promise<boolean> {
    return this.call<boolean>((done) => this.client.exists(path, watcher, (error, stat) => done(error, Boolean(stat))))
  }

  /** Rejects every waiting call and closes the client; the session is of no further use. */
  kill(reason: string): void {
    if (this.dead) return
    this.dead = new ZkCallError(undefined, reason)
    for (const reject of this.waiting) reject(this.dead)
    this.waiting.clear()
    for (const start of this.queue.splice(0)) start()
    const connected = this.client.getState().code === zookeeper.State.SYNC_CONNECTED.code
    this.client.close()
    // Closed while disconnected, the library may still be between connection attempts and
    // reconnect a client nobody uses; a connected one must first send its close-session packet.
    if (!connected) (this.client as unknown as { connectionManager?: { socket?: { destroy(): void } } }).connectionManager?.socket?.destroy()
  }

  private call<T>(run: (done: (error: unknown, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        if (this.dead) {
          reject(this.dead)
          return
        }
        this.inFlight++
        let settled = false
        const settle = () => {
          if (settled) return false
          settled = true
          this.waiting.delete(fail)
          this.inFlight--
          this.queue.shift()?.()
          return true
        }
        const fail = (error: Error) => {
          if (settle()) reject(error)
        }
        this.waiting.add(fail)
        run((error, value) => {
          if (!error) {
            if (settle()) resolve(value)
            return
          }
          const code = zkErrorCode(error)
          if (code === ZK_NO_NODE) {
            if (settle()) resolve(undefined as T)
            return
          }
          fail(new ZkCallError(code, String(error)))
        })
      }
      if (this.inFlight < this.maxInFlight || this.dead) start()
      else this.queue.push(start)
    })
  }
}

function zkErrorCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'getCode' in error && typeof error.getCode === 'function') return (error.getCode as () => number)()
  return undefined
}
