/**
 * One-line summaries of Dubbo governance rules (YAML under `/dubbo/config/dubbo/{key}.{type}`) and
 * of what changed between two versions, for event messages: `enabled: true -> false`,
 * `condition added: method = sayHello => host = 10.0.0.7`, `tag gray: addresses [a] -> [b]`.
 * Pure: the source parses nothing itself.
 */
import { parse } from 'yaml'
import type { Parsed } from './dubboUrl.ts'

/** The governance rule types, as the suffixes of their config keys. */
export const RULE_TYPES = ['tag-router', 'condition-router', 'configurators'] as const
export type RuleType = (typeof RULE_TYPES)[number]

type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml }
type Mapping = { [key: string]: Yaml }

/** A message stays readable: summaries longer than this are cut with "…". */
const MAX_SUMMARY = 400

/** Parses a rule's YAML; a rule must be a mapping (an empty node is not a rule either). */
export function parseRule(text: string): Parsed<Mapping> {
  let value: unknown
  try {
    value = parse(text)
  } catch (error) {
    return { ok: false, reason: `rule is not valid YAML: ${(error as Error).message.split('\n')[0]}` }
  }
  if (!isMapping(value)) return { ok: false, reason: 'rule YAML is not a mapping' }
  return { ok: true, value }
}

/** What a rule holds: its scalar fields and a count of each list, e.g. `enabled: true, 2 tags (gray, blue)`. */
export function summarizeRule(text: string): string {
  const rule = parseRule(text)
  if (!rule.ok) return 'unparsable rule'
  const parts: string[] = []
  for (const [key, value] of Object.entries(rule.value)) {
    if (Array.isArray(value)) {
      const label = value.length === 1 ? singular(key) : key
      parts.push(`${value.length} ${label}${value.length > 0 ? ` (${value.map(describeItem).join('; ')})` : ''}`)
    } else if (isMapping(value)) {
      parts.push(`${key}: {${flattenEntries(value).map(([path, leaf]) => `${path}: ${show(leaf)}`).join(', ')}}`)
    } else {
      parts.push(`${key}: ${show(value)}`)
    }
  }
  return clip(parts.join(', ') || 'empty rule')
}

/** What changed from `before` to `after`, field by field; list items are matched by name or content. */
export function summarizeRuleChange(beforeText: string, afterText: string): string {
  const before = parseRule(beforeText)
  const after = parseRule(afterText)
  if (!after.ok) return 'rule is now unparsable'
  if (!before.ok) return `was unparsable, now ${summarizeRule(afterText)}`
  const changes = diffMappings(before.value, after.value, '')
  return clip(changes.length > 0 ? changes.join('; ') : 'formatting only, no field changed')
}

function diffMappings(before: Mapping, after: Mapping, prefix: string): string[] {
  const changes: string[] = []
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
  for (const key of keys) {
    const path = prefix ? `${prefix}.${key}` : key
    const a = before[key]
    const b = after[key]
    if (same(a, b)) continue
    if (Array.isArray(a) || Array.isArray(b)) changes.push(...diffLists(path, Array.isArray(a) ? a : [], Array.isArray(b) ? b : []))
    else if (isMapping(a) && isMapping(b)) changes.push(...diffMappings(a, b, path))
    else changes.push(`${path}: ${a === undefined ? '(unset)' : show(a)} -> ${b === undefined ? '(unset)' : show(b)}`)
  }
  return changes
}

/** Lists: named items (tags) matched by name and diffed inside; others (conditions, configs) by content. */
function diffLists(path: string, before: Yaml[], after: Yaml[]): string[] {
  const dot = path.lastIndexOf('.')
  // `tag gray.addresses` -> `tag gray address`: the list's owner stays in the label.
  const label = dot < 0 ? singular(path) : `${path.slice(0, dot)} ${singular(path.slice(dot + 1))}`
  const named = [...before, ...after].every((item) => isMapping(item) && typeof item.name === 'string')
  if (named) {
    const byName = (items: Yaml[]) => new Map(items.map((item) => [(item as Mapping).name as string, item as Mapping]))
    const a = byName(before)
    const b = byName(after)
    const changes: string[] = []
    for (const [name, item] of b) {
      const previous = a.get(name)
      if (!previous) changes.push(`${label} added: ${describeItem(item)}`)
      else if (!same(previous, item)) changes.push(...diffMappings(previous, item, `${label} ${name}`))
    }
    for (const name of a.keys()) if (!b.has(name)) changes.push(`${label} removed: ${name}`)
    return changes
  }
  const keyOf = (item: Yaml) => JSON.stringify(item)
  const a = new Set(before.map(keyOf))
  const b = new Set(after.map(keyOf))
  return [
    ...after.filter((item) => !a.has(keyOf(item))).map((item) => `${label} added: ${describeItem(item)}`),
    ...before.filter((item) => !b.has(keyOf(item))).map((item) => `${label} removed: ${describeItem(item)}`),
  ]
}

/** A list item in a few words: a condition as written, a tag by name and addresses, a config by its fields. */
function describeItem(item: Yaml): string {
  if (!isMapping(item)) return show(item)
  const { name, ...rest } = item
  const fields = flattenEntries(rest).map(([path, leaf]) => `${path}=${show(leaf)}`)
  return typeof name === 'string' ? `${name}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}` : fields.join(', ')
}

function flattenEntries(value: Mapping, prefix = ''): Array<[string, Yaml]> {
  return Object.entries(value).flatMap(([key, leaf]): Array<[string, Yaml]> => {
    const path = prefix ? `${prefix}.${key}` : key
    return isMapping(leaf) ? flattenEntries(leaf, path) : [[path, leaf]]
  })
}

function show(value: Yaml | undefined): string {
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (isMapping(value)) return `{${flattenEntries(value).map(([path, leaf]) => `${path}: ${show(leaf)}`).join(', ')}}`
  return String(value)
}

function singular(word: string): string {
  if (word === 'addresses') return 'address'
  return word.endsWith('s') ? word.slice(0, -1) : word
}

function same(a: Yaml | undefined, b: Yaml | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function clip(text: string): string {
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text
}
