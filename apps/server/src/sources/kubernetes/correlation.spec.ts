/**
 * Events that reach the applications they hurt: workload and autoscaler events roll up to the
 * workload's application, Node events reach the applications and instances whose pods were on
 * the node at the event's time (a pod deleted since still counts). Against the test API server,
 * through the real store and HTTP API.
 */
import type { EventItem, EventPage } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { eventually } from '../../testing/eventually.ts'
import { makePod } from '../../testing/kubernetesApiServer.ts'
import type { JsonObject, KubeObject } from '../../testing/kubernetesApiServer.ts'
import { useKubernetesHarness } from '../../testing/kubernetesHarness.ts'
import type { KubernetesTuning } from '../../testing/kubernetesHarness.ts'

const CLUSTER = 'corr'
const TUNING: KubernetesTuning = { backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs: 5_000 }
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
  const harness = useKubernetesHarness({ cluster: CLUSTER, tuning: TUNING })
  const { start } = harness
  const reasons = async (path: string) => {
    const page = (await harness.eventline.get<EventPage>(`${path}${path.includes('?') ? '&' : '?'}mesh=${CLUSTER}&limit=100`)).body
    return page.items.map((item) => item.reason).sort()
  }
  const byReason = async (reason: string): Promise<EventItem | undefined> =>
    (await harness.eventline.get<EventPage>(`/api/v1/events?mesh=${CLUSTER}&reason=${reason}`)).body.items[0]

  it('rolls Deployment, ReplicaSet, StatefulSet, CronJob and autoscaler events up to the application of their pods', async () => {
    harness.api.add('pods', owned(makePod({ name: 'web-7d4b9c6f5-x2x9z', labels: { 'app.kubernetes.io/name': 'storefront', 'pod-template-hash': '7d4b9c6f5' } }), { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }))
    harness.api.add('pods', owned(makePod({ name: 'db-0', labels: { app: 'orders-db' } }), { kind: 'StatefulSet', name: 'db' }))
    harness.api.add('pods', owned(makePod({ name: 'report-29412345-abcde', labels: { app: 'reports' } }), { apiVersion: 'batch/v1', kind: 'Job', name: 'report-29412345' }))
    harness.api.add('horizontalpodautoscalers', { metadata: { name: 'web-autoscaler' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5 } })
    harness.api.add('events', eventAbout('d1', { kind: 'Deployment', name: 'web' }, 'ScalingReplicaSet', { component: 'deployment-controller' }))
    harness.api.add('events', eventAbout('r1', { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }, 'SuccessfulCreate'))
    harness.api.add('events', eventAbout('h1', { kind: 'HorizontalPodAutoscaler', name: 'web-autoscaler' }, 'SuccessfulRescale'))
    harness.api.add('events', eventAbout('s1', { kind: 'StatefulSet', name: 'db' }, 'SuccessfulCreate'))
    harness.api.add('events', eventAbout('c1', { kind: 'CronJob', name: 'report' }, 'SawCompletedJob'))
    harness.api.add('events', eventAbout('j1', { kind: 'Job', name: 'report-29412345' }, 'Completed'))
    // No pod of this Deployment exists: the owner-chain rule by name.
    harness.api.add('events', eventAbout('g1', { kind: 'ReplicaSet', name: 'ghost-5f6d7c8b9' }, 'FailedCreate'))
    await start()

    await eventually(async () => expect(await reasons('/api/v1/applications/storefront/events')).toEqual(['ScalingReplicaSet', 'SuccessfulCreate', 'SuccessfulRescale']))
    expect(await reasons('/api/v1/applications/orders-db/events')).toEqual(['SuccessfulCreate'])
    expect(await reasons('/api/v1/applications/reports/events')).toEqual(['Completed', 'SawCompletedJob'])
    expect(await reasons('/api/v1/applications/ghost/events')).toEqual(['FailedCreate'])
    expect(await byReason('ScalingReplicaSet')).toMatchObject({ application: 'storefront', object: { kind: 'Deployment', name: 'web' } })
    expect((await byReason('ScalingReplicaSet'))!.instance).toBeUndefined()
  })

  it('without the autoscaler grant: events flow at once, the mesh names the missing permission, the rest still rolls up', async () => {
    harness.api.forbid('horizontalpodautoscalers.autoscaling')
    harness.api.add('pods', owned(makePod({ name: 'web-7d4b9c6f5-x2x9z', labels: { app: 'storefront', 'pod-template-hash': '7d4b9c6f5' } }), { kind: 'ReplicaSet', name: 'web-7d4b9c6f5' }))
    harness.api.add('events', eventAbout('d1', { kind: 'Deployment', name: 'web' }, 'ScalingReplicaSet'))
    harness.api.add('events', eventAbout('h1', { kind: 'HorizontalPodAutoscaler', name: 'web' }, 'SuccessfulRescale'))
    // An enrichment wait far longer than the test: the events must not wait for the forbidden list.
    await start({ ...TUNING, enrichmentWaitMs: 600_000 })
    await eventually(async () => expect(await reasons('/api/v1/events')).toEqual(['ScalingReplicaSet', 'SuccessfulRescale']))
    expect((await byReason('ScalingReplicaSet'))?.application).toBe('storefront')
    expect((await byReason('SuccessfulRescale'))?.application).toBeUndefined()
    const meshes = (await harness.eventline.get<{ items: Array<{ name: string; status: string; error?: string }> }>('/api/v1/meshes')).body.items
    expect(meshes.find((mesh) => mesh.name === CLUSTER)).toMatchObject({ status: 'error', error: expect.stringContaining('cannot list resource "horizontalpodautoscalers"') })
  })

  it('corrects a workload event stored before its first pod was seen', async () => {
    await start()
    harness.api.add('events', eventAbout('early', { kind: 'Deployment', name: 'checkout' }, 'ScalingReplicaSet'))
    await eventually(async () => expect((await byReason('ScalingReplicaSet'))?.application).toBe('checkout'))
    harness.api.add('pods', owned(makePod({ name: 'checkout-6c8d5f7b9-q1w2e', labels: { app: 'payments', 'pod-template-hash': '6c8d5f7b9' } }), { kind: 'ReplicaSet', name: 'checkout-6c8d5f7b9' }))
    await eventually(async () => expect(await reasons('/api/v1/applications/payments/events')).toEqual(['ScalingReplicaSet']))
    expect(await reasons('/api/v1/applications/checkout/events')).toEqual([])
  })

  it('links a Node event to the applications and instances whose pods were on the node at its time, deleted pods included', async () => {
    harness.api.add('pods', makePod({ name: 'alpha-1', node: 'node-a', ip: '10.0.0.1', labels: { app: 'alpha' } }))
    harness.api.add('pods', makePod({ name: 'beta-1', node: 'node-a', ip: '10.0.0.2', labels: { app: 'beta' } }))
    harness.api.add('pods', makePod({ name: 'gamma-1', node: 'node-b', ip: '10.0.0.3', labels: { app: 'gamma' } }))
    await start()
    await eventually(async () => expect((await harness.eventline.get(`/api/v1/instances/beta-1?mesh=${CLUSTER}`)).status).toBe(200))
    // The node event happened while beta-1 was still there (its time is taken before the delete,
    // not when it is reported: on a loaded machine the waits below outlast a second).
    const notReadyAt = iso(0)
    harness.api.delete('pods', 'default', 'beta-1')
    // A pod scheduled on node-a after the event: not linked.
    harness.api.add('pods', { ...makePod({ name: 'delta-1', node: 'node-a', ip: '10.0.0.4', labels: { app: 'delta' } }), metadata: { name: 'delta-1', namespace: 'default', labels: { app: 'delta' }, creationTimestamp: iso(-120_000) } })
    await eventually(async () => expect((await harness.eventline.get<{ registered: boolean }>(`/api/v1/instances/beta-1?mesh=${CLUSTER}`)).body.registered).toBe(false))
    await eventually(async () => expect((await harness.eventline.get(`/api/v1/instances/delta-1?mesh=${CLUSTER}`)).status).toBe(200))
    harness.api.add('events', eventAbout('n1', { kind: 'Node', name: 'node-a' }, 'NodeNotReady', { component: 'node-controller', time: notReadyAt }))
    // Before any of these pods existed: reaches no application.
    harness.api.add('events', eventAbout('n0', { kind: 'Node', name: 'node-a' }, 'NodeHasSufficientMemory', { time: iso(3_000_000) }))

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
