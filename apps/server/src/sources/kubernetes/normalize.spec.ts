import { describe, expect, it } from 'vitest'
import { normalizeK8sEvent, podApplication, podInstance, podWorkloads, readAutoscaler, readPod, readService, servicesSelecting, workloadApplicationByName } from './normalize.ts'
import type { PodInfo } from './normalize.ts'

const CLUSTER = 'prod-cluster'
const ms = (iso: string) => Date.parse(iso)

const coreEvent = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web-7d9f-x2k4q.17a1', namespace: 'shop', uid: 'e-1', creationTimestamp: '2026-11-20T10:00:00Z', resourceVersion: '42' },
  involvedObject: { kind: 'Pod', name: 'web-7d9f-x2k4q', namespace: 'shop', uid: 'p-1', fieldPath: 'spec.containers{web}' },
  reason: 'BackOff',
  message: 'Back-off restarting failed container web',
  source: { component: 'kubelet', host: 'node-1' },
  firstTimestamp: '2026-11-20T10:00:00Z',
  lastTimestamp: '2026-11-20T10:05:00Z',
  count: 7,
  type: 'Warning',
}

describe('normalizeK8sEvent', () => {
  it('maps a core/v1 pod event, enriched with what the pod and service watches know', () => {
    const pod: PodInfo = { namespace: 'shop', name: 'web-7d9f-x2k4q', ip: '10.1.2.3', labels: {}, application: 'web' }
    const result = normalizeK8sEvent(coreEvent, CLUSTER, pod, ['web', 'web-canary'])
    expect(result).toEqual({
      ok: true,
      value: {
        id: 'kubernetes:e-1',
        time: ms('2026-11-20T10:05:00Z'),
        firstTime: ms('2026-11-20T10:00:00Z'),
        count: 7,
        type: 'warning',
        reason: 'BackOff',
        message: 'Back-off restarting failed container web',
        source: 'kubernetes',
        component: 'kubelet',
        host: 'node-1',
        mesh: CLUSTER,
        object: { kind: 'Pod', name: 'web-7d9f-x2k4q', namespace: 'shop', uid: 'p-1', fieldPath: 'spec.containers{web}' },
        instance: 'web-7d9f-x2k4q',
        ip: '10.1.2.3',
        application: 'web',
        service: 'web',
        services: ['web', 'web-canary'],
      },
    })
  })

  it.each([
    ['series.lastObservedTime wins', { series: { count: 12, lastObservedTime: '2026-11-20T11:00:00.123456Z' }, eventTime: '2026-11-20T09:00:00.000000Z' }, '2026-11-20T11:00:00.123Z', 12],
    ['then lastTimestamp', {}, '2026-11-20T10:05:00Z', 7],
    ['then eventTime', { lastTimestamp: null, eventTime: '2026-11-20T10:03:00.000000Z', count: undefined }, '2026-11-20T10:03:00Z', 1],
    ['then firstTimestamp', { lastTimestamp: null, count: 0 }, '2026-11-20T10:00:00Z', 1],
    ['then metadata.creationTimestamp', { lastTimestamp: null, firstTimestamp: null, metadata: { ...coreEvent.metadata, creationTimestamp: '2026-11-20T09:59:00Z' } }, '2026-11-20T09:59:00Z', 1],
  ])('time and count precedence: %s', (_name, overrides, expectedTime, expectedCount) => {
    const result = normalizeK8sEvent({ ...coreEvent, count: expectedCount === 7 ? 7 : undefined, ...overrides }, CLUSTER)
    expect(result.ok && result.value.time).toBe(ms(expectedTime))
    expect(result.ok && result.value.count).toBe(expectedCount)
    expect(result.ok && result.value.firstTime! <= result.value.time).toBe(true)
  })

  it('maps the events.k8s.io/v1 fields', () => {
    const result = normalizeK8sEvent(
      {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { uid: 'e-2', namespace: 'shop' },
        regarding: { kind: 'Service', name: 'web', namespace: 'shop' },
        note: 'Ensured load balancer',
        reason: 'EnsuredLoadBalancer',
        type: 'Normal',
        eventTime: '2026-11-20T10:00:00.000000Z',
        series: { count: 3, lastObservedTime: '2026-11-20T10:10:00.000000Z' },
        reportingController: 'service-controller',
        reportingInstance: 'kcm-1',
        action: 'Ensure',
      },
      CLUSTER,
    )
    expect(result).toMatchObject({
      ok: true,
      value: {
        id: 'kubernetes:e-2',
        message: 'Ensured load balancer',
        component: 'service-controller',
        host: 'kcm-1',
        action: 'Ensure',
        count: 3,
        type: 'normal',
        service: 'web',
        firstTime: ms('2026-11-20T10:00:00Z'),
        time: ms('2026-11-20T10:10:00Z'),
      },
    })
  })

  it.each([
    ['null', null, 'not an object'],
    ['no uid', { ...coreEvent, metadata: { name: 'x' } }, 'metadata.uid'],
    ['no involved object', { ...coreEvent, involvedObject: undefined }, 'involvedObject'],
    ['no involved name', { ...coreEvent, involvedObject: { kind: 'Pod' } }, 'involvedObject'],
    ['no time at all', { ...coreEvent, lastTimestamp: null, firstTimestamp: 'garbage', metadata: { uid: 'u' } }, 'timestamp'],
  ])('refuses a malformed event (%s) with a reason', (_name, raw, reason) => {
    const result = normalizeK8sEvent(raw, CLUSTER)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.reason).toContain(reason)
  })
})

describe('podApplication', () => {
  const replicaSet = [{ kind: 'ReplicaSet', name: 'checkout-6f7d9c5b8', controller: true }]
  it.each([
    ['the app.kubernetes.io/name label first', { 'app.kubernetes.io/name': 'checkout', app: 'legacy' }, replicaSet, 'checkout'],
    ['then the app label', { app: 'legacy' }, replicaSet, 'legacy'],
    ['then the Deployment of its ReplicaSet', { 'pod-template-hash': '6f7d9c5b8' }, replicaSet, 'checkout'],
    ['a ReplicaSet without the hash label keeps its name', {}, replicaSet, 'checkout-6f7d9c5b8'],
    ['a StatefulSet owner', {}, [{ kind: 'StatefulSet', name: 'kafka', controller: true }], 'kafka'],
    ['the CronJob of a scheduled Job', {}, [{ kind: 'Job', name: 'nightly-report-29412345', controller: true }], 'nightly-report'],
    ['a Job made by hand keeps its name', {}, [{ kind: 'Job', name: 'migrate-v2', controller: true }], 'migrate-v2'],
    ['nothing to go on', {}, undefined, undefined],
  ])('%s', (_name, labels, owners, expected) => {
    expect(podApplication(labels as Record<string, string>, owners)).toBe(expected)
  })
})

describe('workloads', () => {
  it('lists a pod\'s controller and the workload above it', () => {
    expect(podWorkloads({ 'pod-template-hash': '6f7d9c5b8' }, [{ kind: 'ReplicaSet', name: 'checkout-6f7d9c5b8', controller: true }])).toEqual([
      { kind: 'ReplicaSet', name: 'checkout-6f7d9c5b8' },
      { kind: 'Deployment', name: 'checkout' },
    ])
    expect(podWorkloads({}, [{ kind: 'Job', name: 'nightly-29412345' }])).toEqual([{ kind: 'Job', name: 'nightly-29412345' }, { kind: 'CronJob', name: 'nightly' }])
    expect(podWorkloads({}, [{ kind: 'DaemonSet', name: 'fluentd', controller: true }])).toEqual([{ kind: 'DaemonSet', name: 'fluentd' }])
    expect(podWorkloads({}, [{ kind: 'DaemonSet' }])).toEqual([])
  })

  it.each([
    ['ReplicaSet', 'checkout-6f7d9c5b8', 'checkout'],
    ['ReplicaSet', 'checkout-v2', 'checkout-v2'],
    ['Job', 'nightly-29412345', 'nightly'],
    ['Deployment', 'checkout', 'checkout'],
    ['StatefulSet', 'kafka', 'kafka'],
  ])('guesses the application of a %s %s by name alone: %s', (kind, name, expected) => {
    expect(workloadApplicationByName(kind, name)).toBe(expected)
  })

  it('reads an autoscaler\'s scale target, and names what is missing', () => {
    const hpa = { metadata: { name: 'web', namespace: 'shop' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } }
    expect(readAutoscaler(hpa)).toEqual({ ok: true, value: { namespace: 'shop', name: 'web', target: { kind: 'Deployment', name: 'web' } } })
    expect(readAutoscaler({ metadata: { name: 'x', namespace: 'y' }, spec: {} })).toEqual({ ok: false, reason: 'spec.scaleTargetRef has no kind or name' })
  })
})

describe('pods and services', () => {
  const rawPod = {
    metadata: {
      name: 'checkout-6f7d9c5b8-abcde',
      namespace: 'shop',
      uid: 'p-9',
      labels: { app: 'checkout', tier: 'web', 'pod-template-hash': '6f7d9c5b8' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'checkout-6f7d9c5b8', controller: true }],
    },
    spec: { nodeName: 'node-2' },
    status: { podIP: '10.4.0.9', phase: 'Running' },
  }

  it('reads a pod and turns it into an instance of the cluster mesh', () => {
    const pod = readPod(rawPod)
    expect(pod).toMatchObject({ ok: true, value: { name: 'checkout-6f7d9c5b8-abcde', ip: '10.4.0.9', node: 'node-2', phase: 'Running', application: 'checkout' } })
    expect(pod.ok && podInstance(pod.value, CLUSTER)).toEqual({
      mesh: CLUSTER,
      name: 'checkout-6f7d9c5b8-abcde',
      namespace: 'shop',
      ip: '10.4.0.9',
      node: 'node-2',
      phase: 'Running',
      application: 'checkout',
      registered: true,
      source: 'kubernetes',
      labels: rawPod.metadata.labels,
    })
    expect(readPod({ metadata: { name: 'x' } }).ok).toBe(false)
  })

  it('finds the services whose selector matches the pod, in its namespace only', () => {
    const services = [
      { spec: { selector: { app: 'checkout' } }, metadata: { name: 'checkout', namespace: 'shop' } },
      { spec: { selector: { app: 'checkout', tier: 'web' } }, metadata: { name: 'checkout-web', namespace: 'shop' } },
      { spec: { selector: { app: 'checkout', tier: 'db' } }, metadata: { name: 'checkout-db', namespace: 'shop' } },
      { spec: { selector: { app: 'checkout' } }, metadata: { name: 'checkout', namespace: 'other' } },
      { spec: {}, metadata: { name: 'external', namespace: 'shop' } },
    ].map((raw) => {
      const service = readService(raw)
      if (!service.ok) throw new Error(service.reason)
      return service.value
    })
    const pod = readPod(rawPod)
    expect(pod.ok && servicesSelecting(pod.value, services)).toEqual(['checkout', 'checkout-web'])
  })
})
