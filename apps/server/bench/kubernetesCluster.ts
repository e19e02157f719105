/**
 * The Kubernetes benchmark's cluster: a test Kubernetes API server holding pods and services (so
 * events are enriched and application timelines have something to show), and an Eventline over a
 * temp SQLite file that watches it through a generated kubeconfig, exactly as `main.ts` would.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Mesh } from '@eventline/shared'
import { startEventline } from '../src/eventline.ts'
import type { Eventline } from '../src/eventline.ts'
import { createLogger } from '../src/log.ts'
import { writeKubeconfig } from '../src/testing/kubeconfig.ts'
import { makeEvent, makePod, makeService, startKubernetesApiServer } from '../src/testing/kubernetesApiServer.ts'
import type { KubeObject, KubernetesApiServer } from '../src/testing/kubernetesApiServer.ts'

export const CLUSTER = 'bench-cluster'
const NAMESPACE = 'shop'
export const APPLICATIONS = ['cart', 'checkout', 'catalog', 'payments', 'orders', 'search', 'users', 'shipping', 'reviews', 'gateway'] as const
const PODS_PER_APPLICATION = 3
const DAY_MS = 86_400_000

export interface BenchPod {
  name: string
  application: string
}

export interface BenchCluster {
  api: KubernetesApiServer
  eventline: Eventline
  /** The SQLite file Eventline stores in (benchmarks open their own connection to count rows). */
  db: string
  /** The pods events are spread over, each labelled with its application. */
  pods: readonly BenchPod[]
  /** Warnings and errors Eventline logged, as JSON lines (a healthy run logs none). */
  logged: readonly string[]
  stop(): Promise<void>
}

/**
 * Starts the test API server with `APPLICATIONS.length * PODS_PER_APPLICATION` pods and one
 * service per application, then an Eventline (database `dir/name.db`) with its Kubernetes source
 * at production defaults, and resolves once the cluster shows `connected` and the events watch is
 * open: from then on every `api.add('events', ...)` goes straight down that watch.
 */
/** A test API server holding the benchmark's pods and services (`subnet` keeps IPs apart across clusters). */
async function seededApiServer(subnet = 9): Promise<{ api: KubernetesApiServer; pods: BenchPod[] }> {
  const api = await startKubernetesApiServer()
  const pods: BenchPod[] = []
  for (const [a, application] of APPLICATIONS.entries()) {
    api.add('services', makeService({ name: application, namespace: NAMESPACE, selector: { 'app.kubernetes.io/name': application } }))
    for (let p = 0; p < PODS_PER_APPLICATION; p++) {
      const pod = { name: `${application}-${p}`, application }
      api.add('pods', makePod({ name: pod.name, namespace: NAMESPACE, ip: `10.${subnet}.${a}.${p + 1}`, node: `node-${p}`, labels: { 'app.kubernetes.io/name': application } }))
      pods.push(pod)
    }
  }
  return { api, pods }
}

export interface BenchClusters {
  /** One test API server per cluster, by mesh name, in the order given. */
  clusters: ReadonlyArray<{ name: string; api: KubernetesApiServer; pods: readonly BenchPod[] }>
  eventline: Eventline
  logged: readonly string[]
  stop(): Promise<void>
}

/**
 * Several clusters watched by one Eventline: one test API server per name, one kubeconfig with a
 * context per cluster, `EVENTLINE_KUBE_CONTEXTS=*`. Resolves once every cluster is `connected` with
 * its events watch open.
 */
export async function startBenchClusters(dir: string, name: string, names: readonly string[]): Promise<BenchClusters> {
  const clusters: Array<{ name: string; api: KubernetesApiServer; pods: BenchPod[] }> = []
  for (const [index, cluster] of names.entries()) clusters.push({ name: cluster, ...(await seededApiServer(20 + index)) })
  const kubeconfig = writeKubeconfig(clusters.map(({ name: cluster, api }) => ({ server: api.url, token: api.token, cluster })))
  const logged: string[] = []
  const eventline = await startEventline(
    {
      port: 0,
      host: '127.0.0.1',
      db: join(dir, `${name}.db`),
      retentionMs: 30 * DAY_MS,
      demo: false,
      kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
      kubeContexts: ['*'],
    },
    createLogger('warn', (line) => logged.push(line)),
  )
  const stop = async () => {
    await eventline.stop()
    for (const { api } of clusters) await api.close()
    kubeconfig.cleanup()
  }
  try {
    await until(
      async () => {
        if (!clusters.every(({ api }) => api.openWatches('events') === 1)) return false
        const body = (await (await fetch(`${eventline.url}/api/v1/meshes`)).json()) as { items: Mesh[] }
        return names.every((cluster) => body.items.find((mesh) => mesh.name === cluster)?.status === 'connected')
      },
      15_000,
      'every events watch to open',
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { clusters, eventline, logged, stop }
}

export async function startBenchCluster(dir: string, name: string): Promise<BenchCluster> {
  const { api, pods } = await seededApiServer()
  const kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: CLUSTER })
  const logged: string[] = []
  const db = join(dir, `${name}.db`)
  const eventline = await startEventline(
    { port: 0, host: '127.0.0.1', db, retentionMs: 30 * DAY_MS, demo: false, kubernetes: { mode: 'kubeconfig', path: kubeconfig.path } },
    createLogger('warn', (line) => logged.push(line)),
  )
  const stop = async () => {
    await eventline.stop()
    await api.close()
    kubeconfig.cleanup()
  }
  try {
    await until(async () => api.openWatches('events') === 1 && (await clusterStatus(eventline.url)) === 'connected', 15_000, 'the events watch to open')
  } catch (error) {
    await stop()
    throw error
  }
  return { api, eventline, db, pods, logged, stop }
}

async function clusterStatus(url: string): Promise<string | undefined> {
  const body = (await (await fetch(`${url}/api/v1/meshes`)).json()) as { items: Mesh[] }
  return body.items.find((mesh) => mesh.name === CLUSTER)?.status
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** RFC 3339 with microseconds, the shape of an events.k8s.io/v1 `eventTime` (metav1.MicroTime). */
const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z')

/**
 * A kubelet event about `pod`, timed now, in the events.k8s.io/v1-era shape: `eventTime` in
 * microseconds and no `lastTimestamp`. Whole-second timestamps would tie ~200 events per second
 * and leave their newest-first order to the random uid, so a newest-200 page could skip fresh
 * events; with millisecond times the page order is the send order.
 */
export function benchEvent(name: string, pod: BenchPod, reason: string, message: string): KubeObject {
  return {
    ...makeEvent({ name, namespace: NAMESPACE, pod: pod.name, reason, message, host: 'node-0' }),
    firstTimestamp: null,
    lastTimestamp: null,
    eventTime: microTime(Date.now()),
  }
}
