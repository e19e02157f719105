/**
 * Matchers: the one condition language of `eventline.yaml` (ingestion filter, routes, alerts),
 * compiled once into predicates over `IngestEvent`.
 *
 * Semantics, chosen to read like kubernetes-event-exporter's rules:
 * - the fields of one matcher must all match (AND); a list of matchers matches when any does (OR);
 * - a field given as a list matches when any of its values does (`source: [zookeeper, nacos]`);
 * - `type`, `kind`, `namespace`, `mesh`, `application` and `source` compare exactly (case matters,
 *   except `type`, which the loader lower-cases so `Warning` works as in `kubectl`);
 * - `reason`, `name` and label values are regular expressions that are NOT anchored: they match
 *   anywhere, as the exporter's (Go `regexp.MatchString`) and `grep` do, so `name: pipeline-task`
 *   means "contains". Write `^...$` to match the whole value;
 * - a field the event lacks (no namespace, no application, no labels) never matches.
 *
 * Patterns run on RE2 (the pure-JS port `re2js`), not on the backtracking `RegExp`: matching takes
 * time linear in the value, so no pattern an operator writes (`^(a+)+$`) can stall ingestion on a
 * crafted reason or name. RE2 syntax is Go's, the exporter's own: no backreferences or lookaround
 * (the loader refuses those at start), and `(?i)` works for case-insensitive matching.
 */
import type { EventSource, EventType } from '@eventline/shared'
import { RE2JS } from 're2js'
import type { IngestEvent } from '../store/types.ts'

/**
 * A label condition: a regex the value must match, `true` for "the key is present, any value",
 * `false` for "the key is absent". A key ending in `/*` (`system.hero.ai/*`) stands for every key
 * with that prefix: the condition holds when any of them satisfies it (`false`: none is present).
 */
export type LabelCondition = string | boolean

/** One validated matcher, lists normalised; regexes as source text (checked by the loader). */
export interface MatcherSpec {
  type?: EventType[]
  reason?: string[]
  kind?: string[]
  namespace?: string[]
  name?: string[]
  mesh?: string[]
  application?: string[]
  source?: EventSource[]
  /** Labels of the involved pod (Kubernetes pod events only). */
  labels?: Record<string, LabelCondition>
}

/** `match` any-of, minus `drop` any-of; without `match`, everything not dropped is selected. */
export interface Selector {
  match?: MatcherSpec[]
  drop?: MatcherSpec[]
}

export type EventPredicate = (event: IngestEvent) => boolean

/** Compiles one matcher; every given field must match. Throws on a pattern RE2 refuses (the loader checks first). */
export function compileMatcher(spec: MatcherSpec): EventPredicate {
  const tests: EventPredicate[] = []
  const exact = <T extends string>(values: readonly T[] | undefined, read: (event: IngestEvent) => T | undefined) => {
    if (!values) return
    const set = new Set<string>(values)
    tests.push((event) => {
      const value = read(event)
      return value !== undefined && set.has(value)
    })
  }
  const regex = (sources: readonly string[] | undefined, read: (event: IngestEvent) => string | undefined) => {
    if (!sources) return
    const patterns = sources.map((source) => RE2JS.compile(source))
    tests.push((event) => {
      const value = read(event)
      return value !== undefined && patterns.some((pattern) => pattern.test(value))
    })
  }
  exact(spec.type, (event) => event.type)
  regex(spec.reason, (event) => event.reason)
  exact(spec.kind, (event) => event.object.kind)
  exact(spec.namespace, (event) => event.object.namespace)
  regex(spec.name, (event) => event.object.name)
  exact(spec.mesh, (event) => event.mesh)
  exact(spec.application, (event) => event.application)
  exact(spec.source, (event) => event.source)
  for (const [key, condition] of Object.entries(spec.labels ?? {})) tests.push(compileLabel(key, condition))
  return (event) => tests.every((test) => test(event))
}

function compileLabel(key: string, condition: LabelCondition): EventPredicate {
  const pattern = typeof condition === 'string' ? RE2JS.compile(condition) : undefined
  const satisfied = (value: string | undefined) => (pattern ? value !== undefined && pattern.test(value) : (value !== undefined) === condition)
  if (!key.endsWith('/*')) return (event) => satisfied(event.labels?.[key])
  const prefix = key.slice(0, -1)
  return (event) => {
    const values = Object.entries(event.labels ?? {})
      .filter(([labelKey]) => labelKey.startsWith(prefix))
      .map(([, value]) => value)
    // `false` asks that no key has the prefix; the others that one of them satisfies the condition.
    return condition === false ? values.length === 0 : values.some(satisfied)
  }
}

/** Compiles `match` minus `drop`. */
export function compileSelector(selector: Selector): EventPredicate {
  const match = selector.match?.map(compileMatcher)
  const drop = (selector.drop ?? []).map(compileMatcher)
  return (event) => (match === undefined || match.some((test) => test(event))) && !drop.some((test) => test(event))
}
