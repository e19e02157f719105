/**
 * Leader election on the store's lease, as Kubernetes controllers use Leases: a 15 s lease the
 * leader renews every 5 s, candidates retrying every 2 s. A leader that could not renew for
 * `renewDeadlineMs` (10 s, inside the lease) steps down on its own, before another replica can
 * take the expired lease; the database refuses its writes anyway once the epoch moved (fencing).
 *
 * Role changes are reported in order to `onChange` listeners; `fence` is what writers ask.
 * Without a lease store (SQLite: one process) this replica is the leader from `start` on.
 *
 * Known limits: the local deadline uses this process's monotonic clock from the moment a renewal
 * was sent; a process paused longer than that sees the deadline passed on resume and steps down
 * before it writes. Leadership is one lease for the whole database: every source runs on one
 * replica (no sharding of sources across replicas).
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from '../log.ts'
import type { ReplicaStore } from '../store/types.ts'
import type { Fence } from './fencing.ts'

export interface LeadershipOptions {
  /** How long a lease lasts without renewal (default 15 s). */
  leaseMs?: number
  /** How often the leader renews (default 5 s). */
  renewMs?: number
  /** A leader that has not renewed for this long steps down (default 10 s; below `leaseMs`). */
  renewDeadlineMs?: number
  /** How often a candidate tries to take the lease (default 2 s). */
  retryMs?: number
  /** This replica's name in the lease (default host, pid and a random suffix). */
  holder?: string
}

export type LeadershipListener = (leader: boolean, epoch: number | undefined) => void

export class Leadership implements Fence {
  readonly holder: string
  private readonly leaseMs: number
  private readonly renewMs: number
  private readonly renewDeadlineMs: number
  private readonly retryMs: number
  private current: number | undefined
  /** performance.now() when the last successful acquisition or renewal was sent. */
  private renewedAt = 0
  private timer: NodeJS.Timeout | undefined
  private deadline: NodeJS.Timeout | undefined
  private stopped = false
  private ticking: Promise<void> = Promise.resolve()
  private readonly listeners = new Set<LeadershipListener>()

  constructor(
    private readonly lease: ReplicaStore | undefined,
    private readonly log: Logger,
    options: LeadershipOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15_000
    this.renewMs = options.renewMs ?? 5_000
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.min(10_000, Math.round(this.leaseMs * (2 / 3)))
    this.retryMs = options.retryMs ?? 2_000
    if (!(this.renewMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseMs)) {
      throw new Error(`leadership timings must satisfy renew (${this.renewMs} ms) < renew deadline (${this.renewDeadlineMs} ms) < lease (${this.leaseMs} ms)`)
    }
    this.holder = options.holder ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  }

  get isLeader(): boolean {
    return this.epoch() !== undefined
  }

  /** The epoch while this replica leads and its last renewal is within the deadline. */
  epoch(): number | undefined {
    if (this.current === undefined) return undefined
    if (this.lease && performance.now() - this.renewedAt >= this.renewDeadlineMs) return undefined
    return this.current
  }

  /** The store refused a write at `epoch`: this term is over. */
  refused(epoch: number | undefined): void {
    if (epoch !== undefined && epoch === this.current) this.stepDown('a write was refused: another replica holds the lease')
  }

  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Starts campaigning (or, without a lease store, leads at once). */
  start(): void {
    if (!this.lease) {
      this.become(0)
      return
    }
    this.schedule(0)
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
    }, delayMs)
  }

  private async tick(): Promise<void> {
    const lease = this.lease!
    const sentAt = performance.now()
    if (this.current === undefined) {
      try {
        const epoch = await lease.acquireLease(this.holder, this.leaseMs)
        if (epoch !== undefined && !this.stopped) {
          this.renewedAt = sentAt
          this.become(epoch)
        }
      } catch (error) {
        this.log.warn('could not reach the lease', { error })
      }
      this.schedule(this.current === undefined ? this.retryMs : this.renewMs)
      return
    }
    const epoch = this.current
    try {
      const renewed = await lease.renewLease(this.holder, epoch, this.leaseMs)
      if (this.current !== epoch) return this.schedule(this.retryMs)
      if (renewed) {
        this.renewedAt = sentAt
        this.armDeadline()
        this.schedule(this.renewMs)
      } else {
        this.stepDown('another replica took the lease')
        this.schedule(this.retryMs)
      }
    } catch (error) {
      this.log.warn('renewing the lease failed; retrying', { error })
      if (performance.now() - this.renewedAt >= this.renewDeadlineMs) this.stepDown('the lease could not be renewed in time')
      this.schedule(this.current === undefined ? this.retryMs : Math.min(this.retryMs, this.renewMs))
    }
  }

  private become(epoch: number): void {
    this.current = epoch
    this.log.info('leading', { holder: this.holder, epoch })
    this.armDeadline()
    this.emit(true, epoch)
  }

  /** Steps down when the renew deadline passes, even if a renewal is stuck on a lock or the network. */
  private armDeadline(): void {
    if (!this.lease) return
    clearTimeout(this.deadline)
    const left = this.renewDeadlineMs - (performance.now() - this.renewedAt)
    this.deadline = setTimeout(() => {
      if (this.current !== undefined && performance.now() - this.renewedAt >= this.renewDeadlineMs) {
        this.stepDown('the lease could not be renewed in time')
        this.schedule(this.retryMs)
      }
    }, Math.max(0, left) + 1)
    this.deadline.unref()
  }

  private stepDown(reason: string): void {
    if (this.current === undefined) return
    const epoch = this.current
    this.current = undefined
    clearTimeout(this.deadline)
    this.log.warn('no longer leading', { holder: this.holder, epoch, reason })
    this.emit(false, undefined)
  }

  private emit(leader: boolean, epoch: number | undefined): void {
    for (const listener of this.listeners) {
      try {
        listener(leader, epoch)
      } catch (error) {
        this.log.error('a leadership listener failed', { error })
      }
    }
  }

  /**
   * Stops campaigning. A leader steps down first (its listeners stop the leader's work), then
   * `release` ends the term in the database so another replica takes over without waiting.
   */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.deadline)
    await this.ticking
    const epoch = this.current
    this.stepDown('stopping')
    return epoch === undefined || !this.lease ? undefined : this.release(epoch)
  }

  /** Ends the term in the database; call after the leader's work stopped writing. */
  private async release(epoch: number): Promise<void> {
    try {
      await this.lease!.releaseLease(this.holder, epoch)
    } catch (error) {
      this.log.warn('could not release the lease; it expires on its own', { error })
    }
  }
}
