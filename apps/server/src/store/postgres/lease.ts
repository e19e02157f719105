/**
 * The leader lease in PostgreSQL, as Kubernetes Leases work: one row with the holder, a fencing
 * epoch and an expiry. Every time is the database's clock (`now()`), so replicas' clocks need not
 * agree. A replica takes an expired lease by incrementing the epoch; the holder renews it with the
 * epoch it holds, so a renewal after someone else took over matches nothing.
 *
 * Fencing: a leader write begins with `fenceCheck`, which share-locks the lease row at the
 * writer's epoch. A takeover (an UPDATE of that row) waits for the writes that hold it, and a
 * write that starts after a takeover finds no row at its epoch and is refused: a write either
 * commits before the new term starts (the new leader then reads its checkpoints) or not at all.
 * Only row locks in ordinary transactions: this works behind a transaction-pooling PgBouncer,
 * unlike a session-scoped advisory lock.
 */
import type { MeshStatusSnapshot } from '../types.ts'
import type { Queryable } from './query.ts'
import { query } from './query.ts'
import { FencedError } from '../../replica/fencing.ts'

const LEASE = 'eventline'

export interface LeaseState {
  holder: string
  epoch: number
  /** Milliseconds until it expires, by the database clock (negative: expired). */
  expiresInMs: number
}

/** Takes the lease when it is free or expired (or still ours); resolves with the new epoch, or undefined. */
export async function acquireLease(db: Queryable, holder: string, durationMs: number): Promise<number | undefined> {
  const rows = await query<{ epoch: number }>(
    db,
    `INSERT INTO leader_lease AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
     VALUES ($1, $2, 1, now(), now(), now() + make_interval(secs => $3::double precision / 1000))
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(), expires_at = excluded.expires_at
     WHERE l.expires_at <= now() OR l.holder = excluded.holder
     RETURNING epoch`,
    [LEASE, holder, durationMs],
  )
  return rows[0]?.epoch
}

/** Extends the lease if `holder` still holds it at `epoch`; false when another replica took it. */
export async function renewLease(db: Queryable, holder: string, epoch: number, durationMs: number): Promise<boolean> {
  const rows = await query<{ epoch: number }>(
    db,
    `UPDATE leader_lease SET renewed_at = now(), expires_at = now() + make_interval(secs => $4::double precision / 1000)
     WHERE name = $1 AND holder = $2 AND epoch = $3 RETURNING epoch`,
    [LEASE, holder, epoch, durationMs],
  )
  return rows.length === 1
}

/** Ends the term now (graceful shutdown), so another replica takes over without waiting for the expiry. */
export async function releaseLease(db: Queryable, holder: string, epoch: number): Promise<void> {
  await query(db, 'UPDATE leader_lease SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3 RETURNING epoch', [LEASE, holder, epoch])
}

export async function readLease(db: Queryable): Promise<LeaseState | undefined> {
  const rows = await query<{ holder: string; epoch: number; expires_in_ms: number }>(
    db,
    'SELECT holder, epoch, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms FROM leader_lease WHERE name = $1',
    [LEASE],
  )
  const row = rows[0]
  return row ? { holder: row.holder, epoch: row.epoch, expiresInMs: row.expires_in_ms } : undefined
}

/**
 * First statement of a leader write: holds the lease row at `epoch` until the transaction ends,
 * or throws `FencedError` when that epoch is no longer current.
 */
export async function fenceCheck(db: Queryable, epoch: number): Promise<void> {
  const rows = await query<{ epoch: number }>(db, 'SELECT epoch FROM leader_lease WHERE name = $1 AND epoch = $2 FOR SHARE', [LEASE, epoch])
  if (rows.length === 0) throw new FencedError(epoch)
}

/** The mesh states with the epoch each was written under, and the lease, in one statement (one snapshot). */
export async function readMeshStatus(db: Queryable): Promise<MeshStatusSnapshot> {
  const rows = await query<{
    mesh: string | null
    status: string | null
    error: string | null
    epoch: number | null
    holder: string | null
    lease_epoch: number | null
    expires_at: number | null
    expired: boolean | null
  }>(
    db,
    `SELECT m.mesh, m.status, m.error, m.epoch, l.holder, l.epoch AS lease_epoch,
            (extract(epoch FROM l.expires_at) * 1000)::float8 AS expires_at, l.expires_at <= now() AS expired
     FROM (SELECT $1::text AS name) AS n
     LEFT JOIN leader_lease AS l ON l.name = n.name
     LEFT JOIN mesh_status AS m ON true`,
    [LEASE],
  )
  const first = rows[0]
  const snapshot: MeshStatusSnapshot = { states: [] }
  if (first !== undefined && first.holder !== null) snapshot.lease = { holder: first.holder, epoch: first.lease_epoch!, expiresAt: Math.round(first.expires_at!), expired: first.expired! }
  for (const { mesh, status, error, epoch } of rows) {
    if (mesh === null) continue
    snapshot.states.push(error === null ? { mesh, status: status!, epoch: epoch! } : { mesh, status: status!, error, epoch: epoch! })
  }
  return snapshot
}
