/**
 * Pure normalisation of Nacos answers: reading `instance/list` hosts, the state we remember per
 * instance (as a checkpoint value), the events a change of that state produces, and the catalog
 * an instance implies. No I/O here; `nacosSource.ts` does the polling and publishing.
 */
import { isRecord } from '../../isRecord.ts'
import type { CatalogChange, Checkpoint, IngestEvent } from '../../store/types.ts'
import { instanceAddress } from '../registry/address.ts'
import { diffNodes, registryEventId, stateCheckpoints } from '../registry/registryState.ts'
import type { NodeDiff } from '../registry/registryState.ts'
import { parseDubboServiceName } from './dubboServiceName.ts'

/** One instance of one Nacos service, as we remember it. */
export interface NacosInstance {
  /** Nacos service name, without the `GROUP@@` prefix. */
  service: string
  ip: string
  port: number
  cluster: string
  healthy: boolean
  enabled: boolean
  weight: number
  ephemeral: boolean
  instanceId?: string
  metadata: Record<string, string>
}

/** Identity of an instance within a mesh: service, cluster and address (`ip:port`). */
export function instanceKey(service: string, cluster: string, ip: string, port: number): string {
  return `${service}#${cluster}#${ip}:${port}`
}

/** How the instance is named (`10.0.0.7:20880`, `[2001:db8::1]:20880`): the same name every registry source gives a process. */
export const address = (instance: Pick<NacosInstance, 'ip' | 'port'>): string => instanceAddress(instance.ip, instance.port)

/**
 * The checkpoint value of an instance: a fixed property order and sorted metadata, so the same
 * instance always serialises to the same string and a diff of strings is a diff of content.
 */
export function serializeInstance(instance: NacosInstance): string {
  const metadata: Record<string, string> = {}
  for (const key of Object.keys(instance.metadata).sort()) metadata[key] = instance.metadata[key]!
  return JSON.stringify({
    service: instance.service,
    ip: instance.ip,
    port: instance.port,
    cluster: instance.cluster,
    healthy: instance.healthy,
    enabled: instance.enabled,
    weight: instance.weight,
    ephemeral: instance.ephemeral,
    ...(instance.instanceId === undefined ? {} : { instanceId: instance.instanceId }),
    metadata,
  })
}

/** Reads a stored checkpoint value back; undefined when it is not one we wrote. */
export function parseInstance(value: string): NacosInstance | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  const host = readHost(isRecord(parsed) ? parsed.service : undefined, parsed)
  return host.ok ? host.instance : undefined
}

type HostResult = { ok: true; key: string; instance: NacosInstance } | { ok: false; reason: string; key?: string }


/** Reads one entry of `hosts`; a malformed one says why, and its key when it has an address. */
function readHost(service: unknown, host: unknown): HostResult {
  if (typeof service !== 'string' || service === '') return { ok: false, reason: 'service name missing' }
  if (!isRecord(host)) return { ok: false, reason: 'host is not an object' }
  const { ip, port } = host
  if (typeof ip !== 'string' || ip === '') return { ok: false, reason: 'host without ip' }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, reason: 'host without a valid port' }
  const cluster = typeof host.clusterName === 'string' && host.clusterName !== '' ? host.clusterName : 'DEFAULT'
  const key = instanceKey(service, cluster, ip, port)
  const flag = (name: string, fallback: boolean): boolean | undefined => {
    const value = host[name]
    if (value === undefined || value === null) return fallback
    return typeof value === 'boolean' ? value : undefined
  }
  const healthy = flag('healthy', true)
  const enabled = flag('enabled', true)
  const ephemeral = flag('ephemeral', true)
  if (healthy === undefined || enabled === undefined || ephemeral === undefined) return { ok: false, reason: 'host with a non-boolean healthy, enabled or ephemeral', key }
  const weight = host.weight === undefined || host.weight === null ? 1 : host.weight
  if (typeof weight !== 'number' || !Number.isFinite(weight)) return { ok: false, reason: 'host with a non-numeric weight', key }
  const metadata: Record<string, string> = {}
  if (host.metadata !== undefined && host.metadata !== null) {
    if (!isRecord(host.metadata)) return { ok: false, reason: 'host metadata is not an object', key }
    for (const [name, value] of Object.entries(host.metadata)) {
      // Nacos metadata is Map<String, String>; a number or boolean is read as its text.
      if (typeof value === 'string') metadata[name] = value
      else if (typeof value === 'number' || typeof value === 'boolean') metadata[name] = String(value)
      else return { ok: false, reason: 'host metadata value is not a string', key }
    }
  }
  const instance: NacosInstance = { service, ip, port, cluster, healthy, enabled, weight, ephemeral, metadata }
  if (typeof host.instanceId === 'string' && host.instanceId !== '') instance.instanceId = host.instanceId
  return { ok: true, key, instance }
}

export interface MalformedHost {
  reason: string
  /** The instance's key when the host had an address: its earlier state is kept, not removed. */
  key?: string
  host: unknown
}

export type InstanceListResult =
  | {
      ok: true
      instances: Map<string, NacosInstance>
      malformed: MalformedHost[]
      cacheMillis?: number
      /** Nacos's protection threshold was reached: every host is reported healthy, whatever it is. */
      protectionReached: boolean
      /**
       * Whether the answer says at all (`reachProtectionThreshold`, sent by 2.x). Nacos 1.x never
       * sends it in a list answer, yet applies protection just the same: its "healthy" may be false.
       */
      protectionKnown: boolean
    }
  | { ok: false; reason: string }

/**
 * Reads an `instance/list` answer. A body that is not that answer at all is a failed request
 * (`ok: false`: nothing may be read as removed); a bad host inside a good answer is skipped and
 * reported, the rest kept.
 */
export function readInstanceList(service: string, body: unknown): InstanceListResult {
  if (!isRecord(body) || !Array.isArray(body.hosts)) return { ok: false, reason: 'instance list answer without a hosts array' }
  const instances = new Map<string, NacosInstance>()
  const malformed: MalformedHost[] = []
  for (const host of body.hosts) {
    const result = readHost(service, host)
    if (result.ok) instances.set(result.key, result.instance)
    else malformed.push(result.key === undefined ? { reason: result.reason, host } : { reason: result.reason, key: result.key, host })
  }
  const cacheMillis = typeof body.cacheMillis === 'number' && Number.isFinite(body.cacheMillis) && body.cacheMillis > 0 ? body.cacheMillis : undefined
  const protectionReached = body.reachProtectionThreshold === true
  const protectionKnown = typeof body.reachProtectionThreshold === 'boolean'
  return cacheMillis === undefined
    ? { ok: true, instances, malformed, protectionReached, protectionKnown }
    : { ok: true, instances, malformed, cacheMillis, protectionReached, protectionKnown }
}

/**
 * When too few instances of a service are healthy (at or below its protection threshold, 0 by
 * default: none healthy), Nacos answers with every instance marked healthy so that consumers keep
 * calling something. Those flags say nothing: known instances keep the health we last saw, so no
 * `InstanceHealthy` is invented; new ones take what is reported.
 */
export function holdHealth(instances: ReadonlyMap<string, NacosInstance>, known: (key: string) => NacosInstance | undefined): Map<string, NacosInstance> {
  const held = new Map<string, NacosInstance>()
  for (const [key, instance] of instances) {
    const previous = known(key)
    held.set(key, previous && previous.healthy !== instance.healthy ? { ...instance, healthy: previous.healthy } : instance)
  }
  return held
}

/**
 * Whether an answer of the instance detail (`GET /v1/ns/instance`, `GET /v2/ns/instance`) says the
 * instance does not exist. Nacos throws `NacosException(NOT_FOUND)` with one of three messages;
 * 1.x answers it as 404 with the message, 2.x's v1 lets it reach the console's catch-all handler:
 * 500, `caused: <message>;`; v2 answers 404 with its envelope, `{ code: 20004, message: "resource
 * not found", data: <message> }`. Only those messages count: any other 404 or 500 (a proxy, a
 * server in trouble) is a failure, not a deregistration.
 */
export function isInstanceNotFound(status: number, body: string): boolean {
  if (status !== 404 && status !== 500) return false
  const notFound = (message: string) => /^(caused: )?(no matched ip found!|no ips found for cluster \S* in service .*|no service .* found!);?$/.test(message.trim())
  if (body.trimStart().startsWith('{')) {
    let answer: unknown
    try {
      answer = JSON.parse(body)
    } catch {
      return false
    }
    // 20004 resource not found, 21003 instance not found: the v2 codes for a missing instance.
    return isRecord(answer) && (answer.code === 20004 || answer.code === 21003) && typeof answer.data === 'string' && notFound(answer.data)
  }
  return notFound(body)
}

/**
 * Reads an instance detail answer (`{ service, ip, port, clusterName, weight, healthy, instanceId,
 * metadata }`) for an instance known as `known` and missing from `instance/list`: Nacos leaves
 * disabled instances out of the list and keeps them in the detail, so it is disabled. The detail
 * has no `enabled` and no `ephemeral`: the first is false (that is why it is not listed), the
 * second is kept from what we knew. Weight, health and metadata are the detail's.
 */
export function readInstanceDetail(known: NacosInstance, body: unknown): { ok: true; instance: NacosInstance } | { ok: false; reason: string } {
  if (!isRecord(body)) return { ok: false, reason: 'instance detail answer that is not an object' }
  if (body.ip !== known.ip || body.port !== known.port) return { ok: false, reason: 'instance detail answer for another address' }
  const host = { ...body, clusterName: known.cluster, enabled: false, ephemeral: known.ephemeral, instanceId: body.instanceId ?? known.instanceId }
  const result = readHost(known.service, host)
  return result.ok ? { ok: true, instance: result.instance } : { ok: false, reason: `instance detail answer: ${result.reason}` }
}

/** Reads a `service/list` page: v1's `{ count, doms }` or v2's `data`, `{ count, services }`. */
export function readServicePage(body: unknown): { ok: true; count: number; names: string[] } | { ok: false; reason: string } {
  const names = isRecord(body) ? (body.doms ?? body.services) : undefined
  if (!isRecord(body) || typeof body.count !== 'number' || !Array.isArray(names)) return { ok: false, reason: 'service list answer without count and doms (or services)' }
  if (!names.every((name): name is string => typeof name === 'string')) return { ok: false, reason: 'service list answer with a non-string name' }
  return { ok: true, count: body.count, names }
}

// --- what an instance means --------------------------------------------------------------

/** What an instance's service name and metadata say: owner application and Dubbo service. */
export interface InstanceMeaning {
  application?: string
  /** The Dubbo interface, for interface-level registrations. */
  service?: string
  version?: string
  group?: string
  side?: 'provider' | 'consumer'
}

export function instanceMeaning(instance: NacosInstance): InstanceMeaning {
  const parsed = parseDubboServiceName(instance.service)
  const meaning: InstanceMeaning = {}
  // Dubbo puts `application` in every instance's metadata; an application-level service is named
  // after its application, which is the fallback when the metadata does not say.
  const application = instance.metadata.application || (parsed.kind === 'application' ? parsed.application : undefined)
  if (application) meaning.application = application
  if (parsed.kind === 'interface') {
    meaning.service = parsed.interface
    if (parsed.version) meaning.version = parsed.version
    if (parsed.group) meaning.group = parsed.group
    if (parsed.side) meaning.side = parsed.side
  }
  return meaning
}

/** `demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService`, as the messages name it. */
function describe(instance: NacosInstance): string {
  const meaning = instanceMeaning(instance)
  const parts = [meaning.application, address(instance)].filter(Boolean).join(' ')
  const cluster = instance.cluster === 'DEFAULT' ? '' : ` (cluster ${instance.cluster})`
  return `${parts}${meaning.service ? ` -> ${meaning.service}` : ''}${cluster}`
}

const MAX_VALUE_LENGTH = 60
const MAX_NAMED_CHANGES = 8

function shown(value: string | undefined): string {
  if (value === undefined) return '(unset)'
  if (value === '') return '""'
  return value.length > MAX_VALUE_LENGTH ? `${value.slice(0, MAX_VALUE_LENGTH - 1)}…` : value
}

/** What changed in the fields `InstanceUpdated` reports: enabled, weight, metadata (by key). */
export function describeUpdate(before: NacosInstance, after: NacosInstance): string[] {
  const changes: string[] = []
  if (before.enabled !== after.enabled) changes.push(`enabled ${before.enabled} -> ${after.enabled}`)
  if (before.weight !== after.weight) changes.push(`weight ${before.weight} -> ${after.weight}`)
  const keys = [...new Set([...Object.keys(before.metadata), ...Object.keys(after.metadata)])].sort()
  for (const key of keys) {
    const was = before.metadata[key]
    const now = after.metadata[key]
    if (was !== now) changes.push(`metadata ${key} ${shown(was)} -> ${shown(now)}`)
  }
  return changes
}

function summarise(changes: string[]): string {
  if (changes.length <= MAX_NAMED_CHANGES) return changes.join(', ')
  return `${changes.slice(0, MAX_NAMED_CHANGES).join(', ')} and ${changes.length - MAX_NAMED_CHANGES} more`
}

export interface EventContext {
  mesh: string
  /** Detection time, epoch ms. */
  time: number
  /** Appended to every message (`missedChangeNote`), for changes found by comparison. */
  note?: string
}

function instanceEvent(
  context: EventContext,
  key: string,
  instance: NacosInstance,
  reason: string,
  type: IngestEvent['type'],
  action: string,
  message: string,
): IngestEvent {
  const meaning = instanceMeaning(instance)
  const event: IngestEvent = {
    id: registryEventId('nacos', context.mesh, context.time, key, reason),
    time: context.time,
    type,
    reason,
    message: message + (context.note ?? ''),
    source: 'nacos',
    component: 'nacos',
    mesh: context.mesh,
    object: instance.instanceId ? { kind: 'Instance', name: address(instance), uid: instance.instanceId } : { kind: 'Instance', name: address(instance) },
    instance: address(instance),
    ip: instance.ip,
    category: 'instance',
    action,
  }
  if (meaning.application) event.application = meaning.application
  if (meaning.service) event.service = meaning.service
  return event
}

/** The events one instance's change produces: a health flip and an update are separate events. */
export function changeEvents(context: EventContext, key: string, before: NacosInstance | undefined, after: NacosInstance | undefined): IngestEvent[] {
  if (!before && !after) return []
  if (!before) return [instanceEvent(context, key, after!, 'InstanceRegistered', 'normal', 'registered', `Instance registered: ${describe(after!)}`)]
  if (!after) return [instanceEvent(context, key, before, 'InstanceUnregistered', 'warning', 'deregistered', `Instance unregistered: ${describe(before)}`)]
  const events: IngestEvent[] = []
  if (before.healthy && !after.healthy) events.push(instanceEvent(context, key, after, 'InstanceUnhealthy', 'warning', 'updated', `Instance unhealthy: ${describe(after)}`))
  if (!before.healthy && after.healthy) events.push(instanceEvent(context, key, after, 'InstanceHealthy', 'normal', 'updated', `Instance healthy again: ${describe(after)}`))
  const changes = describeUpdate(before, after)
  if (changes.length > 0) events.push(instanceEvent(context, key, after, 'InstanceUpdated', 'normal', 'updated', `Instance updated: ${describe(after)}: ${summarise(changes)}`))
  return events
}

/** A diff of node state as events and the checkpoints that store the new state with them. */
export function diffEvents(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  context: EventContext,
): { diff: NodeDiff; events: IngestEvent[]; checkpoints: Checkpoint[] } {
  const diff = diffNodes(before, after)
  const events = [
    ...diff.added.map(({ key, value }) => changeEvents(context, key, undefined, parseInstance(value))),
    ...diff.changed.map(({ key, before: was, value }) => {
      const previous = parseInstance(was)
      // A stored state we cannot read back is treated as unknown: the instance is reported as
      // registered rather than as a change from nothing.
      return changeEvents(context, key, previous, parseInstance(value))
    }),
    ...diff.removed.map(({ key, before: was }) => changeEvents(context, key, parseInstance(was), undefined)),
  ].flat()
  return { diff, events, checkpoints: stateCheckpoints(diff) }
}

// --- catalog -----------------------------------------------------------------------------

/** Catalog changes describing a present instance: its application, the process, its service and membership. */
export function instanceCatalog(mesh: string, instance: NacosInstance): CatalogChange[] {
  const meaning = instanceMeaning(instance)
  const changes: CatalogChange[] = []
  if (meaning.application) changes.push({ op: 'application', mesh, name: meaning.application })
  changes.push({
    op: 'instance',
    instance: {
      mesh,
      name: address(instance),
      ip: instance.ip,
      port: instance.port,
      ...(meaning.application ? { application: meaning.application } : {}),
      registered: true,
      source: 'nacos',
    },
  })
  if (meaning.service) {
    changes.push({ op: 'service', mesh, name: meaning.service, ...(meaning.version ? { version: meaning.version } : {}), ...(meaning.group ? { group: meaning.group } : {}) })
    if (meaning.side) {
      changes.push({
        op: 'service-instance',
        mesh,
        service: meaning.service,
        instance: address(instance),
        side: meaning.side,
        ...(meaning.application ? { application: meaning.application } : {}),
      })
    }
  }
  return changes
}

const membership = (instance: NacosInstance): string | undefined => {
  const meaning = instanceMeaning(instance)
  return meaning.service && meaning.side ? `${meaning.service}\n${meaning.side}\n${address(instance)}` : undefined
}

/**
 * Catalog changes for instances that left: a process (`ip:port`) is gone only when no service
 * lists it any more, and a provider or consumer link only when no remaining registration holds it
 * (one Dubbo process registers under many Nacos services).
 */
export function goneCatalog(mesh: string, removed: Iterable<NacosInstance>, remaining: Iterable<NacosInstance>): CatalogChange[] {
  const addresses = new Set<string>()
  const memberships = new Set<string>()
  for (const instance of remaining) {
    addresses.add(address(instance))
    const member = membership(instance)
    if (member) memberships.add(member)
  }
  const changes: CatalogChange[] = []
  const seen = new Set<string>()
  for (const instance of removed) {
    const meaning = instanceMeaning(instance)
    const member = membership(instance)
    if (member && !memberships.has(member) && !seen.has(member)) {
      seen.add(member)
      changes.push({ op: 'service-instance-gone', mesh, service: meaning.service!, instance: address(instance), side: meaning.side! })
    }
    const name = address(instance)
    if (!addresses.has(name) && !seen.has(name)) {
      seen.add(name)
      changes.push({ op: 'instance-gone', mesh, name })
    }
  }
  return changes
}

/** Counts for the first sync's `RegistrySynced` summary. */
export function syncCounts(instances: Iterable<NacosInstance>): { applications: number; instances: number; services: number } {
  const applications = new Set<string>()
  const addresses = new Set<string>()
  const services = new Set<string>()
  for (const instance of instances) {
    const meaning = instanceMeaning(instance)
    if (meaning.application) applications.add(meaning.application)
    addresses.add(address(instance))
    if (meaning.service) services.add(meaning.service)
  }
  return { applications: applications.size, instances: addresses.size, services: services.size }
}
