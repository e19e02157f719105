/**
 * Whether a stored event belongs in a live stream's timeline: the same filters as a timeline page,
 * checked on one event in memory instead of by an index scan. Entity filters use the views the
 * store linked the event under, so correlation (a pod's events in the registry application with
 * its IP) is the same live as in history.
 */
import { LINK_KIND } from '../store/eventViews.ts'
import type { EntityKind, StoredEvent, TimelineFilter } from '../store/types.ts'

const ENTITY_FILTERS: readonly EntityKind[] = ['application', 'instance', 'ip', 'service']

/** Words as the full-text index sees them: letters and digits, case-folded. */
function words(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

/**
 * `q` as the timeline's full-text search reads it: every word of the query is a prefix of some
 * word of the reason or the message.
 */
export function matchesText(q: string, reason: string, message: string): boolean {
  const haystack = [...words(reason), ...words(message)]
  return words(q).every((word) => haystack.some((candidate) => candidate.startsWith(word)))
}

/** A predicate over stored events for `filter`, built once per stream. */
export function streamFilter(filter: TimelineFilter): (event: StoredEvent) => boolean {
  const view = filter.mesh ?? ''
  const entities = ENTITY_FILTERS.filter((kind) => filter[kind] !== undefined).map((kind) => `${view}\u0000${LINK_KIND[kind]}\u0000${filter[kind]}`)
  const sources = filter.sources?.length ? new Set<string>(filter.sources) : undefined
  const reasons = filter.reasons?.length ? new Set(filter.reasons) : undefined
  const namespaces = filter.namespaces?.length ? new Set(filter.namespaces) : undefined
  const kinds = filter.kinds?.length ? new Set(filter.kinds) : undefined

  return ({ item, views }) => {
    if (entities.length > 0) {
      const linked = new Set(views.map((link) => link.join('\u0000')))
      if (!entities.every((entity) => linked.has(entity))) return false
    } else if (filter.mesh !== undefined && item.mesh !== filter.mesh) {
      return false
    }
    const time = Date.parse(item.time)
    if (filter.since !== undefined && time < filter.since) return false
    if (filter.until !== undefined && time >= filter.until) return false
    if (filter.type !== undefined && item.type !== filter.type) return false
    if (sources && !sources.has(item.source)) return false
    if (reasons && !reasons.has(item.reason)) return false
    if (namespaces && (item.object.namespace === undefined || !namespaces.has(item.object.namespace))) return false
    if (kinds && !kinds.has(item.object.kind)) return false
    if (filter.name !== undefined && item.object.name !== filter.name) return false
    if (filter.q !== undefined && !matchesText(filter.q, item.reason, item.message)) return false
    return true
  }
}
