/**
 * Alert grouping: the first event of a (rule, object, reason) group is sent at once; later ones in
 * the group's window are only counted, and when the window closes with more than one occurrence a
 * summary with the count follows. The next occurrence after that opens a new group (a new `first`).
 *
 * Windows run on the caller's clock (`now`, when the event is processed), not on event times,
 * which come from other machines and arrive late on a re-list.
 *
 * Groups live in memory; every change to a group is also reported by `takeChanges` (the group
 * serialised, or null once closed) so the caller can persist them, and `restore` rebuilds them on
 * another replica or after a restart: a failover neither alerts a group again nor forgets its
 * window. Events whose last occurrence is older than the rule's window are ignored, which keeps a
 * re-list of old history from alerting.
 */
import { toIso } from '@eventline/shared'
import type { EventItem, EventObject } from '@eventline/shared'
import type { AlertNotice } from '../sinks/types.ts'
import type { IngestEvent } from '../store/types.ts'
import { formatDuration } from './fileConfig.ts'
import type { AlertRule } from './fileConfig.ts'
import { compileSelector } from './matcher.ts'
import type { EventPredicate } from './matcher.ts'

/**
 * Open groups kept at most. At the cap, closed windows are flushed first; if every group is still
 * open, the oldest is closed early (its summary, if any, ends `now`), so memory stays bounded and a
 * storm of distinct objects costs extra notices rather than memory.
 */
export const MAX_OPEN_GROUPS = 10_000
/** Event ids remembered per group to tell a count bump from a repeat of the same write. */
const MAX_IDS_PER_GROUP = 64

interface CompiledRule {
  name: string
  sink: string
  windowMs: number
  selects: EventPredicate
}

interface Group {
  rule: CompiledRule
  key: string
  windowStart: number
  windowEnd: number
  count: number
  /** The latest occurrence. */
  item: EventItem
  /** Last count seen per event id. */
  counts: Map<string, number>
}

export class AlertGrouper {
  private readonly rules: CompiledRule[]
  private readonly usesPodLabels: boolean
  private readonly groups = new Map<string, Group>()
  /** Keys of groups opened, counted or closed since the last `takeChanges`. */
  private readonly changed = new Set<string>()

  constructor(
    rules: readonly AlertRule[],
    private readonly maxGroups: number = MAX_OPEN_GROUPS,
  ) {
    this.rules = rules.map((rule) => ({ name: rule.name, sink: rule.sink, windowMs: rule.windowMs, selects: compileSelector(rule) }))
    this.usesPodLabels = rules.some((rule) => [...rule.match, ...(rule.drop ?? [])].some((spec) => spec.labels !== undefined))
  }

  /** Alert rules compiled: zero when the file has none, and there is nothing to observe. */
  get ruleCount(): number {
    return this.rules.length
  }

  /** Whether a rule selects on pod labels (which the store does not keep: see `Alerting`). */
  get usesLabels(): boolean {
    return this.usesPodLabels
  }

  /** Open groups, for metrics and tests. */
  get size(): number {
    return this.groups.size
  }

  /**
   * One stored event: `event` is what the source published (rules match on it, labels included),
   * `item` the event as stored (its accumulated count). Returns the `first` notices of groups this
   * event opens, and the summary of a group whose window had closed without a `flush`.
   *
   * Occurrences: a new event id in a group is one; the same id again counts by how much its count
   * rose (a Kubernetes count bump is one more), and not at all when it did not (a retried write).
   */
  observe(event: IngestEvent, item: EventItem, now: number): AlertNotice[] {
    const notices: AlertNotice[] = []
    for (const rule of this.rules) {
      if (now - event.time > rule.windowMs || !rule.selects(event)) continue
      const key = groupKey(rule.name, event.mesh, event.object, event.reason)
      let group = this.groups.get(key)
      if (group && now >= group.windowEnd) {
        notices.push(...this.close(group, group.windowEnd))
        group = undefined
      }
      if (group) {
        const added = occurrences(group, item)
        if (added > 0) {
          group.count += added
          group.item = item
          this.changed.add(group.key)
        }
        continue
      }
      notices.push(...this.makeRoom(now))
      group = { rule, key, windowStart: now, windowEnd: now + rule.windowMs, count: 1, item, counts: new Map([[item.id, item.count]]) }
      this.groups.set(key, group)
      this.changed.add(key)
      notices.push(notice(group, 'first', group.windowEnd))
    }
    return notices
  }

  /** Closes the groups whose window has ended: a summary for each that counted more than one. */
  flush(now: number): AlertNotice[] {
    const notices: AlertNotice[] = []
    for (const group of this.groups.values()) if (now >= group.windowEnd) notices.push(...this.close(group, group.windowEnd))
    return notices
  }

  private close(group: Group, end: number): AlertNotice[] {
    this.groups.delete(group.key)
    this.changed.add(group.key)
    return group.count > 1 ? [notice(group, 'summary', end)] : []
  }

  /** The groups changed since the last call: each serialised, or null when it closed. */
  takeChanges(): Array<{ key: string; value: string | null }> {
    const changes = [...this.changed].map((key) => {
      const group = this.groups.get(key)
      if (!group) return { key, value: null }
      const stored: StoredGroup = { rule: group.rule.name, windowStart: group.windowStart, windowEnd: group.windowEnd, count: group.count, item: group.item, counts: [...group.counts] }
      return { key, value: JSON.stringify(stored) }
    })
    this.changed.clear()
    return changes
  }

  /** Replaces the open groups with persisted ones (groups of rules no longer configured are dropped). */
  restore(stored: ReadonlyMap<string, string>): void {
    this.forget()
    const rules = new Map(this.rules.map((rule) => [rule.name, rule]))
    for (const [key, value] of stored) {
      let parsed: StoredGroup
      try {
        parsed = JSON.parse(value) as StoredGroup
      } catch {
        continue
      }
      const rule = rules.get(parsed.rule)
      if (!rule || !key.startsWith(`${rule.name}\0`)) continue
      this.groups.set(key, { rule, key, windowStart: parsed.windowStart, windowEnd: parsed.windowEnd, count: parsed.count, item: parsed.item, counts: new Map(parsed.counts) })
    }
  }

  /** Drops every open group without notices (this replica no longer alerts; another one holds them). */
  forget(): void {
    this.groups.clear()
    this.changed.clear()
  }

  private makeRoom(now: number): AlertNotice[] {
    if (this.groups.size < this.maxGroups) return []
    const notices = this.flush(now)
    // Map order is opening order, so the first group is the oldest.
    const oldest = this.groups.values().next()
    if (this.groups.size >= this.maxGroups && !oldest.done) notices.push(...this.close(oldest.value, now))
    return notices
  }
}

/** A group as persisted. */
interface StoredGroup {
  rule: string
  windowStart: number
  windowEnd: number
  count: number
  item: EventItem
  counts: Array<[string, number]>
}

/** `rule \0 object \0 reason`; the object includes its mesh, so two clusters' `node-1` stay apart. */
export function groupKey(rule: string, mesh: string, object: Pick<EventObject, 'kind' | 'namespace' | 'name'>, reason: string): string {
  return `${rule}\0${mesh}/${object.kind}/${object.namespace ?? ''}/${object.name}\0${reason}`
}

function occurrences(group: Group, item: EventItem): number {
  const last = group.counts.get(item.id)
  if (last === undefined) {
    if (group.counts.size >= MAX_IDS_PER_GROUP) group.counts.delete(group.counts.keys().next().value!)
    group.counts.set(item.id, item.count)
    return 1
  }
  if (item.count <= last) return 0
  group.counts.set(item.id, item.count)
  return item.count - last
}

/** `Pod shop/web-1 (prod)`. */
function objectText(item: EventItem): string {
  const { kind, namespace, name } = item.object
  return `${kind} ${namespace ? `${namespace}/` : ''}${name} (${item.mesh})`
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()
const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

function notice(group: Group, kind: AlertNotice['kind'], windowEnd: number): AlertNotice {
  const { rule, item, count, windowStart } = group
  const subject = `${item.reason} on ${objectText(item)}`
  const title =
    kind === 'first'
      ? oneLine(`[${rule.name}] ${capitalized(item.type)} ${subject}`)
      : oneLine(`[${rule.name}] ${subject}: ${count} times in ${formatDuration(windowEnd - windowStart)}`)
  const text =
    kind === 'first'
      ? `${item.message}\n${capitalized(item.type)} ${item.reason}, ${item.source}, at ${item.time}`
      : `${count} occurrences from ${toIso(windowStart)} to ${toIso(windowEnd)}.\nLatest, at ${item.time}: ${item.message}`
  return { rule: rule.name, sink: rule.sink, kind, group: group.key, count: kind === 'first' ? 1 : count, windowStart, windowEnd, event: item, title, text }
}
