/**
 * Several clusters from one kubeconfig: each chosen context is its own source and mesh, with its
 * own checkpoints and status; a forbidden or silent cluster neither stops nor delays the others.
 */
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { EventPage, Mesh } from '@eventline/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../config.ts'
import { writeKubeconfig } from '../../testing/kubeconfig.ts'
import { eventually } from '../../testing/eventually.ts'
import { makeEvent, makePod, startKubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'
import { loadKubeClusters } from './kubeConfig.ts'

/** A TCP server that accepts connections and never answers: a cluster behind a black hole. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('several clusters', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    cleanups.length = 0
  })

  it('runs every chosen context as its own mesh; a forbidden and a silent cluster do not hold up the healthy one', async () => {
    const east = await startKubernetesApiServer({ token: 'east-token' })
    const west = await startKubernetesApiServer({ token: 'west-token' })
    const silent = await startSilentServer()
    cleanups.push(() => east.close(), () => west.close(), () => silent.close())
    west.forbid('events')
    east.add('pods', makePod({ name: 'shop-1', ip: '10.1.0.1', labels: { app: 'shop' } }))
    east.add('events', makeEvent({ name: 'e1', pod: 'shop-1', reason: 'Pulled' }))
    west.add('pods', makePod({ name: 'shop-1', ip: '10.2.0.1', labels: { app: 'shop' } }))
    const kubeconfig = writeKubeconfig([
      { server: east.url, token: east.token, cluster: 'east', context: 'east-admin' },
      { server: west.url, token: west.token, cluster: 'west', context: 'west-admin' },
      { server: silent.url, token: 'x', cluster: 'blackhole', context: 'blackhole' },
    ])
    const tmp = tempDir()
    cleanups.push(kubeconfig.cleanup, tmp.cleanup)
    const eventline: TestServer = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
      kubeContexts: ['*'],
      kubernetesTuning: { watchdogMs: 60_000, backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs: 60_000 },
    })
    cleanups.push(() => eventline.stop())

    const meshes = async () => new Map((await eventline.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.map((mesh) => [mesh.name, mesh]))
    // The healthy cluster's events arrive although the silent one has not answered a single request.
    await eventually(async () => {
      const page = (await eventline.get<EventPage>('/api/v1/events?mesh=east')).body
      expect(page.items.map((item) => [item.reason, item.application, item.ip])).toEqual([['Pulled', 'shop', '10.1.0.1']])
    })
    await eventually(async () => {
      const all = await meshes()
      expect([...all.keys()].sort()).toEqual(['blackhole', 'east', 'west'])
      expect(all.get('east')).toMatchObject({ kind: 'kubernetes', status: 'connected', address: east.url })
      expect(all.get('west')).toMatchObject({ kind: 'kubernetes', status: 'error' })
      expect(all.get('west')!.error).toContain('cannot list resource "events"')
      expect(all.get('blackhole')).toMatchObject({ status: 'connecting', address: silent.url })
    })
    // Pods of the forbidden cluster are still catalogued, under their own mesh.
    await eventually(async () => expect((await eventline.get<{ ip?: string }>('/api/v1/instances/shop-1?mesh=west')).body.ip).toBe('10.2.0.1'))

    // Live events follow per cluster; once west is allowed its events arrive under west only.
    east.add('events', makeEvent({ name: 'e2', pod: 'shop-1', reason: 'Killing' }))
    west.add('events', makeEvent({ name: 'w1', pod: 'shop-1', reason: 'BackOff', type: 'Warning' }))
    west.unforbid()
    await eventually(async () => {
      const east = (await eventline.get<EventPage>('/api/v1/events?mesh=east')).body.items.map((item) => item.reason)
      const west = (await eventline.get<EventPage>('/api/v1/events?mesh=west')).body.items.map((item) => [item.reason, item.ip])
      expect(east.sort()).toEqual(['Killing', 'Pulled'])
      expect(west).toEqual([['BackOff', '10.2.0.1']])
    })
    await eventually(async () => expect((await meshes()).get('west')).toMatchObject({ status: 'connected' }))
    // Each cluster keeps its own events checkpoint, prefixed by its mesh.
    await eventually(async () => {
      expect(await eventline.store.readCheckpoint('east:events-rv')).toBeDefined()
      expect(await eventline.store.readCheckpoint('west:events-rv')).toBeDefined()
    })
    expect(await eventline.store.readCheckpoint('blackhole:events-rv')).toBeUndefined()
  })
})

describe('several clusters across a restart', () => {
  it('resumes each cluster from its own checkpoint: events made while down arrive once, in their own mesh', async () => {
    const east = await startKubernetesApiServer({ token: 'east-token' })
    // Different resourceVersion ranges: a checkpoint used for the wrong cluster would not resume.
    const west = await startKubernetesApiServer({ token: 'west-token', startResourceVersion: 50_000 })
    const kubeconfig = writeKubeconfig([
      { server: east.url, token: east.token, cluster: 'east' },
      { server: west.url, token: west.token, cluster: 'west' },
    ])
    const tmp = tempDir()
    const start = () =>
      startTestServer({
        db: `${tmp.dir}/eventline.db`,
        kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
        kubeContexts: ['east', 'west'],
        kubernetesTuning: { backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs: 2_000 },
      })
    const totals = async (eventline: TestServer) =>
      Promise.all(['east', 'west'].map(async (mesh) => (await eventline.get<EventPage>(`/api/v1/events?mesh=${mesh}`)).body.total))
    try {
      for (let i = 0; i < 5; i++) east.add('events', makeEvent({ name: `e-${i}` }))
      for (let i = 0; i < 3; i++) west.add('events', makeEvent({ name: `w-${i}` }))
      let eventline = await start()
      await eventually(async () => expect(await totals(eventline)).toEqual([5, 3]))
      await eventually(async () => expect(await eventline.store.readCheckpoint('west:events-rv')).toBe(west.resourceVersion))
      await eventline.stop()

      for (let i = 5; i < 9; i++) east.add('events', makeEvent({ name: `e-${i}` }))
      for (let i = 3; i < 10; i++) west.add('events', makeEvent({ name: `w-${i}` }))
      east.clearRequests()
      west.clearRequests()
      eventline = await start()
      try {
        await eventually(async () => expect(await totals(eventline)).toEqual([9, 10]))
        for (const api of [east, west]) {
          const first = api.requests.find((request) => request.path === '/api/v1/events')
          expect(first, 'watches from its checkpoint without listing').toMatchObject({ watch: true })
        }
      } finally {
        await eventline.stop()
      }
    } finally {
      await east.close()
      await west.close()
      kubeconfig.cleanup()
      tmp.cleanup()
    }
  })
})

describe('choosing contexts', () => {
  const cleanups: Array<() => void> = []
  afterEach(() => {
    for (const cleanup of cleanups) cleanup()
    cleanups.length = 0
  })
  const kubeconfig = () => {
    const written = writeKubeconfig([
      { server: 'https://127.0.0.1:1', token: 'a', cluster: 'prod', context: 'prod-admin' },
      { server: 'https://127.0.0.1:1', token: 'b', cluster: 'prod', context: 'prod-viewer' },
      { server: 'https://127.0.0.1:2', token: 'c', cluster: 'staging', context: 'staging' },
    ])
    cleanups.push(written.cleanup)
    return { mode: 'kubeconfig' as const, path: written.path }
  }
  const configError = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return (error as Error).message
    }
    throw new Error('expected a ConfigError')
  }

  it('names each mesh after its cluster, or after its context when two chosen contexts share the cluster', () => {
    const setting = kubeconfig()
    expect(loadKubeClusters(setting).map(({ cluster, context }) => [cluster, context])).toEqual([['prod', 'prod-admin']])
    expect(loadKubeClusters(setting, undefined, ['*']).map(({ cluster }) => cluster)).toEqual(['prod-admin', 'prod-viewer', 'staging'])
    expect(loadKubeClusters(setting, undefined, ['staging', 'prod-viewer']).map(({ cluster }) => cluster)).toEqual(['staging', 'prod'])
    const clusters = loadKubeClusters(setting, undefined, ['staging', 'prod-viewer'])
    expect(clusters.map(({ kubeConfig }) => kubeConfig.getCurrentCluster()?.server)).toEqual(['https://127.0.0.1:2', 'https://127.0.0.1:1'])
    expect(clusters.map(({ kubeConfig }) => kubeConfig.getCurrentUser()?.token)).toEqual(['c', 'b'])
    expect(loadKubeClusters(setting, 'renamed', ['staging']).map(({ cluster }) => cluster)).toEqual(['renamed'])
  })

  it('refuses EVENTLINE_CLUSTER with several contexts, unknown contexts and contexts in-cluster', () => {
    const setting = kubeconfig()
    expect(configError(() => loadKubeClusters(setting, 'one', ['*']))).toMatch(/^EVENTLINE_CLUSTER: .*3 contexts are chosen/)
    expect(configError(() => loadKubeClusters(setting, undefined, ['nope']))).toMatch(/^EVENTLINE_KUBE_CONTEXTS: context "nope" is not in .* \(it has: prod-admin, prod-viewer, staging\)/)
    expect(configError(() => loadKubeClusters({ mode: 'in-cluster' }, undefined, ['prod-admin']))).toMatch(/^EVENTLINE_KUBE_CONTEXTS: .*in-cluster service account has none/)
  })
})
