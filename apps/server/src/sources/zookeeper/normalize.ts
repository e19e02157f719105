/**
 * What a znode of a Dubbo registry means, and what a change of it records: pure functions from
 * paths and node contents to events and catalog changes. The layout Dubbo writes:
 *
 * - `/{root}/{interface}/providers|consumers/{URL-encoded URL}`: interface-level registration
 *   (ephemeral; the URL is the node name, the data is unused);
 * - `/{root}/{interface}/configurators|routers/{URL}`: Dubbo 2.6 override and route rules;
 * - `/services/{app}/{ip:port}`: Dubbo 3 application-level instances (ServiceInstance JSON), at
 *   the ZooKeeper root, not under `/{root}`;
 * - `/{root}/config/{group}/{key}.tag-router|.condition-router|.configurators`: governance rules (YAML);
 * - `/{root}/metadata/{interface}[/{version}[/{group}]]/provider|consumer/{app}`: service
 *   definitions, and `/{root}/metadata/{app}/{revision}`: Dubbo 3 MetadataInfo;
 * - `/{root}/mapping/{interface}`: the applications that provide an interface (`app1,app2`).
 *
 * Instances: a provider or app-level instance is `ip:port`; a consumer, whose URL has no port, is
 * `<application>@<ip>`. The application is `application=`, else `appName=` (SOFA / egg clients,
 * whose URLs may also lack a path: the interface is then the znode's parent). The node state is
 * keyed by znode path, so a change of naming never changes what a restart diff finds.
 */
import { isRecord } from '../../isRecord.ts'
import type { CatalogChange, IngestEvent, InstanceRecord } from '../../store/types.ts'
import { consumerInstance, instanceAddress } from '../registry/address.ts'
import { countOf, registryEventId } from '../registry/registryState.ts'
import { parseDubboUrlNode, serviceKey, urlAddress, urlApplication, urlInterface } from './dubboUrl.ts'
import type { DubboUrl, Parsed } from './dubboUrl.ts'
import { parseRule, RULE_TYPES, summarizeRule, summarizeRuleChange } from './ruleSummary.ts'
import type { RuleType } from './ruleSummary.ts'

/** Where Dubbo 3 registers application-level instances, whatever the root. */
export const SERVICES_ROOT = '/services'

/** The folders of an interface that hold URL nodes. */
export const URL_CATEGORIES = ['providers', 'consumers', 'configurators', 'routers'] as const
export type UrlCategory = (typeof URL_CATEGORIES)[number]

/** A node whose content is remembered (node state) and whose changes become events. */
export type ZkItem =
  | { kind: 'url'; category: UrlCategory; service: string; name: string }
  | { kind: 'instance'; application: string; address: string }
  | { kind: 'rule'; group: string; key: string; ruleType?: RuleType }
  | { kind: 'service-metadata'; service: string; version?: string; group?: string; side: 'provider' | 'consumer'; application: string }
  | { kind: 'app-metadata'; application: string; revision: string }
  | { kind: 'mapping'; service: string }

export interface ZkPathInfo {
  /** Watch the node's children (it is a folder of the layout). */
  children: boolean
  /** Read and watch the node's data (an item whose content matters). */
  data: boolean
  /** Set when the node is an item; a `data` node whose data is empty is no item (a folder that could have been one). */
  item?: ZkItem
}

/** The two trees a source watches: `/{root}` and `/services`. */
export function watchedRoots(root: string): string[] {
  return root === SERVICES_ROOT ? [root] : [root, SERVICES_ROOT]
}

/** `dubbo`, `/dubbo`, `/dubbo/` -> `/dubbo`. */
export function normalizeRoot(root: string | undefined): string {
  const trimmed = (root ?? 'dubbo').replace(/^\/+|\/+$/g, '')
  return `/${trimmed || 'dubbo'}`
}

const SIDES = new Set(['provider', 'consumer'])
const FOLDER: ZkPathInfo = { children: true, data: false }

/**
 * What a path is in the layout, or undefined for a node the source ignores (nothing under it is
 * watched). `root` is normalised (`/dubbo`).
 */
export function classifyPath(path: string, root: string): ZkPathInfo | undefined {
  if (path === SERVICES_ROOT || path.startsWith(`${SERVICES_ROOT}/`)) {
    const parts = path === SERVICES_ROOT ? [] : path.slice(SERVICES_ROOT.length + 1).split('/')
    if (parts.length === 0 || parts.length === 1) return FOLDER
    if (parts.length === 2) return { children: false, data: true, item: { kind: 'instance', application: parts[0]!, address: parts[1]! } }
    return undefined
  }
  if (path !== root && !path.startsWith(`${root}/`)) return undefined
  const parts = path === root ? [] : path.slice(root.length + 1).split('/')
  if (parts.some((part) => part === '')) return undefined
  const [first, ...rest] = parts
  if (first === undefined) return FOLDER
  switch (first) {
    case 'config':
      if (rest.length < 2) return FOLDER
      // Dubbo 2.7 kept service-app mapping under config/mapping as folders; the mapping tree below replaces it.
      if (rest.length === 2 && rest[0] !== 'mapping') return { children: false, data: true, item: ruleItem(rest[0]!, rest[1]!) }
      return undefined
    case 'metadata':
      return classifyMetadata(rest)
    case 'mapping':
      if (rest.length === 0) return FOLDER
      if (rest.length === 1) return { children: false, data: true, item: { kind: 'mapping', service: rest[0]! } }
      return undefined
  }
  if (rest.length === 0) return FOLDER
  const category = rest[0] as UrlCategory
  if (!URL_CATEGORIES.includes(category)) return undefined
  if (rest.length === 1) return FOLDER
  if (rest.length === 2) return { children: false, data: false, item: { kind: 'url', category, service: first, name: rest[1]! } }
  return undefined
}

function ruleItem(group: string, key: string): ZkItem {
  const ruleType = RULE_TYPES.find((type) => key.endsWith(`.${type}`))
  return ruleType ? { kind: 'rule', group, key: key.slice(0, -ruleType.length - 1), ruleType } : { kind: 'rule', group, key }
}

function classifyMetadata(parts: string[]): ZkPathInfo | undefined {
  if (parts.length < 2) return FOLDER
  const side = parts.at(-2)!
  if (parts.length >= 3 && parts.length <= 5 && SIDES.has(side)) {
    const [service, version, group] = parts.slice(0, -2)
    const item: ZkItem = { kind: 'service-metadata', service: service!, side: side as 'provider' | 'consumer', application: parts.at(-1)! }
    if (version) item.version = version
    if (group) item.group = group
    return { children: false, data: true, item }
  }
  // `{app}/{revision}` holds MetadataInfo; `{interface}/{version}` is a folder of the same shape, told apart by its empty data.
  if (parts.length === 2 && !SIDES.has(parts[1]!)) return { children: true, data: true, item: { kind: 'app-metadata', application: parts[0]!, revision: parts[1]! } }
  if (parts.length <= 4) return FOLDER
  return undefined
}

/** The content remembered for an item: URL nodes carry it in their name, the others in their data. */
export function itemValue(item: ZkItem, data: string): string {
  return item.kind === 'url' ? '' : data
}

/** Why an item's content cannot be used (it is skipped and reported), or undefined when it can. */
export function malformedReason(item: ZkItem, value: string): string | undefined {
  switch (item.kind) {
    case 'url': {
      const url = parseDubboUrlNode(item.name)
      return url.ok ? undefined : url.reason
    }
    case 'instance': {
      const instance = parseServiceInstance(value)
      return instance.ok ? undefined : instance.reason
    }
    case 'rule': {
      if (!item.ruleType) return undefined
      const rule = parseRule(value)
      return rule.ok ? undefined : rule.reason
    }
    case 'service-metadata':
    case 'app-metadata':
      return parseJson(value).ok ? undefined : 'metadata is not JSON'
    case 'mapping':
      return undefined
  }
}

/** What a ServiceInstance says (the rest of Curator's JSON is kept as it is, in the node state). */
export interface ServiceInstanceInfo {
  name?: string
  address?: string
  port?: number
  metadata: Record<string, string>
}

/** Reads a ServiceInstance (Curator's JSON, as Dubbo 3 writes it). */
export function parseServiceInstance(text: string): Parsed<ServiceInstanceInfo> {
  const json = parseJson(text)
  if (!json.ok) return { ok: false, reason: 'instance data is not JSON' }
  const raw = json.value
  if (!isRecord(raw)) return { ok: false, reason: 'instance data is not a JSON object' }
  const info: ServiceInstanceInfo = { metadata: {} }
  if (typeof raw.name === 'string') info.name = raw.name
  if (typeof raw.address === 'string') info.address = raw.address
  if (typeof raw.port === 'number' && Number.isInteger(raw.port)) info.port = raw.port
  if (!info.address) return { ok: false, reason: 'instance data has no address' }
  const payload = raw.payload
  const metadata = isRecord(payload) ? payload.metadata : undefined
  if (isRecord(metadata)) for (const [key, value] of Object.entries(metadata)) if (value !== null && value !== undefined) info.metadata[key] = String(value)
  return { ok: true, value: info }
}

/** What an item says about the catalog and the entities it names; undefined when its content is unusable. */
export interface ItemFacts {
  application?: string
  /** The instance it registers: `ip:port`, or `<application>@<ip>` for a consumer. */
  instance?: string
  /** The address a URL names (`ip:port`, or the IP of a consumer), for messages. */
  address?: string
  ip?: string
  port?: number
  /** The interface it is about. */
  service?: string
  version?: string
  group?: string
  /** Further applications (a mapping names several). */
  applications?: string[]
  url?: DubboUrl
  serviceInstance?: ServiceInstanceInfo
}

/** Reads an item's facts from its path and content. */
export function itemFacts(item: ZkItem, value: string): ItemFacts | undefined {
  switch (item.kind) {
    case 'url': {
      const parsed = parseDubboUrlNode(item.name)
      if (!parsed.ok) return undefined
      const url = parsed.value
      // A URL without a path or `interface=` (SOFA / egg providers may write one) is about the interface its znode is under.
      const facts: ItemFacts = { url, service: urlInterface(url) || item.service, ip: url.host, address: urlAddress(url) }
      const application = urlApplication(url)
      if (application) facts.application = application
      if (url.params.version) facts.version = url.params.version
      if (url.params.group) facts.group = url.params.group
      if (item.category === 'providers') {
        facts.instance = urlAddress(url)
        if (url.port !== undefined) facts.port = url.port
      } else if (item.category === 'consumers') {
        // Consumer URLs carry no port: two consumer applications on one host are two instances.
        facts.instance = consumerInstance(application, url.host)
      }
      return facts
    }
    case 'instance': {
      const parsed = parseServiceInstance(value)
      if (!parsed.ok) return undefined
      const info = parsed.value
      const port = info.port ?? Number(/:(\d+)$/.exec(item.address)?.[1])
      const facts: ItemFacts = { application: info.name || item.application, ip: info.address!, serviceInstance: info }
      facts.instance = Number.isInteger(port) && port > 0 ? instanceAddress(info.address!, port) : item.address
      if (Number.isInteger(port) && port > 0) facts.port = port
      return facts
    }
    case 'rule': {
      const facts: ItemFacts = {}
      const rule = item.ruleType ? parseRule(value) : undefined
      const scope = rule?.ok ? rule.value.scope : undefined
      const key = rule?.ok && typeof rule.value.key === 'string' ? rule.value.key : item.key
      // Service rules are keyed `interface:version:group`; application rules by the application name.
      if (scope === 'service' || (scope !== 'application' && looksLikeInterface(item.key))) facts.service = key.split(':')[0]!
      else facts.application = key
      return facts
    }
    case 'service-metadata': {
      const facts: ItemFacts = { service: item.service, application: item.application }
      if (item.version) facts.version = item.version
      if (item.group) facts.group = item.group
      return facts
    }
    case 'app-metadata':
      return { application: item.application }
    case 'mapping':
      return { service: item.service, applications: value.split(',').map((app) => app.trim()).filter(Boolean) }
  }
}

/** A Java interface name (`org.apache.dubbo.demo.DemoService`) or a colon-separated service key. */
function looksLikeInterface(key: string): boolean {
  return key.includes(':') || /\.[A-Z][A-Za-z0-9_$]*$/.test(key)
}

/** Catalog changes that say an item is there, with the facts it carries. */
export function presentCatalog(mesh: string, item: ZkItem, facts: ItemFacts): CatalogChange[] {
  const changes: CatalogChange[] = []
  if (facts.service && item.kind !== 'rule') {
    const service: CatalogChange = { op: 'service', mesh, name: facts.service }
    if (facts.version) service.version = facts.version
    if (facts.group) service.group = facts.group
    changes.push(service)
  }
  if (facts.instance && (item.kind === 'url' || item.kind === 'instance')) {
    const instance: InstanceRecord = { mesh, name: facts.instance, registered: true, source: 'zookeeper' }
    if (facts.ip) instance.ip = facts.ip
    if (facts.port !== undefined) instance.port = facts.port
    if (facts.application) instance.application = facts.application
    if (facts.serviceInstance) instance.labels = facts.serviceInstance.metadata
    changes.push({ op: 'instance', instance })
    if (item.kind === 'url' && facts.service) {
      const side = item.category === 'providers' ? 'provider' : 'consumer'
      const member: CatalogChange = { op: 'service-instance', mesh, service: facts.service, instance: facts.instance, side }
      if (facts.application) member.application = facts.application
      changes.push(member)
    }
  } else if (facts.application && item.kind !== 'rule') {
    changes.push({ op: 'application', mesh, name: facts.application })
  }
  for (const name of facts.applications ?? []) changes.push({ op: 'application', mesh, name })
  return changes
}

/** Catalog changes when an item goes (the instance itself goes only when nothing else registers it: the source decides). */
export function goneCatalog(mesh: string, item: ZkItem, facts: ItemFacts): CatalogChange[] {
  // The labels came from the deleted ServiceInstance: the instance may stay (its interface-level URLs), its labels do not.
  if (item.kind === 'instance' && facts.instance) return [{ op: 'instance-labels', mesh, name: facts.instance, labels: null }]
  if (item.kind !== 'url' || !facts.instance || !facts.service) return []
  if (item.category !== 'providers' && item.category !== 'consumers') return []
  return [{ op: 'service-instance-gone', mesh, service: facts.service, instance: facts.instance, side: item.category === 'providers' ? 'provider' : 'consumer' }]
}

/** Where and when a change was seen. */
export interface ChangeContext {
  mesh: string
  /** Detection time, epoch ms. */
  time: number
  /** Appended to the message of a change found by a diff rather than watched (`missedChangeNote`). */
  note?: string
}

/**
 * The event a change of one item records: `before` absent for an added item, `after` absent for
 * a removed one. Undefined when the change records nothing (metadata removal, mappings).
 */
export function describeChange(path: string, item: ZkItem, before: string | undefined, after: string | undefined, context: ChangeContext): IngestEvent | undefined {
  const facts = itemFacts(item, after ?? before ?? '')
  if (!facts) return undefined
  const change: 'added' | 'removed' | 'changed' = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed'
  const base = { facts, path, context }
  switch (item.kind) {
    case 'url':
      return describeUrl(base, item, change)
    case 'instance': {
      if (change === 'added') return event(base, 'InstanceRegistered', 'normal', 'instance', 'registered', { kind: 'Instance', name: facts.instance! }, `Instance registered: ${who(facts)}${revision(facts)}`)
      if (change === 'removed') return event(base, 'InstanceUnregistered', 'warning', 'instance', 'deregistered', { kind: 'Instance', name: facts.instance! }, `Instance unregistered: ${who(facts)}`)
      return event(base, 'InstanceUpdated', 'normal', 'instance', 'updated', { kind: 'Instance', name: facts.instance! }, `Instance updated: ${who(facts)}: ${instanceChange(before!, after!)}`)
    }
    case 'rule': {
      const name = `${item.key}${item.ruleType ? `.${item.ruleType}` : ''}`
      const object = { kind: 'Config', name: item.group === 'dubbo' ? name : `${item.group}/${name}` }
      const what = `${item.ruleType ?? 'config'} ${item.key}`
      if (change === 'added') return event(base, 'ConfigAdded', 'normal', 'config', 'added', object, `Config added: ${what}: ${item.ruleType ? summarizeRule(after!) : `${after!.length} bytes`}`)
      if (change === 'removed') return event(base, 'ConfigDeleted', 'normal', 'config', 'deleted', object, `Config deleted: ${what}`)
      return event(base, 'ConfigUpdated', 'normal', 'config', 'updated', object, `Config updated: ${what}: ${item.ruleType ? summarizeRuleChange(before!, after!) : 'content changed'}`)
    }
    case 'service-metadata': {
      if (change === 'removed') return undefined
      const key = serviceKey(item.service, item.version, item.group)
      const object = { kind: 'Metadata', name: `${key} ${item.side} ${item.application}` }
      const detail = change === 'changed' ? `: ${metadataChange(before!, after!)}` : ''
      const verb = change === 'added' ? 'added' : 'updated'
      return event(base, change === 'added' ? 'MetadataAdded' : 'MetadataUpdated', 'normal', 'metadata', verb, object, `Metadata ${verb}: ${item.application} ${item.side} -> ${key}${detail}`)
    }
    case 'app-metadata': {
      if (change === 'removed') return undefined
      const object = { kind: 'Metadata', name: `${item.application} ${item.revision}` }
      const services = metadataServices(after!)
      const verb = change === 'added' ? 'added' : 'updated'
      return event(base, change === 'added' ? 'MetadataAdded' : 'MetadataUpdated', 'normal', 'metadata', verb, object, `Metadata ${verb}: ${item.application} revision ${item.revision}${services === undefined ? '' : ` (${countOf(services, 'services')})`}`)
    }
    case 'mapping':
      return undefined
  }
}

interface EventBase {
  facts: ItemFacts
  path: string
  context: ChangeContext
}

function describeUrl(base: EventBase, item: Extract<ZkItem, { kind: 'url' }>, change: 'added' | 'removed' | 'changed'): IngestEvent | undefined {
  const { facts } = base
  const url = facts.url!
  const key = serviceKey(facts.service!, facts.version, facts.group)
  if (item.category === 'providers' || item.category === 'consumers') {
    const kind = item.category === 'providers' ? 'Provider' : 'Consumer'
    const object = { kind, name: key }
    const target = `${who(facts)} -> ${facts.service}`
    if (change === 'removed') {
      return event(base, `${kind}Unregistered`, kind === 'Provider' ? 'warning' : 'normal', kind.toLowerCase(), 'deregistered', object, `${kind} unregistered: ${target}`)
    }
    return event(base, `${kind}Registered`, 'normal', kind.toLowerCase(), 'registered', object, `${kind} registered: ${target}`)
  }
  // A URL node never changes in place: a new rule is a new node.
  const rule = item.category === 'configurators' ? 'override' : 'route'
  const object = { kind: 'Config', name: `${facts.service}.${item.category}` }
  const where = url.host === '0.0.0.0' || url.host === '*' ? 'all addresses' : urlAddress(url)
  const text = `${rule} rule for ${facts.service} on ${where}: ${urlRuleSummary(url)}`
  if (change === 'removed') return event(base, 'ConfigDeleted', 'normal', 'config', 'deleted', object, `Config deleted: ${text}`)
  return event(base, 'ConfigAdded', 'normal', 'config', 'added', object, `Config added: ${text}`)
}

/** The parameters an override or route URL sets, without the bookkeeping ones. */
function urlRuleSummary(url: DubboUrl): string {
  const skip = new Set(['category', 'dynamic', 'interface', 'timestamp', 'pid', 'dubbo'])
  const parts = Object.entries(url.params)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}=${value}`)
  return parts.length > 0 ? parts.join(', ') : 'no parameters'
}

function event(base: EventBase, reason: string, type: 'normal' | 'warning', category: string, action: string, object: { kind: string; name: string }, message: string): IngestEvent {
  const { facts, path, context } = base
  const result: IngestEvent = {
    id: registryEventId('zookeeper', context.mesh, context.time, path, reason),
    time: context.time,
    type,
    reason,
    message: `${message}${context.note ?? ''}`,
    source: 'zookeeper',
    component: 'zookeeper',
    mesh: context.mesh,
    object,
    category,
    action,
  }
  if (facts.application) result.application = facts.application
  if (facts.instance) result.instance = facts.instance
  if (facts.ip) result.ip = facts.ip
  if (facts.service) result.service = facts.service
  return result
}

/** `demo-provider 10.0.0.7:20880`, `demo-consumer 10.0.0.8`: the application and the address. */
function who(facts: ItemFacts): string {
  return [facts.application, facts.address ?? facts.instance ?? facts.ip].filter(Boolean).join(' ')
}

function revision(facts: ItemFacts): string {
  const value = facts.serviceInstance?.metadata['dubbo.metadata.revision']
  return value ? ` (revision ${value})` : ''
}

/** What changed in a ServiceInstance: its address fields and its metadata, key by key. */
function instanceChange(beforeText: string, afterText: string): string {
  const before = parseServiceInstance(beforeText)
  const after = parseServiceInstance(afterText)
  if (!before.ok || !after.ok) return 'content changed'
  const flat = (info: ServiceInstanceInfo) => {
    const fields: Record<string, string> = { ...info.metadata }
    if (info.name !== undefined) fields.name = info.name
    if (info.address !== undefined) fields.address = info.address
    if (info.port !== undefined) fields.port = String(info.port)
    return fields
  }
  const a = flat(before.value)
  const b = flat(after.value)
  const changes = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((key) => a[key] !== b[key])
    .map((key) => `${key}: ${a[key] ?? '(unset)'} -> ${b[key] ?? '(unset)'}`)
  if (changes.length === 0) return 'registration data changed'
  return changes.length > 4 ? `${changes.slice(0, 4).join('; ')}; and ${changes.length - 4} more` : changes.join('; ')
}

/** What changed in a service definition: its methods, when both versions list them. */
function metadataChange(beforeText: string, afterText: string): string {
  const methods = (text: string) => {
    const json = parseJson(text)
    if (!json.ok || !isRecord(json.value) || !Array.isArray(json.value.methods)) return undefined
    return new Set(json.value.methods.map((method) => (isRecord(method) && typeof method.name === 'string' ? method.name : JSON.stringify(method))))
  }
  const a = methods(beforeText)
  const b = methods(afterText)
  if (!a || !b) return 'definition changed'
  const added = [...b].filter((name) => !a.has(name))
  const removed = [...a].filter((name) => !b.has(name))
  const parts = [added.length > 0 ? `methods added: ${added.join(', ')}` : '', removed.length > 0 ? `methods removed: ${removed.join(', ')}` : ''].filter(Boolean)
  return parts.length > 0 ? parts.join('; ') : 'definition changed'
}

function metadataServices(text: string): number | undefined {
  const json = parseJson(text)
  return json.ok && isRecord(json.value) && isRecord(json.value.services) ? Object.keys(json.value.services).length : undefined
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
}
