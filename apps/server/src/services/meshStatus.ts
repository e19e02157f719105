/** Live connection state of each mesh a running source owns (the store knows only what persisted). */
import type { Mesh, MeshKind, MeshStatus } from '@eventline/shared'
import type { MeshRecord } from '../store/types.ts'

interface LiveState {
  status: MeshStatus
  error?: string
}

export class MeshStatusBoard {
  private readonly live = new Map<string, LiveState>()
  /** The kind of each mesh a running source owns, for `eventline_source_up{mesh,kind}`. */
  private readonly kinds = new Map<string, MeshKind>()

  set(mesh: string, status: MeshStatus, error?: string): void {
    this.live.set(mesh, error === undefined ? { status } : { status, error })
  }

  /** Registers the source owning `mesh` (before its first status), so it is reported while connecting. */
  track(mesh: string, kind: MeshKind): void {
    this.kinds.set(mesh, kind)
  }

  delete(mesh: string): void {
    this.live.delete(mesh)
    this.kinds.delete(mesh)
  }

  /** Each tracked source and whether it is connected (what `/metrics` reports). */
  sources(): Array<{ mesh: string; kind: MeshKind; up: boolean }> {
    return [...this.kinds].map(([mesh, kind]) => ({ mesh, kind, up: this.live.get(mesh)?.status === 'connected' }))
  }

  /**
   * Joins stored meshes with live state. Meshes that only receive posted events are always
   * connected; a stored mesh no running source owns (a removed registry, demo switched off) is
   * `disabled`: its history stays browsable.
   */
  describe(records: MeshRecord[]): Mesh[] {
    return records.map((record) => {
      const live = this.live.get(record.name) ?? { status: record.kind === 'api' ? 'connected' : 'disabled' }
      const mesh: Mesh = { name: record.name, kind: record.kind as MeshKind, address: record.address, status: live.status, counts: record.counts }
      if (live.error !== undefined) mesh.error = live.error
      if (record.lastSyncAt !== undefined) mesh.lastSyncAt = new Date(record.lastSyncAt).toISOString()
      return mesh
    })
  }
}
