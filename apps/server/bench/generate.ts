/**
 * Deterministic generator of benchmark events shaped like production ones: three meshes (one
 * Kubernetes cluster, one ZooKeeper and one Nacos registry), 200 Dubbo applications with a Zipf
 * popularity, ~1,600 instances (pods and registry `ip:port` addresses), ~600 services, spread over
 * seven days ending at `end`. Events are produced one at a time (a generator), so a million of them
 * never sit in memory together; the same seed and `end` always give the same events.
 *
 * Known simplifications: no event repeats (every id is new, so ingestion is all inserts), no
 * catalog changes are published (instances and services are known only through events), and pods
 * never churn (a pod keeps its name and IP for the whole week).
 */
import type { EventSource, EventType } from '@eventline/shared'
import type { Random } from '../src/seededRandom.ts'
import { seededRandom as createRandom } from '../src/seededRandom.ts'
import type { IngestEvent } from '../src/store/types.ts'

export { createRandom }
export type { Random }

const int = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1))
const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!
const POD_CHARS = 'bcdfghjklmnpqrstvwxz2456789' // the alphabet Kubernetes uses for generated names
const HEX = '0123456789abcdef'
const chars = (random: Random, alphabet: string, length: number) => {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)]
  return out
}
const uuid = (random: Random) => `${chars(random, HEX, 8)}-${chars(random, HEX, 4)}-4${chars(random, HEX, 3)}-a${chars(random, HEX, 3)}-${chars(random, HEX, 12)}`
const pascal = (word: string) => word[0]!.toUpperCase() + word.slice(1)

export interface MeshSpec {
  name: string
  source: Extract<EventSource, 'kubernetes' | 'zookeeper' | 'nacos'>
}

export const KUBERNETES_MESH: MeshSpec = { name: 'k8s-prod', source: 'kubernetes' }
export const ZOOKEEPER_MESH: MeshSpec = { name: 'zk-prod', source: 'zookeeper' }
export const NACOS_MESH: MeshSpec = { name: 'nacos-prod', source: 'nacos' }
export const MESHES: readonly MeshSpec[] = [KUBERNETES_MESH, ZOOKEEPER_MESH, NACOS_MESH]

export interface Replica {
  ip: string
  /** `ip:port`, the registry instance name. */
  address: string
  node: string
  /** Pod name, when the application runs on Kubernetes. */
  pod?: string
  podUid?: string
}

export interface Application {
  name: string
  /** 1 is the most popular. */
  rank: number
  namespace: string
  registry: MeshSpec
  onKubernetes: boolean
  replicas: Replica[]
  /** Dubbo interfaces it provides. */
  services: string[]
  /** Interfaces of other applications it consumes. */
  consumes: string[]
  image: string
}

export interface World {
  applications: Application[]
  /** Cumulative Zipf weights of `applications`, for sampling an event's application. */
  cumulative: Float64Array
  instanceCount: number
  serviceCount: number
}

const DOMAINS = ['order', 'payment', 'user', 'inventory', 'cart', 'search', 'pricing', 'shipping', 'billing', 'catalog',
  'review', 'notification', 'auth', 'account', 'coupon', 'risk', 'report', 'media', 'ledger', 'recommend'] as const
const ROLES = ['service', 'api', 'worker', 'gateway', 'center', 'admin', 'job', 'sync', 'core', 'web'] as const
const NAMESPACES = ['trade', 'user', 'infra', 'growth', 'finance'] as const
const SERVICE_SUFFIXES = ['Service', 'QueryService', 'AdminService'] as const
const ZIPF_EXPONENT = 1
const DUBBO_PORT = 20880

/**
 * Builds the fixed landscape the events talk about. Replicas shrink with popularity rank
 * (33 for the top application, 2-3 for the tail), the five busiest and 80% of the others run on
 * Kubernetes (their pods register with the pod IP, so pod events correlate into the registry
 * mesh), the rest on VMs; 60% register in ZooKeeper, 40% in Nacos.
 */
export function createWorld(seed: number): World {
  const random = createRandom(seed)
  const names = DOMAINS.flatMap((domain) => ROLES.map((role) => ({ domain, role })))
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[names[i], names[j]] = [names[j]!, names[i]!]
  }
  let podIps = 0
  let vmIps = 0
  const applications: Application[] = names.map(({ domain, role }, index) => {
    const rank = index + 1
    const name = `${domain}-${role}`
    // The busiest applications are the ones that moved to Kubernetes first.
    const onKubernetes = rank <= 5 || random() < 0.8
    const replicaSet = chars(random, POD_CHARS, 10)
    const replicas: Replica[] = []
    for (let r = 0; r < Math.max(2, Math.round(33 / Math.sqrt(rank))); r++) {
      const n = onKubernetes ? podIps++ : vmIps++
      const ip = onKubernetes ? `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}` : `172.16.${Math.floor(n / 250)}.${(n % 250) + 2}`
      const replica: Replica = { ip, address: `${ip}:${DUBBO_PORT}`, node: `node-${onKubernetes ? 'pool-a' : 'vm'}-${String(int(random, 1, 48)).padStart(3, '0')}` }
      if (onKubernetes) {
        replica.pod = `${name}-${replicaSet}-${chars(random, POD_CHARS, 5)}`
        replica.podUid = uuid(random)
      }
      replicas.push(replica)
    }
    return {
      name,
      rank,
      namespace: pick(random, NAMESPACES),
      registry: random() < 0.6 ? ZOOKEEPER_MESH : NACOS_MESH,
      onKubernetes,
      replicas,
      services: SERVICE_SUFFIXES.map((suffix) => `com.example.${domain}.${role}.${pascal(domain)}${pascal(role)}${suffix}`),
      consumes: [],
      image: `registry.example.com/${domain}/${name}:v${int(random, 1, 4)}.${int(random, 0, 30)}.${int(random, 0, 9)}-${chars(random, HEX, 7)}`,
    }
  })
  const cumulative = new Float64Array(applications.length)
  let sum = 0
  for (const [index, application] of applications.entries()) {
    sum += 1 / application.rank ** ZIPF_EXPONENT
    cumulative[index] = sum
  }
  for (let i = 0; i < cumulative.length; i++) cumulative[i]! /= sum
  // Consumers call popular providers of their own registry more often, like real call graphs.
  for (const application of applications) {
    while (application.consumes.length < 4) {
      const provider = applications[sampleIndex(cumulative, random())]!
      if (provider !== application && provider.registry === application.registry) application.consumes.push(pick(random, provider.services))
    }
  }
  const instanceCount = applications.reduce((n, a) => n + a.replicas.length * (a.onKubernetes ? 2 : 1), 0)
  return { applications, cumulative, instanceCount, serviceCount: applications.length * SERVICE_SUFFIXES.length }
}

function sampleIndex(cumulative: Float64Array, u: number): number {
  let low = 0
  let high = cumulative.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    if (cumulative[mid]! < u) low = mid + 1
    else high = mid
  }
  return low
}

interface Context {
  random: Random
  application: Application
  replica: Replica
}

interface ReasonSpec {
  reason: string
  type: EventType
  weight: number
  build: (context: Context, event: IngestEvent) => void
}

const ZONES = ['cn-east-1a', 'cn-east-1b', 'cn-east-1c'] as const

/** Kubernetes pod events: ~15% warnings, as a busy production cluster shows. */
const POD_REASONS: readonly ReasonSpec[] = [
  { reason: 'Scheduled', type: 'normal', weight: 12, build: ({ random, application, replica }, e) => {
    e.component = 'default-scheduler'
    e.message = `Successfully assigned ${application.namespace}/${replica.pod} to ${replica.node} (zone ${pick(random, ZONES)}, priority class business-critical)`
  } },
  { reason: 'Pulling', type: 'normal', weight: 12, build: ({ application }, e) => {
    e.message = `Pulling image "${application.image}" (pull policy IfNotPresent, layer cache miss)`
  } },
  { reason: 'Pulled', type: 'normal', weight: 12, build: ({ random, application }, e) => {
    const seconds = (1 + random() * 9).toFixed(3)
    e.message = `Successfully pulled image "${application.image}" in ${seconds}s (${seconds}s including waiting). Image size: ${int(random, 80, 400)}435712 bytes.`
  } },
  { reason: 'Created', type: 'normal', weight: 12, build: ({ application, replica }, e) => {
    e.message = `Created container ${application.name} in pod ${replica.pod} with image ${application.image}`
  } },
  { reason: 'Started', type: 'normal', weight: 12, build: ({ application, replica }, e) => {
    e.message = `Started container ${application.name} in pod ${replica.pod}; liveness probe http-get :22222/live period=10s`
  } },
  { reason: 'Killing', type: 'normal', weight: 10, build: ({ application }, e) => {
    e.message = `Stopping container ${application.name}: pod is being replaced by a rollout of deployment ${application.name}, grace period 30s`
  } },
  { reason: 'SandboxChanged', type: 'normal', weight: 6, build: ({ replica }, e) => {
    e.message = `Pod sandbox changed, it will be killed and re-created (network namespace of ${replica.pod} was torn down by cni)`
  } },
  { reason: 'BackOff', type: 'warning', weight: 7, build: ({ random, application, replica }, e) => {
    e.message = `Back-off restarting failed container ${application.name} in pod ${replica.pod}_${application.namespace}(${replica.podUid}) exit code 137`
    e.count = int(random, 2, 60)
  } },
  { reason: 'Unhealthy', type: 'warning', weight: 6, build: ({ random, replica }, e) => {
    e.message = `Readiness probe failed: Get "http://${replica.ip}:22222/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
    e.count = int(random, 2, 30)
  } },
  { reason: 'FailedScheduling', type: 'warning', weight: 1, build: (_context, e) => {
    e.component = 'default-scheduler'
    e.message = '0/48 nodes are available: 3 Insufficient cpu, 5 node(s) had untolerated taint {dedicated: infra}. preemption: 0/48 nodes are available.'
  } },
  { reason: 'FailedMount', type: 'warning', weight: 1, build: ({ application }, e) => {
    e.message = `MountVolume.SetUp failed for volume "${application.name}-config" : configmap "${application.name}-config" not found in namespace ${application.namespace}`
  } },
]

type RegistryKind = 'provider' | 'consumer' | 'instance' | 'config' | 'metadata'
interface RegistryReasonSpec extends ReasonSpec {
  category: RegistryKind
  action: string
}

const revision = (random: Random) => chars(random, HEX, 8)
const providerDetails = (random: Random) => `(dubbo, version=1.${int(random, 0, 9)}.0, timeout=3000ms)`
const consumerDetails = (random: Random) => `(check=false, retries=${int(random, 0, 3)})`

function serviceEvent(side: 'provider' | 'consumer', registered: boolean): RegistryReasonSpec['build'] {
  return ({ random, application, replica }, e) => {
    const service = side === 'provider' ? pick(random, application.services) : pick(random, application.consumes)
    e.service = service
    e.object = { kind: side === 'provider' ? 'Provider' : 'Consumer', name: `${service}@${replica.address}` }
    const verb = registered ? 'registered' : 'unregistered'
    const details = side === 'provider' ? providerDetails(random) : consumerDetails(random)
    e.message = `${side === 'provider' ? 'Provider' : 'Consumer'} ${verb}: ${application.name} ${replica.address} -> ${service} ${details}`
  }
}

function instanceEvent(message: (context: Context) => string, withService: boolean): RegistryReasonSpec['build'] {
  return (context, e) => {
    e.object = { kind: 'Instance', name: context.replica.address }
    if (withService) e.service = pick(context.random, context.application.services)
    e.message = message(context)
  }
}

const instanceRegistered = ({ random, application, replica }: Context) =>
  `Instance registered: ${application.name} ${replica.address} (dubbo 3.2.${int(random, 0, 14)}, metadata revision ${revision(random)}, ${application.services.length} services)`
const instanceUnregistered = ({ random, application, replica }: Context) =>
  `Instance unregistered: ${application.name} ${replica.address} (session expired after ${int(random, 30, 60)}s, last heartbeat from ${replica.node})`
const instanceUpdated = ({ random, application, replica }: Context) =>
  `Instance updated: ${application.name} ${replica.address} metadata revision ${revision(random)} -> ${revision(random)}, weight 100 -> ${int(random, 0, 100)}`

/** ZooKeeper registry events (CONTRACT section 4); ~11% warnings. */
const ZOOKEEPER_REASONS: readonly RegistryReasonSpec[] = [
  { reason: 'ProviderRegistered', type: 'normal', weight: 22, category: 'provider', action: 'registered', build: serviceEvent('provider', true) },
  { reason: 'ProviderUnregistered', type: 'warning', weight: 7, category: 'provider', action: 'deregistered', build: serviceEvent('provider', false) },
  { reason: 'ConsumerRegistered', type: 'normal', weight: 18, category: 'consumer', action: 'registered', build: serviceEvent('consumer', true) },
  { reason: 'ConsumerUnregistered', type: 'normal', weight: 4, category: 'consumer', action: 'deregistered', build: serviceEvent('consumer', false) },
  { reason: 'InstanceRegistered', type: 'normal', weight: 14, category: 'instance', action: 'registered', build: instanceEvent(instanceRegistered, false) },
  { reason: 'InstanceUnregistered', type: 'warning', weight: 4, category: 'instance', action: 'deregistered', build: instanceEvent(instanceUnregistered, false) },
  { reason: 'InstanceUpdated', type: 'normal', weight: 14, category: 'instance', action: 'updated', build: instanceEvent(instanceUpdated, false) },
  { reason: 'ConfigUpdated', type: 'normal', weight: 5, category: 'config', action: 'updated', build: ({ random, application }, e) => {
    const service = pick(random, application.services)
    const key = `/dubbo/config/dubbo/${service}.configurators`
    e.service = service
    e.object = { kind: 'Config', name: key }
    e.message = `Config updated: ${key} (enabled=true, ${int(random, 1, 5)} rules, timeout=${int(random, 1, 9)}000ms, ${int(random, 200, 900)} bytes)`
  } },
  { reason: 'MetadataUpdated', type: 'normal', weight: 12, category: 'metadata', action: 'updated', build: ({ random, application }, e) => {
    const service = pick(random, application.services)
    const key = `/dubbo/metadata/${service}/provider/${application.name}`
    e.service = service
    e.object = { kind: 'Metadata', name: key }
    e.message = `Metadata updated: ${key} revision ${revision(random)}, ${int(random, 3, 40)} methods`
  } },
]

/** Nacos registry events (CONTRACT section 4); ~15% warnings. Instances register per interface. */
const NACOS_REASONS: readonly RegistryReasonSpec[] = [
  { reason: 'InstanceRegistered', type: 'normal', weight: 30, category: 'instance', action: 'registered', build: instanceEvent(instanceRegistered, true) },
  { reason: 'InstanceUnregistered', type: 'warning', weight: 8, category: 'instance', action: 'deregistered', build: instanceEvent(instanceUnregistered, true) },
  { reason: 'InstanceUnhealthy', type: 'warning', weight: 7, category: 'instance', action: 'updated', build: instanceEvent(({ random, application, replica }) =>
    `Instance unhealthy: ${application.name} ${replica.address} (group DEFAULT_GROUP, cluster DEFAULT, missed ${int(random, 3, 9)} heartbeats)`, true) },
  { reason: 'InstanceHealthy', type: 'normal', weight: 7, category: 'instance', action: 'updated', build: instanceEvent(({ random, application, replica }) =>
    `Instance healthy: ${application.name} ${replica.address} (group DEFAULT_GROUP, cluster DEFAULT, heartbeat resumed after ${int(random, 5, 90)}s)`, true) },
  { reason: 'InstanceUpdated', type: 'normal', weight: 48, category: 'instance', action: 'updated', build: instanceEvent(instanceUpdated, true) },
]

function weighted<T extends { weight: number }>(specs: readonly T[]): (u: number) => T {
  const total = specs.reduce((n, spec) => n + spec.weight, 0)
  return (u) => {
    let acc = u * total
    for (const spec of specs) {
      acc -= spec.weight
      if (acc < 0) return spec
    }
    return specs[specs.length - 1]!
  }
}

const pickPodReason = weighted(POD_REASONS)
const pickZookeeperReason = weighted(ZOOKEEPER_REASONS)
const pickNacosReason = weighted(NACOS_REASONS)

export interface GenerateOptions {
  count: number
  seed: number
  /** Newest event time (epoch ms); events spread over `spanMs` before it. */
  end: number
  spanMs: number
}

/**
 * Yields `count` events in ascending time order (as a live system receives them), each with a new
 * id. Applications on Kubernetes split their events evenly between pod events and registry events.
 */
export function* generateEvents(world: World, options: GenerateOptions): Generator<IngestEvent> {
  const random = createRandom(options.seed)
  const start = options.end - options.spanMs
  const step = options.spanMs / options.count
  for (let i = 0; i < options.count; i++) {
    const time = Math.min(options.end, Math.floor(start + (i + random()) * step))
    const application = world.applications[sampleIndex(world.cumulative, random())]!
    const replica = pick(random, application.replicas)
    const context: Context = { random, application, replica }
    if (application.onKubernetes && random() < 0.5) {
      const spec = pickPodReason(random())
      const uid = uuid(random)
      const event: IngestEvent = {
        id: `kubernetes:${uid}`,
        time,
        type: spec.type,
        reason: spec.reason,
        message: '',
        source: 'kubernetes',
        component: 'kubelet',
        host: replica.node,
        mesh: KUBERNETES_MESH.name,
        object: { kind: 'Pod', name: replica.pod!, namespace: application.namespace, uid: replica.podUid!, fieldPath: `spec.containers{${application.name}}` },
        application: application.name,
        instance: replica.pod!,
        ip: replica.ip,
      }
      spec.build(context, event)
      if (event.count !== undefined) event.firstTime = time - event.count * int(random, 10_000, 300_000)
      yield event
    } else {
      const mesh = application.registry
      const spec = mesh === ZOOKEEPER_MESH ? pickZookeeperReason(random()) : pickNacosReason(random())
      const event: IngestEvent = {
        id: `${mesh.source}:${mesh.name}:${i.toString(36)}-${chars(random, HEX, 6)}`,
        time,
        type: spec.type,
        reason: spec.reason,
        message: '',
        source: mesh.source,
        component: mesh.source,
        mesh: mesh.name,
        object: { kind: 'Instance', name: replica.address },
        application: application.name,
        category: spec.category,
        action: spec.action,
      }
      // Config and metadata changes concern the application and a service, not one instance.
      if (spec.category !== 'config' && spec.category !== 'metadata') {
        event.instance = replica.address
        event.ip = replica.ip
      }
      spec.build(context, event)
      yield event
    }
  }
}

/** Groups generated events into publications of `size` (the last one may be shorter). */
export function* inChunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = []
  for (const item of items) {
    chunk.push(item)
    if (chunk.length === size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}
