import { EVENT_TYPES } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import type { Publication } from '../../bus.ts'
import { createLogger } from '../../log.ts'
import type { CatalogChange, IngestEvent } from '../../store/types.ts'
import type { SourceContext } from '../source.ts'
import { seededRandom } from '../../seededRandom.ts'
import { advanceDemo, createDemoState } from './demoScenario.ts'
import { DemoSource, MAX_PUBLICATION_EVENTS } from './demoSource.ts'

const NOW = Date.parse('2025-01-15T12:00:00.000Z')
const HOUR = 3_600_000
const BACKFILL_REASONS = [
  'Scheduled',
  'Pulling',
  'Pulled',
  'Created',
  'Started',
  'Unhealthy',
  'BackOff',
  'Killing',
  'ProviderRegistered',
  'ProviderUnregistered',
  'InstanceUnhealthy',
  'InstanceHealthy',
  'ConfigUpdated',
]
const REGISTRY_INSTANCE_CATEGORIES = new Set(['provider', 'consumer', 'instance'])

/** A SourceContext that records publications and keeps checkpoints the way the server does (mesh-prefixed). */
function fakeContext(checkpoints = new Map<string, string | null>(), publish?: (publication: Publication) => Promise<void>) {
  const publications: Publication[] = []
  const statuses: string[] = []
  const logLines: Array<{ level: string; msg: string }> = []
  const context: SourceContext = {
    publish: async (publication) => {
      if (publish) await publish(publication)
      publications.push(publication)
      for (const { key, value } of publication.checkpoints ?? []) checkpoints.set(`demo:${key}`, value)
    },
    readCheckpoint: async (key) => checkpoints.get(`demo:${key}`) ?? undefined,
    readCheckpoints: async () => new Map(),
    setStatus: (status) => statuses.push(status),
    reportMalformed: () => {},
    log: createLogger('debug', (line) => logLines.push(JSON.parse(line) as { level: string; msg: string })),
  }
  const events = () => publications.flatMap((publication) => publication.events ?? [])
  const catalog = () => publications.flatMap((publication) => publication.catalog ?? [])
  return { context, publications, statuses, logLines, checkpoints, events, catalog }
}

/** A demo source with a seeded random and a fixed clock, as every test here wants it. */
function demoSource(seed = 7, options: { intervalMs?: number; now?: () => number } = {}) {
  return new DemoSource({ random: seededRandom(seed), now: options.now ?? (() => NOW), intervalMs: options.intervalMs ?? 60_000 })
}

async function firstRun(seed = 7) {
  const recorder = fakeContext()
  const source = demoSource(seed)
  await source.start(recorder.context)
  await source.stop()
  return recorder
}

/** Applies catalog changes to sets, as the store would. */
function applyCatalog(changes: CatalogChange[]) {
  const applications = new Set<string>()
  const instances = new Map<string, { ip?: string; port?: number; node?: string; registered: boolean }>()
  const services = new Map<string, { version?: string; group?: string }>()
  const links = new Set<string>()
  for (const change of changes) {
    if (change.op === 'application') applications.add(change.name)
    if (change.op === 'instance') instances.set(change.instance.name, change.instance)
    if (change.op === 'instance-gone') {
      const instance = instances.get(change.name)
      if (instance) instance.registered = false
    }
    if (change.op === 'service') services.set(change.name, change)
    if (change.op === 'service-instance') links.add(`${change.side} ${change.service} ${change.instance}`)
    if (change.op === 'service-instance-gone') links.delete(`${change.side} ${change.service} ${change.instance}`)
  }
  const live = [...instances].filter(([, instance]) => instance.registered)
  return {
    applications,
    services,
    links,
    pods: live.filter(([name]) => !name.includes(':')),
    registryInstances: live.filter(([name]) => name.includes(':')),
  }
}

function expectValidEvent(event: IngestEvent) {
  const where = `${event.id} ${event.reason}`
  expect(event.id, where).toMatch(/^demo:\S+$/)
  expect(EVENT_TYPES, where).toContain(event.type)
  expect(event.source, where).toBe('demo')
  expect(event.mesh, where).toBe('demo')
  expect(event.reason, where).not.toBe('')
  expect(event.message, where).not.toBe('')
  expect(event.component, where).not.toBe('')
  expect(event.object.kind, where).not.toBe('')
  expect(event.object.name, where).not.toBe('')
  expect(Number.isInteger(event.time), where).toBe(true)
  expect(new Date(event.time).toISOString(), where).toMatch(/^\d{4}-\d\d-\d\dT/)
  expect(event.time, where).toBeLessThanOrEqual(NOW)
  if (event.firstTime !== undefined) expect(event.firstTime, where).toBeLessThanOrEqual(event.time)
  if (event.count !== undefined) expect(event.count, where).toBeGreaterThanOrEqual(1)
}

describe('DemoSource back-fill', () => {
  it('writes hours of history with every kind of event on the first start, in publications of at most 500 events', async () => {
    const { publications, events, statuses } = await firstRun()
    const history = events()

    expect(history.length).toBeGreaterThan(150)
    expect(history.length).toBeLessThan(1_000)
    for (const publication of publications) expect(publication.events?.length ?? 0).toBeLessThanOrEqual(MAX_PUBLICATION_EVENTS)
    const times = history.map((event) => event.time)
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW - 6 * HOUR)
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(4 * HOUR)
    const reasons = new Set(history.map((event) => event.reason))
    for (const reason of BACKFILL_REASONS) expect(reasons, reason).toContain(reason)
    expect(statuses).toEqual(['connected'])
  })

  it('stores the back-fill checkpoint with the last back-fill publication', async () => {
    const { publications } = await firstRun()
    const withCheckpoint = publications.filter((publication) => publication.checkpoints?.some((checkpoint) => checkpoint.key === 'backfill'))
    expect(withCheckpoint).toHaveLength(1)
    expect(withCheckpoint[0]).toBe(publications.at(-1))
    const value = withCheckpoint[0]!.checkpoints!.find((checkpoint) => checkpoint.key === 'backfill')!.value
    expect(value).toBe(new Date(NOW).toISOString())
  })

  it('publishes no history on a later start and keeps the pods of the earlier run', async () => {
    const first = await firstRun()
    const before = applyCatalog(first.catalog())

    const second = fakeContext(first.checkpoints)
    const source = demoSource(8)
    await source.start(second.context)
    await source.stop()

    expect(second.events()).toEqual([])
    const after = applyCatalog(second.catalog())
    expect(after.pods.map(([name]) => name).sort()).toEqual(before.pods.map(([name]) => name).sort())
  })

  it('repeats BackOff ids with increasing count, later time and the first time kept', async () => {
    const series = new Map<string, IngestEvent[]>()
    for (const event of (await firstRun()).events()) {
      if (event.reason === 'BackOff') series.set(event.id, [...(series.get(event.id) ?? []), event])
    }
    expect(series.size).toBeGreaterThan(0)
    expect(Math.max(...[...series.values()].map((occurrences) => occurrences.length))).toBeGreaterThanOrEqual(3)
    for (const occurrences of series.values()) {
      expect(occurrences.map((event) => event.count)).toEqual(occurrences.map((_, i) => i + 1))
      for (let i = 1; i < occurrences.length; i++) {
        expect(occurrences[i]!.time).toBeGreaterThanOrEqual(occurrences[i - 1]!.time)
        expect(occurrences[i]!.firstTime).toBe(occurrences[0]!.time)
      }
    }
  })

  it('gives every event a valid shape and an id no other event uses', async () => {
    const history = (await firstRun()).events()
    for (const event of history) expectValidEvent(event)
    // Only count-bumped series (BackOff, Unhealthy) reuse an id.
    const byId = new Map<string, Set<string>>()
    for (const event of history) byId.set(event.id, (byId.get(event.id) ?? new Set()).add(event.reason))
    for (const [id, reasons] of byId) expect([...reasons], id).toHaveLength(1)
    const single = history.filter((event) => event.count === undefined)
    expect(new Set(single.map((event) => event.id)).size).toBe(single.length)
  })

  it('names instance, IP, application and node on pod events, and the ip:port instance and service on registry events', async () => {
    const history = (await firstRun()).events()
    const podEvents = history.filter((event) => event.object.kind === 'Pod')
    expect(podEvents.length).toBeGreaterThan(0)
    for (const event of podEvents) {
      expect(event.instance, event.id).toBe(event.object.name)
      expect(event.ip, event.id).toMatch(/^10\.\d+\.\d+\.\d+$/)
      expect(event.application, event.id).toMatch(/^(shop-frontend|order-service|payment-service)$/)
      expect(event.host, event.id).toMatch(/^demo-worker-\d$/)
      expect(event.object.namespace, event.id).toBe('demo')
      expect(['kubelet', 'default-scheduler'], event.id).toContain(event.component)
    }
    const registryEvents = history.filter((event) => REGISTRY_INSTANCE_CATEGORIES.has(event.category ?? ''))
    expect(registryEvents.length).toBeGreaterThan(0)
    for (const event of registryEvents) {
      expect(event.instance, event.id).toMatch(/^10\.\d+\.\d+\.\d+:\d+$/)
      expect(event.instance?.startsWith(`${event.ip}:`), event.id).toBe(true)
      expect(event.service, event.id).toMatch(/^org\.apache\.dubbo\.demo\.\w+Service$/)
      expect(event.application, event.id).toBeTruthy()
      expect(event.action, event.id).toBeTruthy()
    }
    const provider = history.find((event) => event.reason === 'ProviderRegistered')!
    expect(provider.message).toBe(`Provider registered: ${provider.application} ${provider.instance} -> ${provider.service}`)
    const config = history.find((event) => event.reason === 'ConfigUpdated')!
    expect(config).toMatchObject({ category: 'config', action: 'updated', type: 'normal' })
    expect(config.message).toMatch(/^(tag-router|condition-router|configurators) \S+: \w+ \S+ -> \S+$/)
  })

  it('lists three applications, eight running pods with their registry instances, and versioned services', async () => {
    const catalog = applyCatalog((await firstRun()).catalog())
    expect([...catalog.applications].sort()).toEqual(['order-service', 'payment-service', 'shop-frontend'])
    expect(catalog.pods).toHaveLength(8)
    for (const [name, pod] of catalog.pods) {
      expect(name).toMatch(/^(shop-frontend|order-service|payment-service)-[0-9a-f]{9,10}-[a-z0-9]{5}$/)
      expect(pod.node).toMatch(/^demo-worker-\d$/)
    }
    // Every pod is registered except, possibly, one crash-looping at the end of the back-fill.
    expect(catalog.registryInstances.length).toBeGreaterThanOrEqual(7)
    expect(catalog.services.get('org.apache.dubbo.demo.OrderService')).toMatchObject({ version: '1.2.0', group: 'shop' })
    expect(catalog.services.size).toBe(4)
    expect([...catalog.links].some((link) => link.startsWith('provider org.apache.dubbo.demo.PaymentService '))).toBe(true)
    expect([...catalog.links].some((link) => link.startsWith('consumer org.apache.dubbo.demo.OrderService '))).toBe(true)
  })
})

describe('DemoSource live', () => {
  it('keeps publishing on its interval, waits for the publication in flight on stop, then publishes nothing', async () => {
    let clock = NOW
    let started = 0
    // A slow store, so the test can call stop() while a step is being published.
    const recorder = fakeContext(new Map(), async () => {
      started++
      await new Promise((resolve) => setTimeout(resolve, 5))
    })
    const source = demoSource(3, { intervalMs: 2, now: () => (clock += 5_000) })
    await source.start(recorder.context)
    const afterBackfill = recorder.publications.length
    await expect
      .poll(() => recorder.publications.length > afterBackfill + 3 && started > recorder.publications.length, { timeout: 5_000, interval: 1 })
      .toBe(true)

    await source.stop()
    expect(recorder.publications.length).toBe(started)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(recorder.publications.length).toBe(started)
  })

  it('logs a rejected publish and carries on', async () => {
    const recorder = fakeContext(new Map(), async () => {
      throw new Error('store is down')
    })
    const source = demoSource()
    await expect(source.start(recorder.context)).resolves.toBeUndefined()
    await source.stop()
    expect(recorder.logLines.some((line) => line.level === 'error' && line.msg === 'demo publish failed')).toBe(true)
    expect(recorder.statuses).toEqual(['connected'])
  })
})

describe('advanceDemo', () => {
  it('is deterministic for a seed and leaves the given state untouched', () => {
    const run = () => {
      const random = seededRandom(11)
      let state = createDemoState(random)
      const snapshot = structuredClone(state)
      const first = advanceDemo(state, random, NOW, { happeningChance: 1 })
      expect(state).toEqual(snapshot)
      const events: IngestEvent[] = [...first.events]
      state = first.state
      for (let t = NOW + 1_000; t < NOW + 120_000; t += 1_000) {
        const step = advanceDemo(state, random, t, { happeningChance: 0.5 })
        events.push(...step.events)
        state = step.state
      }
      return events
    }
    const events = run()
    expect(events.length).toBeGreaterThan(0)
    expect(run()).toEqual(events)
  })

  it('never stamps an event later than now', () => {
    const random = seededRandom(5)
    let state = createDemoState(random)
    for (let t = NOW; t < NOW + 300_000; t += 1_000) {
      const step = advanceDemo(state, random, t, { happeningChance: 0.5 })
      for (const event of step.events) expect(event.time).toBeLessThanOrEqual(t)
      state = step.state
    }
  })
})
