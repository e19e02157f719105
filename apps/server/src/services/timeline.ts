/** Timeline service: validated queries in, keyset pages with opaque cursors out. */
import type { EventItem, TimelineQuery } from '@eventline/shared'
import { decodeCursor } from '../store/cursor.ts'
import { invalidArgument } from '../errors.ts'
import type { EventStore, TimelineFilter } from '../store/types.ts'

/** The entity a per-entity route is about; it overrides the same query parameter. */
export type TimelineScope = { application: string } | { instance: string } | { ip: string } | { service: string } | Record<string, never>

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/
const IPV6 = /^[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*$/

/** `/instances/:name`: a bare IP selects the IP view, anything else (pod name, ip:port) the instance view. */
export function instanceScope(name: string): TimelineScope {
  return IPV4.test(name) || (IPV6.test(name) && name.split(':').length > 2) ? { ip: name } : { instance: name }
}

export function toFilter(query: Omit<TimelineQuery, 'limit' | 'cursor'>, scope: TimelineScope = {}): TimelineFilter {
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    throw invalidArgument('until', 'must be later than since')
  }
  const { source, reason, namespace, kind, ...rest } = query
  const filter: TimelineFilter = { ...rest, ...scope }
  if (source) filter.sources = source
  if (reason) filter.reasons = reason
  if (namespace) filter.namespaces = namespace
  if (kind) filter.kinds = kind
  return filter
}

export class TimelineService {
  constructor(private readonly store: EventStore) {}

  /** The page's JSON body (an `EventPage`), as the store built it: see `eventPageJson`. */
  pageBody(query: TimelineQuery, scope: TimelineScope = {}): Promise<string> {
    const { limit, cursor, ...rest } = query
    const filter = toFilter(rest, scope)
    const after = cursor === undefined ? undefined : (([time, id]) => ({ time, id }))(decodeCursor(cursor, ['n', 's'] as const))
    return this.store.timelineBody(filter, limit, after)
  }

  /** Offset pages for the Dubbo admin compatible endpoints. */
  byOffset(filter: TimelineFilter, offset: number, limit: number): Promise<{ items: EventItem[]; total: number }> {
    return this.store.timelineByOffset(filter, offset, limit)
  }

  /** Whether a mesh of this name is stored: the Dubbo admin endpoints read an unknown one as every mesh. */
  async hasMesh(name: string): Promise<boolean> {
    return (await this.store.meshes()).some((mesh) => mesh.name === name)
  }

  /** Whether the catalog knows an instance of this name (in `mesh`, or in any mesh). */
  async hasInstance(name: string, mesh?: string): Promise<boolean> {
    return (await this.store.instance(name, mesh)) !== undefined
  }
}
