/**
 * Live connection state of each mesh a running source owns (the store knows only what persisted).
 *
 * With replicas (PostgreSQL) only the leader runs sources: it writes its states to the database
 * (fenced by its lease epoch and marked with it, one write at a time, the latest states winning),
 * and every replica answers `/meshes` from there, so a follower shows the leader's view. States
 * are only as true as the leader that wrote them is alive: a state written under an epoch that is
 * not the current lease's (a deposed leader's), or under a lease that has expired (the leader died
 * or stopped, and no replica took over yet), is shown as `connecting` with an `error` saying why.
 * A new leader replaces every state at the start of its term (`beginTerm`), before its sources
 * connect. Known limit: between a leader's death and its lease's expiry (at most the lease
 * duration, 15 s) its last states are shown as they were: nothing tells a dead leader from a slow one sooner.
 */
import type { Mesh, MeshKind, MeshStatus } from '@eventline/shared'
import type { Logger } from '../log.ts'
import type { Fence } from '../replica/fencing.ts'
import { isFenced } from '../replica/fencing.ts'
import type { MeshRecord, MeshStatusRecord, ReplicaStore } from '../store/types.ts'

interface LiveState {
  status: MeshStatus
  error?: string
}

export interface SharedMeshStatus {
  replicas: ReplicaStore
  fence: Fence
  log: Logger
}

export class MeshStatusBoard {
  private readonly live = new Map<string, LiveState>()
  /** The kind of each mesh a running source owns, for `eventline_source_up{mesh,kind}`. */
  private readonly kinds = new Map<string, MeshKind>()
  private writing: Promise<void> | undefined
  private dirty = false
  /** Between `beginTerm` and `endTerm`: only then are states written to the database. */
  private inTerm = false

  constructor(private readonly shared?: SharedMeshStatus) {}

  set(mesh: string, status: MeshStatus, error?: string): void {
    this.live.set(mesh, error === undefined ? { status } : { status, error })
    this.publish()
  }

  /** Registers the source owning `mesh` (before its first status), so it is reported while connecting. */
  track(mesh: string, kind: MeshKind): void {
    this.kinds.set(mesh, kind)
  }

  delete(mesh: string): void {
    this.live.delete(mesh)
    this.kinds.delete(mesh)
    this.publish()
  }

  /**
   * A leader's term starts: its sources' meshes replace whatever the previous leader left, all
   * `connecting`, in one write, until each source reports.
   */
  beginTerm(sources: ReadonlyArray<{ mesh: string; kind: MeshKind }>): void {
    this.inTerm = true
    this.live.clear()
    this.kinds.clear()
    for (const { mesh, kind } of sources) {
      this.kinds.set(mesh, kind)
      this.live.set(mesh, { status: 'connecting' })
    }
    this.publish()
  }

  /**
   * The term ended: forgets the sources' states here. With replicas, the stored ones stay as they
   * were: readers show them `connecting` once the lease is released or taken (see the module
   * comment); deleting them would show the meshes as `disabled`, as if no source were configured.
   */
  endTerm(): void {
    this.inTerm = false
    this.dirty = false
    this.live.clear()
    this.kinds.clear()
  }

  /** Each tracked source and whether it is connected (what `/metrics` reports). */
  sources(): Array<{ mesh: string; kind: MeshKind; up: boolean }> {
    return [...this.kinds].map(([mesh, kind]) => ({ mesh, kind, up: this.live.get(mesh)?.status === 'connected' }))
  }

  /** Writes the leader's states to the database; a change during a write triggers one more. */
  private publish(): void {
    if (!this.shared || !this.inTerm) return
    if (this.writing) {
      this.dirty = true
      return
    }
    const { replicas, fence, log } = this.shared
    const epoch = fence.epoch()
    if (epoch === undefined) return // a follower (or a stopped leader) reports nothing
    const states = [...this.live].map(([mesh, state]): MeshStatusRecord => ({ mesh, ...state }))
    this.writing = replicas
      .writeMeshStatus(states, epoch)
      .catch((error: unknown) => {
        if (isFenced(error)) fence.refused(epoch)
        else log.warn('writing mesh states failed', { error })
      })
      .finally(() => {
        this.writing = undefined
        if (this.dirty) {
          this.dirty = false
          this.publish()
        }
      })
  }

  /**
   * Joins stored meshes with live state. Meshes that only receive posted events are always
   * connected; a stored mesh no running source owns (a removed registry, demo switched off) is
   * `disabled`: its history stays browsable.
   */
  async describe(records: MeshRecord[]): Promise<Mesh[]> {
    const live = this.shared ? await this.readShared() : this.live
    return records.map((record) => {
      const state = live.get(record.name) ?? { status: record.kind === 'api' ? 'connected' : 'disabled' }
      const mesh: Mesh = { name: record.name, kind: record.kind as MeshKind, address: record.address, status: state.status, counts: record.counts }
      if (state.error !== undefined) mesh.error = state.error
      if (record.lastSyncAt !== undefined) mesh.lastSyncAt = new Date(record.lastSyncAt).toISOString()
      return mesh
    })
  }

  private async readShared(): Promise<Map<string, LiveState>> {
    const { states, lease } = await this.shared!.replicas.readMeshStatus()
    return new Map(
      states.map(({ mesh, status, error, epoch }): [string, LiveState] => {
        if (!lease || lease.expired) {
          const when = lease ? ` at ${new Date(lease.expiresAt).toISOString()}` : ''
          return [mesh, { status: 'connecting', error: `no leader: the lease${lease ? ` of ${lease.holder}` : ''} expired${when}; no replica runs the sources` }]
        }
        if (epoch !== lease.epoch) {
          return [mesh, { status: 'connecting', error: `the leader changed (${lease.holder} leads term ${lease.epoch}); its sources have not reported yet` }]
        }
        return [mesh, error === undefined ? { status: status as MeshStatus } : { status: status as MeshStatus, error }]
      }),
    )
  }
}
