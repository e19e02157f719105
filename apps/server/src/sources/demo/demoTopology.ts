/**
 * The landscape the demo simulator plays in: three Dubbo applications deployed as Kubernetes pods
 * on a small cluster, plus the dynamic configuration an operator might flip. Static data and the
 * pure helpers that name pods and addresses; what happens to them lives in `demoScenario.ts`.
 */
import type { Random } from '../../seededRandom.ts'
import type { CatalogChange, InstanceRecord } from '../../store/types.ts'

export type { Random }

export const DEMO_MESH = 'demo'
export const DEMO_NAMESPACE = 'demo'
export const DEMO_NODES: readonly string[] = ['demo-worker-1', 'demo-worker-2', 'demo-worker-3']

export interface DemoService {
  /** Dubbo interface name. */
  name: string
  version: string
  group?: string
}

export interface DemoApplication {
  name: string
  /** Container image, as the kubelet names it in Pulling/Pulled messages. */
  image: string
  /** ReplicaSet pod-template hash: the middle part of every pod name of this Deployment. */
  templateHash: string
  replicas: number
  /** Dubbo protocol port; the registry instance of a pod is `ip:port`. */
  port: number
  provides: readonly DemoService[]
  /** Interfaces this application calls (consumer registrations). */
  consumes: readonly string[]
}

const ORDER_SERVICE: DemoService = { name: 'org.apache.dubbo.demo.OrderService', version: '1.2.0', group: 'shop' }
const ORDER_QUERY_SERVICE: DemoService = { name: 'org.apache.dubbo.demo.OrderQueryService', version: '1.2.0', group: 'shop' }
const PAYMENT_SERVICE: DemoService = { name: 'org.apache.dubbo.demo.PaymentService', version: '2.0.1', group: 'payment' }
const REFUND_SERVICE: DemoService = { name: 'org.apache.dubbo.demo.RefundService', version: '2.0.1' }

export const DEMO_APPLICATIONS: readonly DemoApplication[] = [
  {
    name: 'shop-frontend',
    image: 'registry.example.com/demo/shop-frontend:3.4.1',
    templateHash: '5c6b8d7f9',
    replicas: 2,
    port: 20880,
    provides: [],
    consumes: [ORDER_SERVICE.name, ORDER_QUERY_SERVICE.name, PAYMENT_SERVICE.name],
  },
  {
    name: 'order-service',
    image: 'registry.example.com/demo/order-service:1.2.0',
    templateHash: '7d9f8c6b5',
    replicas: 3,
    port: 20880,
    provides: [ORDER_SERVICE, ORDER_QUERY_SERVICE],
    // Orders are paid through the payment service, so order pods are consumers too.
    consumes: [PAYMENT_SERVICE.name],
  },
  {
    name: 'payment-service',
    image: 'registry.example.com/demo/payment-service:2.0.1',
    templateHash: '64f5b9c8d7',
    replicas: 3,
    port: 20881,
    provides: [PAYMENT_SERVICE, REFUND_SERVICE],
    consumes: [],
  },
]

export const DEMO_SERVICES: readonly DemoService[] = DEMO_APPLICATIONS.flatMap((app) => app.provides)

/** A dynamic configuration entry (`/dubbo/config/dubbo/{key}.{kind}`) and the values it cycles through. */
export interface DemoConfig {
  kind: 'tag-router' | 'condition-router' | 'configurators'
  /** Application or interface the rule is keyed by. */
  key: string
  field: string
  values: readonly string[]
  application: string
  service?: string
}

export const DEMO_CONFIGS: readonly DemoConfig[] = [
  { kind: 'tag-router', key: 'order-service', field: 'enabled', values: ['true', 'false'], application: 'order-service' },
  { kind: 'configurators', key: 'payment-service', field: 'weight', values: ['100', '50', '200'], application: 'payment-service' },
  {
    kind: 'condition-router',
    key: PAYMENT_SERVICE.name,
    field: 'enabled',
    values: ['false', 'true'],
    application: 'payment-service',
    service: PAYMENT_SERVICE.name,
  },
  {
    kind: 'configurators',
    key: ORDER_SERVICE.name,
    field: 'timeout',
    values: ['3000', '5000', '1000'],
    application: 'order-service',
    service: ORDER_SERVICE.name,
  },
]

/** What identifies a simulated pod; persisted in the `pods` checkpoint so restarts keep the same pods. */
export interface DemoPod {
  name: string
  uid: string
  application: string
  ip: string
  node: string
}

/** The application a pod belongs to; `undefined` for a name the topology does not know. */
export function findApplication(name: string): DemoApplication | undefined {
  return DEMO_APPLICATIONS.find((app) => app.name === name)
}

/** The pod's application; pods are only ever created for known applications. */
export function applicationOf(pod: DemoPod): DemoApplication {
  const app = findApplication(pod.application)
  if (!app) throw new Error(`demo pod ${pod.name} names unknown application ${pod.application}`)
  return app
}

/** The registry instance name of a pod: its IP and Dubbo port. */
export function registryAddress(pod: DemoPod): string {
  return `${pod.ip}:${applicationOf(pod).port}`
}

/** A uniformly chosen element of a non-empty list. */
export function pickOne<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)]
  if (item === undefined) throw new Error('pickOne needs a non-empty list')
  return item
}

// Kubernetes builds generated name suffixes from this alphabet (no vowels, no look-alikes).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

function randomString(random: Random, alphabet: string, length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)]
  return text
}

/** A fresh pod of `app` on `node`, with a name and IP no pod in `existing` uses. */
export function createPod(random: Random, app: DemoApplication, node: string, existing: readonly DemoPod[]): DemoPod {
  const names = new Set(existing.map((pod) => pod.name))
  const ips = new Set(existing.map((pod) => pod.ip))
  // Each node owns a /24 of the pod network, as most CNIs allocate it.
  const subnet = `10.0.${DEMO_NODES.indexOf(node) + 1}`
  let name: string
  do name = `${app.name}-${app.templateHash}-${randomString(random, SUFFIX_ALPHABET, 5)}`
  while (names.has(name))
  let ip: string
  do ip = `${subnet}.${2 + Math.floor(random() * 250)}`
  while (ips.has(ip))
  const hex = randomString(random, '0123456789abcdef', 32)
  const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
  return { name, uid, application: app.name, ip, node }
}

/**
 * Pods for every application's replicas: those in `keep` (restored from a checkpoint) that still
 * fit the topology, topped up with fresh pods spread over the nodes.
 */
export function createPods(random: Random, keep: readonly DemoPod[] = []): DemoPod[] {
  const pods: DemoPod[] = []
  for (const app of DEMO_APPLICATIONS) {
    const kept = keep.filter((pod) => pod.application === app.name && DEMO_NODES.includes(pod.node)).slice(0, app.replicas)
    pods.push(...kept)
    for (let i = kept.length; i < app.replicas; i++) pods.push(createPod(random, app, pickOne(random, DEMO_NODES), [...keep, ...pods]))
  }
  return pods
}

/** The pod as the catalog lists it (`registered`: the pod exists). */
export function podInstance(pod: DemoPod, phase: 'Pending' | 'Running'): InstanceRecord {
  const app = applicationOf(pod)
  return {
    mesh: DEMO_MESH,
    name: pod.name,
    ip: pod.ip,
    node: pod.node,
    namespace: DEMO_NAMESPACE,
    phase,
    application: app.name,
    registered: true,
    source: 'demo',
    labels: {
      app: app.name,
      'app.kubernetes.io/name': app.name,
      'pod-template-hash': app.templateHash,
      version: app.image.slice(app.image.lastIndexOf(':') + 1),
    },
  }
}

/** Catalog changes for a pod's registry instance and its provider/consumer links. */
export function registryCatalog(pod: DemoPod): CatalogChange[] {
  const app = applicationOf(pod)
  const address = registryAddress(pod)
  const changes: CatalogChange[] = [
    { op: 'instance', instance: { mesh: DEMO_MESH, name: address, ip: pod.ip, port: app.port, application: app.name, registered: true, source: 'demo' } },
  ]
  for (const service of app.provides) {
    changes.push({ op: 'service-instance', mesh: DEMO_MESH, service: service.name, instance: address, side: 'provider', application: app.name })
  }
  for (const service of app.consumes) {
    changes.push({ op: 'service-instance', mesh: DEMO_MESH, service, instance: address, side: 'consumer', application: app.name })
  }
  return changes
}

/** Catalog changes for a pod's registry instance leaving (its history stays browsable). */
export function registryGoneCatalog(pod: DemoPod): CatalogChange[] {
  const app = applicationOf(pod)
  const address = registryAddress(pod)
  return [
    ...app.provides.map((service): CatalogChange => ({ op: 'service-instance-gone', mesh: DEMO_MESH, service: service.name, instance: address, side: 'provider' })),
    ...app.consumes.map((service): CatalogChange => ({ op: 'service-instance-gone', mesh: DEMO_MESH, service, instance: address, side: 'consumer' })),
    { op: 'instance-gone', mesh: DEMO_MESH, name: address },
  ]
}

/** The whole catalog of the given pods: applications, services with version/group, pods, registry instances. */
export function topologyCatalog(pods: readonly DemoPod[]): CatalogChange[] {
  return [
    ...DEMO_APPLICATIONS.map((app): CatalogChange => ({ op: 'application', mesh: DEMO_MESH, name: app.name })),
    ...DEMO_SERVICES.map((service): CatalogChange => ({
      op: 'service',
      mesh: DEMO_MESH,
      name: service.name,
      version: service.version,
      ...(service.group === undefined ? {} : { group: service.group }),
    })),
    ...pods.flatMap((pod): CatalogChange[] => [{ op: 'instance', instance: podInstance(pod, 'Running') }, ...registryCatalog(pod)]),
  ]
}
