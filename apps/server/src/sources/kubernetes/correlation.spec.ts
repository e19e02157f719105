/**
 * Events that reach the applications they hurt: workload and autoscaler events roll up to the
 * workload's application, Node events reach the applications and instances whose pods were on
 * the node at the event's time (a pod deleted since still counts). Against the test API server,
 * through the real store and HTTP API.
 */
import type { EventItem, EventPage } from '@eventline/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeKubeconfig } from '../../testing/kubeconfig.ts'
import { eventually } from '../../testing/eventually.ts'
import { makePod, startKubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import type { JsonObject, KubeObject, KubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'

const CLUSTER = 'corr'
const iso = (msAgo: number) => new Date(Math.floor((Date.now() - msAgo) / 1000) * 1000).toISOString().replace('.000', '')

/** An event about any object, as its controller reports it. */
function eventAbout(name: string, involved: { kind: string; name: string; namespace?: string }, reason: string, options: { time?: string; component?: string } = {}): KubeObject {
  const time = options.time ?? iso(0)
  return {
    metadata: { name, namespace: involved.namespace ?? 'default' },
    involvedObject: { ...involved, ...(involved.kind === 'Node' ? { namespace: '' } : { namespace: involved.namespace ?? 'default' }) },
    reason,
    message: `${reason} on ${involved.kind}/${involved.name}`,
    source: { component: options.component ?? 'controller' },
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
    type: 'Normal',
  }
}

const owned = (pod: KubeObject, owner: JsonObject, created?: string): KubeObject => ({
  ...pod,
  metadata: { ...pod.metadata, ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...owner }], ...(created ? { creationTimestamp: created } : {}) },
})

describe('Kubernetes correlation beyond pods', () => {
  let api: KubernetesApiServer
  let kubeconfig: ReturnType<typeof writeKubeconfig>
  let tmp: ReturnType<typeof tempDir>
  let eventline: TestServer | undefined

  beforeEach(async () => {
    api = await startKubernetesApiServer()
    kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: CLUSTER })
    tmp = tempDir()
  })
  afterEach(async () => {
    await eventline?.stop()
    eventline = undefined
    await api.close()
    kubeconfig.cleanup()
    tmp.cleanup()
  })
  const start = async (enrichmentWaitMs = 5_000) => {
    eventline = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
      kubernetesTuning: { backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs },
    })
  }
  const reasons = async (path: string) => {
    const page = (await eventline!.get<EventPage>(`${path}${path.includes('?') ? '&' : '?'}mesh=${CLUSTER}&limit=100`)).body
    return page.items.map((item) => item.reason).sort()
  }
  const byReason = async (reason: string): Promise<EventItem | undefined> =>
    (await eventline!.get<EventPage>(`/api/v1/events?mesh=${CLUSTER}&reason=${reason}`)).body.items[0]

  it('rolls Deployment, ReplicaSet, StatefulSet, CronJob and autoscaler events up to the application of their pods', async () => {
    api.add('pods', owned(makePod({ name: 'web-7d4b9c6f5-x2x9z', labels: { 'app.kubernetes.io/name': 'storefront', 'pod-template-hash': '7d4b9c6f5' } }), { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }))
    api.add('pods', owned(makePod({ name: 'db-0', labels: { app: 'orders-db' } }), { kind: 'StatefulSet', name: 'db' }))
    api.add('pods', owned(makePod({ name: 'report-29412345-abcde', labels: { app: 'reports' } }), { apiVersion: 'batch/v1', kind: 'Job', name: 'report-29412345' }))
    api.add('horizontalpodautoscalers', { metadata: { name: 'web-autoscaler' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5 } })
    api.add('events', eventAbout('d1', { kind: 'Deployment', name: 'web' }, 'ScalingReplicaSet', { component: 'deployment-controller' }))
    api.add('events', eventAbout('r1', { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }, 'SuccessfulCreate'))
    api.add('events', eventAbout('h1', { kind: 'HorizontalPodAutoscaler', name: 'web-autoscaler' }, 'SuccessfulRescale'))
    api.add('events', eventAbout('s1', { kind: 'StatefulSet', name: 'db' }, 'SuccessfulCreate'))
    api.add('events', eventAbout('c1', { kind: 'CronJob', name: 'report' }, 'SawCompletedJob'))
    api.add('events', eventAbout('j1', { kind: 'Job', name: 'report-29412345' }, 'Completed'))
    // No pod of this Deployment exists: the owner-chain rule by name.
    api.add('events', eventAbout('g1', { kind: 'ReplicaSet', name: 'ghost-5f6d7c8b9' }, 'FailedCreate'))
    await start()

    await eventually(async () => expect(await reasons('/api/v1/applications/storefront/events')).toEqual(['ScalingReplicaSet', 'SuccessfulCreate', 'SuccessfulRescale']))
    expect(await reasons('/api/v1/applications/orders-db/events')).toEqual(['SuccessfulCreate'])
    expect(await reasons('/api/v1/applications/reports/events')).toEqual(['Completed', 'SawCompletedJob'])
    expect(await reasons('/api/v1/applications/ghost/events')).toEqual(['FailedCreate'])
    expect(await byReason('ScalingReplicaSet')).toMatchObject({ application: 'storefront', object: { kind: 'Deployment', name: 'web' } })
    expect((await byReason('ScalingReplicaSet'))!.instance).toBeUndefined()
  })

  it('without the autoscaler grant: events flow at once, the mesh names the missing permission, the rest still rolls up', async () => {
    api.forbid('horizontalpodautoscalers.autoscaling')
    api.add('pods', owned(makePod({ name: 'web-7d4b9c6f5-x2x9z', labels: { app: 'storefront', 'pod-template-hash': '7d4b9c6f5' } }), { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }))
    api.add('events', eventAbout('d1', { kind: 'Deployment', name: 'web' }, 'ScalingReplicaSet'))
    api.add('events', eventAbout('h1', { kind: 'HorizontalPodAutoscaler', name: 'web' }, 'SuccessfulRescale'))
    // An enrichment wait far longer than the test: the events must not wait for the forbidden list.
    await start(600_000)
    await eventually(async () => expect(await reasons('/api/v1/events')).toEqual(['ScalingReplicaSet', 'SuccessfulRescale']))
    expect((await byReason('ScalingReplicaSet'))?.application).toBe('storefront')
    expect((await byReason('SuccessfulRescale'))?.application).toBeUndefined()
    const meshes = (await eventline!.get<{ items: Array<{ name: string; status: string; error?: string }> }>('/api/v1/meshes')).body.items
    expect(meshes.find((mesh) => mesh.name === CLUSTER)).toMatchObject({ status: 'error', error: expect.stringContaining('cannot list resource "horizontalpodautoscalers"') })
  })

  it('corrects a workload event stored before its first pod was seen', async () => {
    await start()
    api.add('events', eventAbout('early', { kind: 'Deployment', name: 'checkout' }, 'ScalingReplicaSet'))
    await eventually(async () => expect((await byReason('ScalingReplicaSet'))?.application).toBe('checkout'))
    api.add('pods', owned(makePod({ name: 'checkout-6c8d5f7b9-q1w2e', labels: { app: 'payments', 'pod-template-hash': '6c8d5f7b9' } }), { kind: 'ReplicaSet', name: 'checkout-6c8d5f7b9' }))
    await eventually(async () => expect(await reasons('/api/v1/applications/payments/events')).toEqual(['ScalingReplicaSet']))
    expect(await reasons('/api/v1/applications/checkout/events')).toEqual([])
  })

  it('links a Node event to the applications and instances whose pods were on the node at its time, deleted pods included', async () => {
    api.add('pods', makePod({ name: 'alpha-1', node: 'node-a', ip: '10.0.0.1', labels: { app: 'alpha' } }))
    api.add('pods', makePod({ name: 'beta-1', node: 'node-a', ip: '10.0.0.2', labels: { app: 'beta' } }))
    api.add('pods', makePod({ name: 'gamma-1', node: 'node-b', ip: '10.0.0.3', labels: { app: 'gamma' } }))
    await start()
    await eventually(async () => expect((await eventline!.get(`/api/v1/instances/beta-1?mesh=${CLUSTER}`)).status).toBe(200))
    // The node event happened while beta-1 was still there (its time is taken before the delete,
    // not when it is reported: on a loaded machine the waits below outlast a second).
    const notReadyAt = iso(0)
    api.delete('pods', 'default', 'beta-1')
    // A pod scheduled on node-a after the event: not linked.
    api.add('pods', { ...makePod({ name: 'delta-1', node: 'node-a', ip: '10.0.0.4', labels: { app: 'delta' } }), metadata: { name: 'delta-1', namespace: 'default', labels: { app: 'delta' }, creationTimestamp: iso(-120_000) } })
    await eventually(async () => expect((await eventline!.get<{ registered: boolean }>(`/api/v1/instances/beta-1?mesh=${CLUSTER}`)).body.registered).toBe(false))
    await eventually(async () => expect((await eventline!.get(`/api/v1/instances/delta-1?mesh=${CLUSTER}`)).status).toBe(200))
    api.add('events', eventAbout('n1', { kind: 'Node', name: 'node-a' }, 'NodeNotReady', { component: 'node-controller', time: notReadyAt }))
    // Before any of these pods existed: reaches no application.
    api.add('events', eventAbout('n0', { kind: 'Node', name: 'node-a' }, 'NodeHasSufficientMemory', { time: iso(3_000_000) }))

    await eventually(async () => expect(await reasons('/api/v1/events')).toEqual(['NodeHasSufficientMemory', 'NodeNotReady']))
    expect(await reasons('/api/v1/applications/alpha/events')).toEqual(['NodeNotReady'])
    expect(await reasons('/api/v1/applications/beta/events')).toEqual(['NodeNotReady'])
    expect(await reasons('/api/v1/instances/beta-1/events')).toEqual(['NodeNotReady'])
    expect(await reasons('/api/v1/instances/10.0.0.1/events')).toEqual(['NodeNotReady'])
    expect(await reasons('/api/v1/applications/gamma/events')).toEqual([])
    expect(await reasons('/api/v1/applications/delta/events')).toEqual([])
    expect(await reasons(`/api/v1/events?reason=NodeHasSufficientMemory`)).toEqual(['NodeHasSufficientMemory'])
    // The event itself stays the node's: no single application or instance is served on it.
    expect(await byReason('NodeNotReady')).toMatchObject({ object: { kind: 'Node', name: 'node-a' } })
    expect((await byReason('NodeNotReady'))!.application).toBeUndefined()
  })
})
