/**
 * The demo as `--demo` runs it, through the real server: a pod and the registry instance at its
 * IP are one process, so the `ip:port` page shows the pod's Kubernetes-style events (the kubelet's
 * "Readiness probe failed" among them) that the IP page shows, and the pod's page shows its
 * registrations. The demo draws its story from `Math.random`, seeded here so that it holds a
 * readiness flap; the test checks every pod, not one address.
 */
import type { EventItem, EventPage, Instance } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { seededRandom } from '../../seededRandom.ts'
import { eventually } from '../../testing/eventually.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'

const SEED = 3

describe('demo correlation', () => {
  let server: TestServer
  let tmp: ReturnType<typeof tempDir>
  /** Events before this are the back-fill's; the live timer adds more while the test reads. */
  let until: string

  beforeAll(async () => {
    tmp = tempDir()
    vi.spyOn(Math, 'random').mockImplementation(seededRandom(SEED))
    until = new Date().toISOString()
    server = await startTestServer({ db: `${tmp.dir}/eventline.db`, demo: true })
  })
  afterAll(async () => {
    vi.restoreAllMocks()
    await server?.stop()
    tmp?.cleanup()
  })

  const all = async (path: string, query: string): Promise<EventItem[]> => {
    const items: EventItem[] = []
    let cursor: string | null = null
    do {
      const page: EventPage = (await server.get<EventPage>(`${path}?mesh=demo&limit=200&until=${until}${query}${cursor ? `&cursor=${cursor}` : ''}`)).body
      items.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    return items
  }
  const instances = async (): Promise<Instance[]> => (await server.get<{ items: Instance[] }>('/api/v1/instances?mesh=demo&limit=200')).body.items

  it('shows on every ip:port page the pod events its IP page shows, and on every pod page its registrations', async () => {
    // The back-fill is written before the server answers; wait until registrations are there.
    const catalog = await eventually(async () => {
      const items = await instances()
      expect(items.some((instance) => instance.port !== undefined && instance.registered)).toBe(true)
      return items
    })
    const pods = catalog.filter((instance) => instance.namespace !== undefined)
    const registered = catalog.filter((instance) => instance.port !== undefined && instance.registered)
    let probes = 0
    for (const instance of registered) {
      const byIp = (await all(`/api/v1/instances/${instance.ip}/events`, '&kind=Pod')).map((item) => item.id)
      const byAddress = (await all(`/api/v1/instances/${encodeURIComponent(instance.name)}/events`, '&kind=Pod')).map((item) => item.id)
      expect(byIp.length).toBeGreaterThan(0)
      expect(byAddress).toEqual(byIp)
      probes += (await all(`/api/v1/instances/${encodeURIComponent(instance.name)}/events`, '&q=Readiness%20probe%20failed')).length
    }
    expect(probes).toBeGreaterThan(0)

    // A pod whose IP no other pod ever had: its page shows the registrations at its IP.
    for (const pod of pods.filter((candidate) => candidate.registered && pods.filter((other) => other.ip === candidate.ip).length === 1)) {
      const registrations = await all(`/api/v1/instances/${pod.ip}/events`, '&reason=ProviderRegistered,ConsumerRegistered')
      if (registrations.length === 0) continue
      const onPodPage = await all(`/api/v1/instances/${encodeURIComponent(pod.name)}/events`, '&reason=ProviderRegistered,ConsumerRegistered')
      expect(onPodPage.map((item) => item.id)).toEqual(registrations.map((item) => item.id))
    }
  })
})
