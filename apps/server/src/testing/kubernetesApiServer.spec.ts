// Drives the real @kubernetes/client-node (pinned 1.4.x) against the test API server, so the
// Kubernetes source is tested against the client behaviour it will meet in production.
import { ApiException, AppsV1Api, CoreV1Api, EventsV1Api, KubeConfig, Watch } from '@kubernetes/client-node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig.ts'
import { makeEvent, makePod, makeService, startKubernetesApiServer } from './kubernetesApiServer.ts'
import type { JsonObject, KubernetesApiServer, KubernetesApiServerOptions } from './kubernetesApiServer.ts'

interface WatchRecord {
  events: Array<{ type: string; object: JsonObject }>
  ended: boolean
  error: unknown
  controller: Promise<AbortController>
}

/** Polls `condition` every 5 ms; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Asserts a quiet period: nothing may change `probe()` for `ms`. */
async function staysUnchanged(probe: () => number, ms: number): Promise<void> {
  const before = probe()
  await new Promise((resolve) => setTimeout(resolve, ms))
  expect(probe()).toBe(before)
}

async function apiError(promise: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ApiException) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

/** `ApiException.body` of a non-2xx answer is the raw response text in client-node 1.4. */
function statusBody(error: ApiException<unknown>): JsonObject {
  return JSON.parse(error.body as string) as JsonObject
}

describe('test Kubernetes API server, driven by @kubernetes/client-node', () => {
  let server: KubernetesApiServer
  let kubeconfig: { path: string; cleanup: () => void }
  let kc: KubeConfig
  let core: CoreV1Api
  const watches: WatchRecord[] = []

  async function start(options: KubernetesApiServerOptions = {}): Promise<void> {
    server = await startKubernetesApiServer(options)
    kubeconfig = writeKubeconfig({ server: server.url, token: server.token, cluster: 'test-cluster' })
    kc = new KubeConfig()
    kc.loadFromFile(kubeconfig.path)
    core = kc.makeApiClient(CoreV1Api)
  }

  function watch(path: string, params: Record<string, string | number | boolean | undefined>, config: KubeConfig = kc): WatchRecord {
    const record: WatchRecord = { events: [], ended: false, error: undefined, controller: Promise.resolve(new AbortController()) }
    record.controller = new Watch(config).watch(
      path,
      params,
      (type: string, object: JsonObject) => record.events.push({ type, object }),
      (error: unknown) => {
        record.ended = true
        record.error = error
      },
    )
    watches.push(record)
    return record
  }

  const names = (record: WatchRecord) => record.events.map(({ type, object }) => `${type} ${(object.metadata as JsonObject | null)?.name ?? ''}`)

  beforeEach(async () => {
    await start()
  })

  afterEach(async () => {
    for (const record of watches.splice(0)) if (!record.ended) (await record.controller).abort()
    await server.close()
    kubeconfig.cleanup()
  })

  it('loads the generated kubeconfig (file and string) with its bearer token and insecure-skip-tls-verify', async () => {
    expect(kc.getCurrentCluster()).toMatchObject({ name: 'test-cluster', server: server.url, skipTLSVerify: true })
    expect(kc.getCurrentUser()?.token).toBe(server.token)
    const fromString = new KubeConfig()
    fromString.loadFromString(kubeconfigYaml({ server: server.url, token: server.token }))
    expect(fromString.getCurrentCluster()?.name).toBe('eventline-test')

    server.add('events', makeEvent({ name: 'one' }))
    const list = await fromString.makeApiClient(CoreV1Api).listEventForAllNamespaces()
    expect(list.items.map((item) => item.metadata.name)).toEqual(['one'])
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/events', status: 200, watch: false })
  })

  it('pages 1,234 events with limit/continue, each once, at the first page\'s resourceVersion', async () => {
    const added = Array.from({ length: 1234 }, (_, index) =>
      server.add('events', makeEvent({ name: `event-${String(index).padStart(4, '0')}`, namespace: `ns-${index % 3}` })),
    )
    const uids: string[] = []
    const listRvs = new Set<string>()
    let continueToken: string | undefined
    let page = 0
    let late = added[0]!
    do {
      const list = await core.listEventForAllNamespaces({ limit: 500, _continue: continueToken })
      uids.push(...list.items.map((item) => item.metadata.uid!))
      listRvs.add(list.metadata!.resourceVersion!)
      continueToken = list.metadata?._continue
      page += 1
      if (page === 1) {
        // Writes between pages must not leak into the paged list.
        late = server.add('events', makeEvent({ name: 'late', namespace: 'ns-9' }))
        server.modify('events', { ...added[1200]!, count: 7 })
        server.delete('events', 'ns-0', added[1233]!.metadata.name)
      }
    } while (continueToken)

    expect(page).toBe(3)
    expect(uids).toHaveLength(1234)
    expect(new Set(uids)).toEqual(new Set(added.map((event) => event.metadata.uid)))
    expect([...listRvs]).toEqual([added.at(-1)!.metadata.resourceVersion])
    const listRequests = server.requests.filter((request) => request.path === '/api/v1/events')
    expect(listRequests.map((request) => request.query.limit)).toEqual(['500', '500', '500'])
    expect(listRequests[1]!.query.continue).toBeTruthy()

    const fresh = await core.listEventForAllNamespaces()
    expect(fresh.items).toHaveLength(1234)
    expect(fresh.metadata?.resourceVersion).toBe(server.resourceVersion)
    // Exact reads rebuild older states from the history: later writes undone.
    const exact = await core.listEventForAllNamespaces({ resourceVersion: late.metadata.resourceVersion, resourceVersionMatch: 'Exact' })
    expect(exact.metadata?.resourceVersion).toBe(late.metadata.resourceVersion)
    expect(exact.items).toHaveLength(1235)
    expect(exact.items.find((item) => item.metadata.name === added[1200]!.metadata.name)?.count).toBe(1)
    expect(exact.items.some((item) => item.metadata.name === added[1233]!.metadata.name)).toBe(true)
    const older = await core.listNamespacedEvent({ namespace: 'ns-1', resourceVersion: added[99]!.metadata.resourceVersion, resourceVersionMatch: 'Exact', limit: 10 })
    expect(older.items.map((item) => item.metadata.name)[0]).toBe('event-0001')
    expect(older.metadata?.remainingItemCount).toBe(33 - 10)
  })

  it('answers 410 Expired for a continue token older than the history window', async () => {
    for (let index = 0; index < 5; index += 1) server.add('events', makeEvent({ name: `e${index}` }))
    const first = await core.listEventForAllNamespaces({ limit: 2 })
    server.expireHistory()
    const error = await apiError(core.listEventForAllNamespaces({ limit: 2, _continue: first.metadata!._continue }))
    expect(error.code).toBe(410)
    const body = statusBody(error)
    expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 })
    expect(body.message).toContain('The provided continue parameter is too old')
    // The inconsistent-continue token of the Status still pages on, from the latest state.
    const rest = await core.listEventForAllNamespaces({ limit: 10, _continue: (body.metadata as JsonObject).continue as string })
    expect(rest.items.map((item) => item.metadata.name)).toEqual(['e2', 'e3', 'e4'])

    const exact = await apiError(core.listEventForAllNamespaces({ resourceVersion: first.metadata!.resourceVersion, resourceVersionMatch: 'Exact' }))
    expect(statusBody(exact)).toMatchObject({ reason: 'Expired', code: 410, message: 'The resourceVersion for the provided list is too old.' })
  })

  it('replays and streams ADDED, MODIFIED, DELETED in order from the list resourceVersion', async () => {
    server.add('events', makeEvent({ name: 'before' }))
    const list = await core.listEventForAllNamespaces({ limit: 500 })
    const missed = server.add('events', makeEvent({ name: 'a' }))
    const record = watch('/api/v1/events', { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true })
    await waitFor(() => record.events.length === 1)
    server.modify('events', { ...missed, count: 2, lastTimestamp: new Date().toISOString() })
    const deleted = server.delete('events', 'default', 'a')
    server.add('events', makeEvent({ name: 'b', namespace: 'other' }))
    await waitFor(() => record.events.length === 4)

    expect(names(record)).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a', 'ADDED b'])
    expect(record.events[0]!.object).toMatchObject({ kind: 'Event', apiVersion: 'v1', metadata: { uid: missed.metadata.uid } })
    expect(record.events[1]!.object.count).toBe(2)
    expect((record.events[2]!.object.metadata as JsonObject).resourceVersion).toBe(deleted.metadata.resourceVersion)
    expect(server.requests.at(-1)?.query).toMatchObject({ watch: 'true', resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: 'true' })
    expect(record.ended).toBe(false)
  })

  it('starts a watch without resourceVersion with the current state, per namespace when asked', async () => {
    server.add('pods', makePod({ name: 'p1', namespace: 'shop', ip: '10.0.0.1' }))
    server.add('pods', makePod({ name: 'p2', namespace: 'other' }))
    const record = watch('/api/v1/namespaces/shop/pods', {})
    await waitFor(() => record.events.length === 1)
    server.add('pods', makePod({ name: 'p3', namespace: 'other' }))
    server.add('pods', makePod({ name: 'p4', namespace: 'shop' }))
    await waitFor(() => record.events.length === 2)
    expect(names(record)).toEqual(['ADDED p1', 'ADDED p4'])
    expect(record.events[0]!.object).toMatchObject({ kind: 'Pod', status: { podIP: '10.0.0.1' } })
  })

  it('ends the initial ADDEDs of sendInitialEvents with an initial-events-end BOOKMARK', async () => {
    server.add('services', makeService({ name: 'web', selector: { app: 'web' } }))
    const record = watch('/api/v1/services', { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan' })
    await waitFor(() => record.events.length === 2)
    expect(names(record)).toEqual(['ADDED web', 'BOOKMARK '])
    expect(record.events[1]!.object).toMatchObject({
      kind: 'Service',
      metadata: { resourceVersion: server.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
    })
  })

  it('keeps historyLimit changes per resource: older resourceVersions expire, the rest replay', async () => {
    await server.close()
    await start({ historyLimit: 3 })
    const added = Array.from({ length: 5 }, (_, index) => server.add('events', makeEvent({ name: `e${index}` })))
    const expired = watch('/api/v1/events', { resourceVersion: added[0]!.metadata.resourceVersion })
    const replayed = watch('/api/v1/events', { resourceVersion: added[1]!.metadata.resourceVersion })
    await waitFor(() => expired.ended && replayed.events.length === 3)
    expect(expired.events[0]!.object).toMatchObject({ reason: 'Expired', code: 410 })
    expect(names(replayed)).toEqual(['ADDED e2', 'ADDED e3', 'ADDED e4'])
  })

  it('sends BOOKMARKs only to watches that allow them', async () => {
    await server.close()
    await start({ bookmarkIntervalMs: 20 })
    const withBookmarks = watch('/api/v1/events', { resourceVersion: server.resourceVersion, allowWatchBookmarks: true })
    const without = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    await waitFor(() => withBookmarks.events.length >= 2)
    const bookmark = withBookmarks.events[0]!
    expect(bookmark.type).toBe('BOOKMARK')
    expect(bookmark.object).toMatchObject({ kind: 'Event', apiVersion: 'v1', metadata: { resourceVersion: server.resourceVersion } })
    const added = server.add('events', makeEvent({ name: 'x' }))
    await waitFor(() => withBookmarks.events.some((event) => event.type === 'BOOKMARK' && (event.object.metadata as JsonObject).resourceVersion === added.metadata.resourceVersion))
    expect(names(without)).toEqual(['ADDED x'])
  })

  it('answers an expired watch resourceVersion with an ERROR 410 event, or HTTP 410 when selected', async () => {
    const list = await core.listEventForAllNamespaces()
    server.add('events', makeEvent({ name: 'gone' }))
    server.expireHistory()

    const asEvent = watch('/api/v1/events', { resourceVersion: list.metadata!.resourceVersion })
    await waitFor(() => asEvent.ended)
    expect(asEvent.error).toBeNull()
    expect(asEvent.events).toHaveLength(1)
    expect(asEvent.events[0]!.type).toBe('ERROR')
    expect(asEvent.events[0]!.object).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 })
    expect(asEvent.events[0]!.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/)

    server.setExpiredWatchMode('httpStatus')
    const asStatus = watch('/api/v1/events', { resourceVersion: list.metadata!.resourceVersion })
    await waitFor(() => asStatus.ended)
    expect(asStatus.events).toEqual([])
    expect(asStatus.error).toMatchObject({ message: 'Gone', statusCode: 410 })
  })

  it('answers 403 with the RBAC Status message and 401 without the bearer token', async () => {
    server.forbid('events', 'list')
    const forbidden = await apiError(core.listEventForAllNamespaces({ limit: 500 }))
    expect(forbidden.code).toBe(403)
    expect(statusBody(forbidden)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'events is forbidden: User "system:serviceaccount:eventline:eventline" cannot list resource "events" in API group "" at the cluster scope',
      reason: 'Forbidden',
      details: { kind: 'events' },
      code: 403,
    })
    server.forbid('pods')
    const namespaced = await apiError(core.listNamespacedPod({ namespace: 'shop' }))
    expect(statusBody(namespaced).message).toBe('pods is forbidden: User "system:serviceaccount:eventline:eventline" cannot list resource "pods" in API group "" in the namespace "shop"')

    // The Watch reports only the HTTP status: client-node 1.4 does not read the Status body.
    server.forbid('events', 'watch')
    const watchForbidden = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    await waitFor(() => watchForbidden.ended)
    expect(watchForbidden.error).toMatchObject({ message: 'Forbidden', statusCode: 403 })
    server.unforbid()
    await expect(core.listEventForAllNamespaces()).resolves.toBeDefined()

    const stranger = new KubeConfig()
    stranger.loadFromString(kubeconfigYaml({ server: server.url, token: 'wrong-token' }))
    const unauthorized = await apiError(stranger.makeApiClient(CoreV1Api).listEventForAllNamespaces())
    // client-node 1.4 drops the body of a 401; the server sends the real Status all the same.
    expect(unauthorized.code).toBe(401)
    const raw = await fetch(`${server.url}/api/v1/events`)
    expect(raw.status).toBe(401)
    expect(await raw.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 })
    const watchUnauthorized = watch('/api/v1/events', {}, stranger)
    await waitFor(() => watchUnauthorized.ended)
    expect(watchUnauthorized.error).toMatchObject({ statusCode: 401 })
  })

  it('dropConnections ends the client watch with an error', async () => {
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    await waitFor(() => server.openWatches('events') === 1)
    expect(server.dropConnections()).toBe(1)
    await waitFor(() => record.ended)
    expect(record.error).toMatchObject({ message: 'Premature close', code: 'ERR_STREAM_PREMATURE_CLOSE' })
    expect(server.openWatches()).toBe(0)
  })

  it('closeWatchesCleanly ends the client watch with no error; keepClosing ends new watches too', async () => {
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    await waitFor(() => server.openWatches() === 1)
    expect(server.closeWatchesCleanly({ keepClosing: true })).toBe(1)
    await waitFor(() => record.ended)
    expect(record.error).toBeNull()
    expect(record.events).toEqual([])

    server.add('events', makeEvent({ name: 'not-sent' }))
    const again = watch('/api/v1/events', { resourceVersion: '1000' })
    await waitFor(() => again.ended)
    expect(again.error).toBeNull()
    expect(again.events).toEqual([])

    server.resumeWatches()
    const resumed = watch('/api/v1/events', { resourceVersion: '1000' })
    await waitFor(() => resumed.events.length === 1)
    expect(names(resumed)).toEqual(['ADDED not-sent'])
  })

  it('a stalled watch sends nothing, not even bookmarks, until resumed', async () => {
    await server.close()
    await start({ bookmarkIntervalMs: 20 })
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion, allowWatchBookmarks: true })
    await waitFor(() => record.events.length >= 1)
    server.stallWatches('events')
    const seen = record.events.length
    server.add('events', makeEvent({ name: 'held-1' }))
    server.add('events', makeEvent({ name: 'held-2' }))
    await staysUnchanged(() => record.events.length, 150)
    expect(record.ended).toBe(false)
    expect(server.openWatches('events')).toBe(1)

    server.resumeWatches()
    await waitFor(() => names(record).includes('ADDED held-2'))
    const delivered = names(record).slice(seen).filter((name) => !name.startsWith('BOOKMARK'))
    expect(delivered).toEqual(['ADDED held-1', 'ADDED held-2'])
  })

  it('delivers injected malformed lines: a malformed object reaches the client, non-JSON is dropped by client-node', async () => {
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    await waitFor(() => server.openWatches() === 1)
    server.injectMalformed('events', 'this is not JSON')
    server.injectMalformed('events', '{"type":"ADDED","object":{"kind":"Event","apiVersion":"v1","metadata":{"name":"bad","resourceVersion":"x"},"involvedObject":"not-an-object"}}')
    server.add('events', makeEvent({ name: 'good' }))
    await waitFor(() => record.events.length === 2)
    expect(names(record)).toEqual(['ADDED bad', 'ADDED good'])
    expect(record.events[0]!.object.involvedObject).toBe('not-an-object')
    expect(record.ended).toBe(false)
  })

  it('with flushWatchHeaders false, the client gets its AbortController only with the first line', async () => {
    await server.close()
    await start({ flushWatchHeaders: false })
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion })
    let controllerReady = 0
    void record.controller.then(() => (controllerReady = 1))
    await waitFor(() => server.openWatches() === 1)
    await staysUnchanged(() => controllerReady, 50)
    server.add('events', makeEvent({ name: 'first' }))
    await waitFor(() => controllerReady === 1 && record.events.length === 1)
  })

  it('ends a watch cleanly when its timeoutSeconds elapse', async () => {
    const started = Date.now()
    const record = watch('/api/v1/events', { resourceVersion: server.resourceVersion, timeoutSeconds: 1 })
    await waitFor(() => record.ended, 3000)
    expect(record.error).toBeNull()
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })

  it('serves the same events in the events.k8s.io/v1 shape', async () => {
    const event = makeEvent({ name: 'pulled', reason: 'Pulled', message: 'Image pulled', count: 3 })
    server.add('events', { ...event, series: { count: 3, lastObservedTime: '2025-01-15T12:00:00.000000Z' }, action: 'Pulling' })
    const list = await kc.makeApiClient(EventsV1Api).listEventForAllNamespaces({ limit: 10 })
    expect(list.items).toHaveLength(1)
    const item = list.items[0]!
    expect(item).toMatchObject({
      reason: 'Pulled',
      note: 'Image pulled',
      reportingController: 'kubelet',
      reportingInstance: 'node-1',
      deprecatedCount: 3,
      action: 'Pulling',
      regarding: { kind: 'Pod', name: 'demo-pod', namespace: 'default' },
      deprecatedSource: { component: 'kubelet', host: 'node-1' },
    })
    expect(item.series?.count).toBe(3)

    const record = watch('/apis/events.k8s.io/v1/namespaces/default/events', { resourceVersion: list.metadata!.resourceVersion })
    await waitFor(() => server.openWatches() === 1)
    server.add('events', makeEvent({ name: 'other' }))
    await waitFor(() => record.events.length === 1)
    expect(record.events[0]!.object).toMatchObject({ kind: 'Event', apiVersion: 'events.k8s.io/v1', note: 'Started container app' })

    server.forbid('events.events.k8s.io', 'list')
    const forbidden = await apiError(kc.makeApiClient(EventsV1Api).listEventForAllNamespaces())
    expect(statusBody(forbidden)).toMatchObject({
      message: 'events.events.k8s.io is forbidden: User "system:serviceaccount:eventline:eventline" cannot list resource "events" in API group "events.k8s.io" at the cluster scope',
      details: { group: 'events.k8s.io', kind: 'events' },
    })
  })

  it('serves pods and services per namespace, one object by name, and 404 for unknown ones', async () => {
    server.add('pods', makePod({ name: 'web-1', namespace: 'shop', labels: { app: 'web' }, ip: '10.0.0.5' }))
    server.add('services', makeService({ name: 'web', namespace: 'shop', selector: { app: 'web' } }))
    server.add('services', makeService({ name: 'db', namespace: 'data' }))
    const pods = await core.listNamespacedPod({ namespace: 'shop' })
    expect(pods.items.map((pod) => pod.status?.podIP)).toEqual(['10.0.0.5'])
    const services = await core.listServiceForAllNamespaces()
    expect(services.items.map((service) => `${service.metadata?.namespace}/${service.metadata?.name}`)).toEqual(['data/db', 'shop/web'])
    const pod = await core.readNamespacedPod({ namespace: 'shop', name: 'web-1' })
    expect(pod.metadata?.labels).toEqual({ app: 'web' })
    const missing = await apiError(core.readNamespacedPod({ namespace: 'shop', name: 'nope' }))
    expect(statusBody(missing)).toMatchObject({ reason: 'NotFound', message: 'pods "nope" not found', code: 404 })
  })

  it('renders opaque resourceVersions when asked, and rejects selectors it does not implement', async () => {
    await server.close()
    await start({ resourceVersionStyle: 'opaque' })
    const added = server.add('events', makeEvent({ name: 'one' }))
    expect(added.metadata.resourceVersion).toMatch(/^rv-/)
    const list = await core.listEventForAllNamespaces()
    const record = watch('/api/v1/events', { resourceVersion: list.metadata!.resourceVersion })
    await waitFor(() => server.openWatches() === 1)
    server.modify('events', { ...added, count: 2 })
    await waitFor(() => record.events.length === 1)
    expect(names(record)).toEqual(['MODIFIED one'])

    const selector = await apiError(core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.kind=Pod' }))
    expect(selector.code).toBe(400)
  })

  it('serves cluster-scoped nodes, apps/batch/autoscaling workloads, and creates events with client-node', async () => {
    server.add('nodes', { metadata: { name: 'node-1', namespace: 'ignored' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })
    server.add('deployments', { metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 2 } })
    const nodes = await core.listNode()
    expect(nodes.items.map((node) => [node.metadata?.name, node.metadata?.namespace])).toEqual([['node-1', undefined]])
    expect((await core.readNode({ name: 'node-1' })).metadata?.name).toBe('node-1')
    const apps = kc.makeApiClient(AppsV1Api)
    expect((await apps.listNamespacedDeployment({ namespace: 'shop' })).items.map((item) => item.spec?.replicas)).toEqual([2])
    expect((await apps.listReplicaSetForAllNamespaces()).items).toEqual([])

    const record = watch('/api/v1/events', {})
    await waitFor(() => server.openWatches('events') === 1)
    const created = await core.createNamespacedEvent({
      namespace: 'shop',
      body: { metadata: { generateName: 'web.' }, involvedObject: { kind: 'Deployment', name: 'web', namespace: 'shop' }, reason: 'ScalingReplicaSet', message: 'Scaled up' },
    })
    expect(created.metadata?.name).toMatch(/^web\.[0-9a-f]{5}$/)
    expect(created.metadata?.uid).toBeDefined()
    await waitFor(() => record.events.length === 1)
    expect(names(record)).toEqual([`ADDED ${created.metadata?.name}`])
    const conflict = await apiError(core.createNamespacedEvent({ namespace: 'shop', body: { metadata: { name: created.metadata!.name! }, involvedObject: {} } }))
    expect(statusBody(conflict)).toMatchObject({ reason: 'AlreadyExists', code: 409 })
    const wrongNamespace = await apiError(core.createNamespacedEvent({ namespace: 'shop', body: { metadata: { name: 'x', namespace: 'other' }, involvedObject: {} } }))
    expect(wrongNamespace.code).toBe(400)
    server.forbid('events', 'create')
    const denied = await apiError(core.createNamespacedEvent({ namespace: 'shop', body: { metadata: { name: 'y' }, involvedObject: {} } }))
    expect(statusBody(denied)).toMatchObject({ reason: 'Forbidden', message: expect.stringContaining('cannot create resource "events"') })
  })
})
