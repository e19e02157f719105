// ListWatch against the test Kubernetes API server, through a generated kubeconfig loaded by the
// real @kubernetes/client-node. The server renders opaque resourceVersions ("rv-…"), so any
// parsing or ordering of them would fail here.
import { KubeConfig } from '@kubernetes/client-node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../log.ts'
import { writeKubeconfig } from '../../testing/kubeconfig.ts'
import { makeEvent, startKubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import type { KubernetesApiServer, KubernetesApiServerOptions, RecordedRequest } from '../../testing/kubernetesApiServer.ts'
import { backoffDelay } from '../../backoff.ts'
import { ListWatch } from './listWatch.ts'
import type { KubeObjectLike, ListPage, ListWatchOptions, ListWatchStatus } from './listWatch.ts'

interface Recorded {
  pages: Array<{ names: string[]; resourceVersion: string; page: ListPage }>
  events: Array<{ type: string; name: string; resourceVersion: string }>
  bookmarks: string[]
  malformed: Array<{ reason: string; context: Record<string, unknown> }>
  statuses: Array<{ status: ListWatchStatus; error?: string }>
}

/** Polls `condition` every 5 ms; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const eventNames = (count: number, prefix = 'e') => Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(4, '0')}`)

describe('ListWatch against the test Kubernetes API server', () => {
  let server: KubernetesApiServer
  let kubeconfig: { path: string; cleanup: () => void }
  let kc: KubeConfig
  const running: ListWatch[] = []

  async function startServer(options: KubernetesApiServerOptions = {}): Promise<void> {
    server = await startKubernetesApiServer({ resourceVersionStyle: 'opaque', ...options })
    kubeconfig = writeKubeconfig({ server: server.url, token: server.token })
    kc = new KubeConfig()
    kc.loadFromFile(kubeconfig.path)
  }

  /** Starts a ListWatch on `/api/v1/events` with small timings, recording everything it hands over. */
  async function startListWatch(options: Partial<ListWatchOptions<KubeObjectLike>> = {}) {
    const recorded: Recorded = { pages: [], events: [], bookmarks: [], malformed: [], statuses: [] }
    const listWatch = new ListWatch({
      kubeConfig: kc,
      path: '/api/v1/events',
      log: silentLogger,
      backoff: { initialMs: 10, maxMs: 50 },
      onList: async (items, resourceVersion, page) => {
        recorded.pages.push({ names: items.map((item) => item.metadata.name), resourceVersion, page })
      },
      onEvent: (type, object, resourceVersion) => {
        recorded.events.push({ type, name: object.metadata.name, resourceVersion })
      },
      onBookmark: (resourceVersion) => {
        recorded.bookmarks.push(resourceVersion)
      },
      onMalformed: (reason, context) => recorded.malformed.push({ reason, context }),
      onStatus: (status, error) => recorded.statuses.push(error === undefined ? { status } : { status, error }),
      ...options,
    })
    running.push(listWatch)
    await listWatch.start()
    return { listWatch, recorded }
  }

  const listed = (recorded: Recorded) => recorded.pages.flatMap((page) => page.names)
  const firstPages = (recorded: Recorded) => recorded.pages.filter((page) => page.page.first).length
  const eventRequests = (predicate: (request: RecordedRequest) => boolean) =>
    server.requests.filter((request) => request.path === '/api/v1/events' && predicate(request))
  const listStarts = () => eventRequests((request) => !request.watch && request.query.continue === undefined)
  const watches = () => eventRequests((request) => request.watch)
  const addEvents = (names: string[]) => names.map((name) => server.add('events', makeEvent({ name })))

  beforeEach(async () => {
    await startServer()
  })

  afterEach(async () => {
    await Promise.all(running.splice(0).map((listWatch) => listWatch.stop()))
    await server.close()
    kubeconfig.cleanup()
  })

  it('lists 1,234 events in 3 pages of 500, each once, then watches from the list resourceVersion', async () => {
    addEvents(eventNames(1234))
    const listRv = server.resourceVersion
    const { recorded, listWatch } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)

    expect(recorded.pages.map((page) => page.names.length)).toEqual([500, 500, 234])
    expect(recorded.pages.map((page) => page.page)).toEqual([
      { first: true, last: false },
      { first: false, last: false },
      { first: false, last: true },
    ])
    expect(new Set(recorded.pages.map((page) => page.resourceVersion))).toEqual(new Set([listRv]))
    expect(new Set(listed(recorded))).toEqual(new Set(eventNames(1234)))
    expect(listed(recorded)).toHaveLength(1234)
    const lists = eventRequests((request) => !request.watch)
    expect(lists.map((request) => request.query.limit)).toEqual(['500', '500', '500'])
    expect(lists.map((request) => request.query.continue !== undefined)).toEqual([false, true, true])
    expect(watches().map((request) => request.query)).toEqual([{ watch: 'true', allowWatchBookmarks: 'true', resourceVersion: listRv }])
    expect(recorded.statuses).toEqual([{ status: 'connecting' }, { status: 'connected' }])
    expect(listWatch.resourceVersion).toBe(listRv)
  })

  it('delivers ADDED, MODIFIED and DELETED in order with their resourceVersions, and bookmarks', async () => {
    const { recorded, listWatch } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)
    const added = server.add('events', makeEvent({ name: 'a' }))
    const modified = server.modify('events', { ...added, count: 2 })
    const deleted = server.delete('events', 'default', 'a')
    const other = server.add('events', makeEvent({ name: 'b' }))
    await waitFor(() => recorded.events.length === 4)
    expect(recorded.events).toEqual([
      { type: 'ADDED', name: 'a', resourceVersion: added.metadata.resourceVersion },
      { type: 'MODIFIED', name: 'a', resourceVersion: modified.metadata.resourceVersion },
      { type: 'DELETED', name: 'a', resourceVersion: deleted.metadata.resourceVersion },
      { type: 'ADDED', name: 'b', resourceVersion: other.metadata.resourceVersion },
    ])

    server.add('pods', { metadata: { name: 'unrelated-pod' } })
    server.sendBookmarks()
    await waitFor(() => recorded.bookmarks.length === 1)
    expect(recorded.bookmarks).toEqual([server.resourceVersion])
    expect(listWatch.resourceVersion).toBe(server.resourceVersion)
  })

  it('awaits the consumer: a slow onEvent keeps order and is not mistaken for a stall', async () => {
    const order: string[] = []
    const { recorded } = await startListWatch({
      watchdogMs: 100,
      onEvent: async (_type, object) => {
        await new Promise((resolve) => setTimeout(resolve, 60))
        order.push(object.metadata.name)
      },
    })
    await waitFor(() => server.openWatches('events') === 1)
    addEvents(['s1', 's2', 's3', 's4'])
    await waitFor(() => order.length === 4)
    expect(order).toEqual(['s1', 's2', 's3', 's4'])
    expect(watches()).toHaveLength(1)
    expect(recorded.malformed).toEqual([])
  })

  it('resumes the watch from the stored resourceVersion without listing', async () => {
    const [, stored] = addEvents(['old-1', 'old-2'])
    addEvents(['new-1', 'new-2'])
    const { recorded } = await startListWatch({ startResourceVersion: stored!.metadata.resourceVersion })
    await waitFor(() => recorded.events.length === 2)
    server.add('events', makeEvent({ name: 'live' }))
    await waitFor(() => recorded.events.length === 3)

    expect(recorded.events.map((event) => event.name)).toEqual(['new-1', 'new-2', 'live'])
    expect(recorded.pages).toEqual([])
    expect(eventRequests((request) => !request.watch)).toEqual([])
    expect(watches()[0]!.query.resourceVersion).toBe(stored!.metadata.resourceVersion)
  })

  it.each(['errorEvent', 'httpStatus'] as const)('lists once when the stored resourceVersion has expired (%s)', async (mode) => {
    server.setExpiredWatchMode(mode)
    const [stored] = addEvents(['x0', 'x1', 'x2'])
    server.expireHistory()
    addEvents(['x3'])
    let expiries = 0
    const { recorded } = await startListWatch({ startResourceVersion: stored!.metadata.resourceVersion, onExpired: () => expiries++ })
    await waitFor(() => server.openWatches('events') === 1 && recorded.pages.length === 1)
    server.add('events', makeEvent({ name: 'x4' }))
    await waitFor(() => recorded.events.length === 1)

    expect(listed(recorded)).toEqual(['x0', 'x1', 'x2', 'x3'])
    expect(recorded.events.map((event) => event.name)).toEqual(['x4'])
    expect(listStarts()).toHaveLength(1)
    expect(watches().map((request) => request.query.resourceVersion)).toEqual([stored!.metadata.resourceVersion, recorded.pages[0]!.resourceVersion])
    // Reported, so the gap before this resumption is marked as possibly lossy.
    expect(expiries).toBe(1)
  })

  it('lists again on an ERROR 410 in the middle of a watch', async () => {
    const { recorded } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)
    addEvents(['m1'])
    await waitFor(() => recorded.events.length === 1)
    server.injectMalformed('events', JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: a (b)', reason: 'Expired', code: 410 } }))
    await waitFor(() => firstPages(recorded) === 2 && server.openWatches('events') === 1)
    addEvents(['m2'])
    await waitFor(() => recorded.events.length === 2)

    expect(listed(recorded)).toEqual(['m1'])
    expect(recorded.events.map((event) => event.name)).toEqual(['m1', 'm2'])
    expect(recorded.malformed).toEqual([])
  })

  it('lists again when a paged list meets an expired continue token', async () => {
    addEvents(eventNames(5))
    let expired = false
    const { recorded } = await startListWatch({
      pageSize: 2,
      onList: async (items, resourceVersion, page) => {
        recorded.pages.push({ names: items.map((item) => item.metadata.name), resourceVersion, page })
        if (!expired) {
          expired = true
          server.expireHistory()
        }
      },
    })
    await waitFor(() => server.openWatches('events') === 1)
    expect(recorded.pages.map((page) => page.page.first)).toEqual([true, true, false, false])
    expect(recorded.pages.slice(1).flatMap((page) => page.names)).toEqual(eventNames(5))
    expect(eventRequests((request) => !request.watch).map((request) => request.status)).toEqual([200, 410, 200, 200, 200])
  })

  it('resumes from the last resourceVersion after a dropped connection, missing nothing and listing nothing', async () => {
    const { recorded } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)
    const [before] = addEvents(['d1'])
    await waitFor(() => recorded.events.length === 1)
    expect(server.dropConnections('events')).toBe(1)
    // Synchronously after the drop, before the client can reconnect.
    addEvents(['d2', 'd3'])
    await waitFor(() => recorded.events.length === 3 && server.openWatches('events') === 1)
    addEvents(['d4'])
    await waitFor(() => recorded.events.length === 4)

    expect(recorded.events.map((event) => event.name)).toEqual(['d1', 'd2', 'd3', 'd4'])
    expect(listStarts()).toHaveLength(1)
    // A drop that reconnects at once is not an error worth showing in /meshes.
    expect(recorded.statuses).toEqual([{ status: 'connecting' }, { status: 'connected' }])
    expect(watches().map((request) => request.query.resourceVersion).at(1)).toBe(before!.metadata.resourceVersion)
  })

  it('retries a failed consumer from the last resourceVersion it accepted: nothing lost, nothing twice', async () => {
    let failures = 0
    const accepted: string[] = []
    const { recorded } = await startListWatch({
      onEvent: (_type, object) => {
        if (object.metadata.name === 'c2' && failures === 0) {
          failures += 1
          throw new Error('disk full')
        }
        accepted.push(object.metadata.name)
      },
    })
    await waitFor(() => server.openWatches('events') === 1)
    addEvents(['c1', 'c2', 'c3'])
    await waitFor(() => accepted.length === 3)

    expect(accepted).toEqual(['c1', 'c2', 'c3'])
    expect(listStarts()).toHaveLength(1)
    expect(watches()).toHaveLength(2)
    expect(recorded.statuses.map((status) => status.status)).toEqual(['connecting', 'connected'])
  })

  it('restarts a stalled watch after watchdogMs and receives later events', async () => {
    const { recorded } = await startListWatch({ watchdogMs: 300 })
    await waitFor(() => server.openWatches('events') === 1)
    server.stallWatches('events')
    addEvents(['held'])
    await waitFor(() => watches().length === 2, 2000)
    expect(recorded.events).toEqual([])
    server.resumeWatches()
    addEvents(['after'])
    await waitFor(() => recorded.events.length === 2)

    expect(recorded.events.map((event) => event.name)).toEqual(['held', 'after'])
    expect(listStarts()).toHaveLength(1)
    expect(server.openWatches('events')).toBe(1)
  })

  it('lists again after cleanClosesBeforeRelist clean closes with no events', async () => {
    const { recorded } = await startListWatch({ cleanClosesBeforeRelist: 3 })
    await waitFor(() => server.openWatches('events') === 1)
    server.closeWatchesCleanly({ kind: 'events', keepClosing: true })
    addEvents(['while-closing'])
    await waitFor(() => listStarts().length === 2)
    server.resumeWatches()
    await waitFor(() => server.openWatches('events') === 1)

    // Exactly three empty watches came before the second list (the watch after it may close too
    // when it opens before resumeWatches: that only starts a new count).
    const secondList = server.requests.indexOf(listStarts()[1]!)
    expect(server.requests.slice(0, secondList).filter((request) => request.watch)).toHaveLength(3)
    expect(listed(recorded)).toEqual(['while-closing'])
    addEvents(['later'])
    await waitFor(() => recorded.events.length === 1)
    expect(recorded.events.map((event) => event.name)).toEqual(['later'])
  })

  it('reports a 403 on list with the RBAC message, keeps retrying with backoff, connects once allowed', async () => {
    server.forbid('events', 'list')
    const { recorded } = await startListWatch()
    await waitFor(() => listStarts().length >= 3)
    expect(recorded.statuses).toEqual([
      { status: 'connecting' },
      { status: 'error', error: 'events is forbidden: User "system:serviceaccount:eventline:eventline" cannot list resource "events" in API group "" at the cluster scope' },
    ])
    server.unforbid()
    await waitFor(() => server.openWatches('events') === 1)
    expect(recorded.statuses.at(-1)).toEqual({ status: 'connected' })
    expect(recorded.pages).toHaveLength(1)
  })

  it('reports a 403 on watch with the RBAC message and resumes without listing once allowed', async () => {
    server.forbid('events', 'watch')
    const { recorded } = await startListWatch()
    await waitFor(() => recorded.statuses.some((status) => status.status === 'error'))
    expect(recorded.statuses.at(-1)?.error).toContain('cannot watch resource "events"')
    addEvents(['while-forbidden'])
    server.unforbid()
    await waitFor(() => recorded.events.length === 1)
    expect(recorded.events.map((event) => event.name)).toEqual(['while-forbidden'])
    expect(listStarts()).toHaveLength(1)
    expect(recorded.statuses.at(-1)).toEqual({ status: 'connected' })
  })

  it('skips malformed lines and objects, reports each, and the stream goes on', async () => {
    const { recorded } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)
    server.injectMalformed('events', 'this is not JSON')
    server.injectMalformed('events', JSON.stringify({ type: 'ADDED', object: { kind: 'Event', metadata: { name: 'no-uid', resourceVersion: 'x' } } }))
    server.injectMalformed('events', JSON.stringify({ type: 'RENAMED', object: { metadata: { name: 'odd' } } }))
    server.add('events', makeEvent({ name: 'good' }))
    await waitFor(() => recorded.events.length === 1)

    expect(recorded.events.map((event) => event.name)).toEqual(['good'])
    expect(recorded.malformed.map((entry) => entry.reason)).toEqual(['watch line is not JSON', 'object without metadata.uid', 'unknown watch event type'])
    expect(recorded.malformed[1]!.context).toMatchObject({ path: '/api/v1/events', type: 'ADDED', name: 'no-uid' })
    expect(watches()).toHaveLength(1)
  })

  it('stop() ends the open watch and a pending backoff, leaving nothing open', async () => {
    const { listWatch } = await startListWatch()
    await waitFor(() => server.openWatches('events') === 1)
    await listWatch.stop()
    expect(server.openWatches()).toBe(0)

    server.forbid('events', 'list')
    const { listWatch: backingOff } = await startListWatch({ backoff: { initialMs: 60_000, maxMs: 60_000 } })
    await waitFor(() => listStarts().length === 2)
    const started = Date.now()
    await backingOff.stop()
    expect(Date.now() - started).toBeLessThan(500)
    const requests = server.requests.length
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(server.requests.length).toBe(requests)
  })
})

describe('backoffDelay', () => {
  const backoff = { initialMs: 1_000, maxMs: 30_000 }

  it('doubles from initialMs up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((attempt) => backoffDelay(attempt, backoff, () => 0))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ])
  })

  it('takes off up to a quarter at random, also at the cap', () => {
    expect(backoffDelay(0, backoff, () => 0.999)).toBe(750)
    expect(backoffDelay(10, backoff, () => 0.5)).toBe(26_250)
  })
})

