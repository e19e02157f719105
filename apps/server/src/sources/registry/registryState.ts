/**
 * What ZooKeeper and Nacos sources share. Registries keep no history, so a source remembers the
 * last content it saw of every node (a znode, a Nacos instance) as checkpoints under
 * `STATE_PREFIX`, stored in the same transaction as the events that describe the change. On start
 * and after every reconnection the source lists the registry again and diffs against that memory:
 * what changed while nobody watched becomes events, timed at detection.
 */
import { createHash } from 'node:crypto'
import type { EventSource } from '@eventline/shared'
import type { Checkpoint, IngestEvent } from '../../store/types.ts'

/** Checkpoint key prefix of the node state; the rest of the key is the node's identity. */
export const STATE_PREFIX = 'node:'
/** Checkpoint written with the first sync of a mesh: its absence means "never synced". */
export const SYNCED_KEY = 'synced'

export interface NodeDiff {
  added: Array<{ key: string; value: string }>
  removed: Array<{ key: string; before: string }>
  changed: Array<{ key: string; before: string; value: string }>
}

/** Differences from `before` to `after`, in key order so events come out in a stable order. */
export function diffNodes(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): NodeDiff {
  const diff: NodeDiff = { added: [], removed: [], changed: [] }
  for (const key of [...after.keys()].sort()) {
    const value = after.get(key)!
    const previous = before.get(key)
    if (previous === undefined) diff.added.push({ key, value })
    else if (previous !== value) diff.changed.push({ key, before: previous, value })
  }
  for (const key of [...before.keys()].sort()) {
    if (!after.has(key)) diff.removed.push({ key, before: before.get(key)! })
  }
  return diff
}

export function isEmptyDiff(diff: NodeDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0
}

/** The checkpoints that make the stored node state match the diff's `after` side. */
export function stateCheckpoints(diff: NodeDiff): Checkpoint[] {
  return [
    ...diff.added.map(({ key, value }) => ({ key: STATE_PREFIX + key, value })),
    ...diff.changed.map(({ key, value }) => ({ key: STATE_PREFIX + key, value })),
    ...diff.removed.map(({ key }) => ({ key: STATE_PREFIX + key, value: null })),
  ]
}

/**
 * A registry event id: stable for the same change seen twice (a retried publication updates, never
 * duplicates) and distinct for the same node changing again later.
 */
export function registryEventId(source: EventSource, mesh: string, time: number, key: string, reason: string): string {
  const digest = createHash('sha1').update(`${key}\n${reason}\n${time}`).digest('hex').slice(0, 20)
  return `${source}:${mesh}:${time}:${digest}`
}

/** Appended to the message of a change found by comparing with the stored state, not watched. */
export function missedChangeNote(since: 'restart' | 'reconnect'): string {
  return since === 'restart'
    ? ' (happened while Eventline was not running; detected at start-up)'
    : ' (happened while the registry connection was down; detected on reconnection)'
}

export interface SyncSummary {
  source: EventSource
  mesh: string
  time: number
  applications: number
  instances: number
  services: number
  /** Further counts worth naming (`configs`, `consumers`, ...). */
  extra?: Record<string, number>
}

/**
 * The one event the first sync of a mesh records instead of one event per existing node: the
 * registry's state before we watched is not history we saw happen.
 */
export function registrySyncedEvent(summary: SyncSummary): IngestEvent {
  const parts = [
    countOf(summary.applications, 'applications'),
    countOf(summary.instances, 'instances'),
    countOf(summary.services, 'services'),
    ...Object.entries(summary.extra ?? {}).map(([name, count]) => countOf(count, name)),
  ]
  return {
    id: registryEventId(summary.source, summary.mesh, summary.time, '', 'RegistrySynced'),
    time: summary.time,
    type: 'normal',
    reason: 'RegistrySynced',
    message: `First sync of ${summary.mesh}: synced ${parts.join(', ')}; changes are recorded from now on`,
    source: summary.source,
    component: summary.source,
    mesh: summary.mesh,
    object: { kind: 'Registry', name: summary.mesh },
    category: 'registry',
    action: 'synced',
  }
}

/** `3 instances`, `1 instance`: the plural names a summary counts, singular for one. */
export function countOf(count: number, plural: string): string {
  return `${count} ${count === 1 ? plural.replace(/s$/, '') : plural}`
}
