import type { EventItem, EventPage } from '@eventline/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { effectScope, nextTick, ref, watch } from 'vue'
import type { TimelineScope } from '../api/events.ts'
import { startApiServer } from '../testing/apiServer.ts'
import { useTimeline } from './useTimeline.ts'

const item = (id: string): EventItem => ({
  id,
  time: '2026-11-24T10:00:00.000Z',
  firstTime: '2026-11-24T10:00:00.000Z',
  count: 1,
  type: 'normal',
  reason: 'Started',
  message: id,
  source: 'api',
  component: 'api',
  mesh: 'prod',
  object: { kind: 'Event', name: id },
})

const page = (ids: string[], nextCursor: string | null, total = 5): EventPage => ({ items: ids.map(item), nextCursor, total, totalCapped: false })

let server: Awaited<ReturnType<typeof startApiServer>> | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Runs the composable in its own effect scope, as a component would. */
function inScope<T>(factory: () => T): T & { stop(): void } {
  const scope = effectScope()
  const result = scope.run(factory)!
  return Object.assign(result as object, { stop: () => scope.stop() }) as T & { stop(): void }
}

async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(condition()).toBe(true)
}

describe('useTimeline', () => {
  it('is still loading until the page it fetched is in place, so a watcher of `loading` never asks for the same cursor twice', async () => {
    const pages: Record<string, EventPage> = { '': page(['a'], 'p2'), p2: page(['b'], 'p3'), p3: page(['c'], null) }
    server = await startApiServer({ '/api/v1/events': (query) => ({ body: pages[query.get('cursor') ?? '']! }) })
    const timeline = inScope(() => {
      const state = useTimeline({ kind: 'all' }, {}, 1)
      // What the timeline's sentinel does: ask for more whenever nothing loads and more exists.
      watch(
        () => [state.loading.value, state.loaded.value, state.hasMore.value],
        () => {
          if (state.loaded.value && state.hasMore.value && !state.loading.value) void state.loadMore()
        },
        { flush: 'sync' },
      )
      return state
    })
    await until(() => timeline.loaded.value && !timeline.hasMore.value && !timeline.loading.value)
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'b', 'c'])
    expect(server.requests.map((request) => request.query.get('cursor'))).toEqual([null, 'p2', 'p3'])
    timeline.stop()
  })

  it('does not start over when the query is recomputed with the same values', async () => {
    server = await startApiServer({ '/api/v1/events': () => ({ body: page(['a'], null) }) })
    const query = ref<Record<string, string>>({ mesh: 'prod' })
    const timeline = inScope(() => useTimeline({ kind: 'all' }, query))
    await until(() => timeline.loaded.value)
    query.value = { mesh: 'prod' }
    await nextTick()
    // A start-over would have cleared `loaded` in the watcher, before any answer.
    expect(timeline.loaded.value).toBe(true)
    expect(server.requests).toHaveLength(1)
    timeline.stop()
  })

  it('grows page by page along nextCursor, skipping ids it already shows, and stops at the end', async () => {
    // The second page repeats "c": an event updated while the reader paged moved into it.
    const pages: Record<string, EventPage> = { '': page(['a', 'b', 'c'], 'p2'), p2: page(['c', 'd'], 'p3'), p3: page(['e'], null) }
    server = await startApiServer({ '/api/v1/applications/shop%2Fcart/events': (query) => ({ body: pages[query.get('cursor') ?? '']! }) })
    const timeline = inScope(() => useTimeline({ kind: 'applications', name: 'shop/cart' }, { mesh: 'prod' }, 3))
    await until(() => timeline.loaded.value)
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'b', 'c'])
    expect(timeline.total.value).toBe(5)

    await timeline.loadMore()
    await timeline.loadMore()
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(timeline.hasMore.value).toBe(false)
    await timeline.loadMore()
    expect(server.requests.map((request) => [request.query.get('cursor'), request.query.get('limit'), request.query.get('mesh')])).toEqual([
      [null, '3', 'prod'],
      ['p2', '3', 'prod'],
      ['p3', '3', 'prod'],
    ])
    timeline.stop()
  })

  it('starts over when the query changes and drops the answer of the request it superseded', async () => {
    server = await startApiServer({
      '/api/v1/events': (query) => (query.get('type') === 'warning' ? { body: page(['w'], null, 1) } : { body: page(['slow'], null, 1), delayMs: 150 }),
    })
    const query = ref<{ type?: string }>({})
    const scope = ref<TimelineScope>({ kind: 'all' })
    const timeline = inScope(() => useTimeline(scope, query))
    await nextTick()
    query.value = { type: 'warning' }
    await until(() => timeline.loaded.value)
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(timeline.items.value.map((event) => event.id)).toEqual(['w'])
    timeline.stop()
  })

  it('keeps what it shows when a later page fails, and retries that page', async () => {
    let failing = true
    server = await startApiServer({
      '/api/v1/events': (query) =>
        query.get('cursor') === 'p2'
          ? failing
            ? { status: 500, body: { error: { code: 'internal', message: 'database is locked' } } }
            : { body: page(['c'], null) }
          : { body: page(['a', 'b'], 'p2') },
    })
    const timeline = inScope(() => useTimeline({ kind: 'all' }, {}))
    await until(() => timeline.loaded.value)
    await timeline.loadMore()
    expect(timeline.error.value?.message).toBe('database is locked')
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'b'])
    await timeline.loadMore()
    expect(server.requests.filter((request) => request.query.get('cursor') === 'p2')).toHaveLength(1)

    failing = false
    await timeline.retry()
    expect(timeline.error.value).toBeNull()
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'b', 'c'])
    timeline.stop()
  })

  it('puts live events on top, moving an updated one up instead of showing it twice', async () => {
    server = await startApiServer({ '/api/v1/events': () => ({ body: page(['b', 'a'], null, 2) }) })
    const timeline = inScope(() => useTimeline({ kind: 'all' }, {}))
    await until(() => timeline.loaded.value)
    const later = (id: string, minute: number) => ({ ...item(id), time: `2026-11-24T10:${String(minute).padStart(2, '0')}:00.000Z` })
    expect(timeline.prepend([later('c', 5)])).toEqual(['c'])
    expect(timeline.prepend([later('a', 6)])).toEqual([])
    expect(timeline.items.value.map((event) => event.id)).toEqual(['a', 'c', 'b'])
    expect(timeline.total.value).toBe(3)
    timeline.stop()
  })
})
