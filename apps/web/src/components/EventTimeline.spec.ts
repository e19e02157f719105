import type { EventItem } from '@eventline/shared'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { ApiError } from '../api/client.ts'
import { i18n } from '../i18n/index.ts'
import { TestIntersectionObserver } from '../testing/intersectionObserver.ts'
import EventTimeline from './EventTimeline.vue'
import type { Gap } from '../api/events.ts'

const NOW = Date.now()

function event(id: string, overrides: Partial<EventItem> = {}): EventItem {
  const time = new Date(NOW - 5 * 60_000).toISOString()
  return {
    id,
    time,
    firstTime: time,
    count: 1,
    type: 'normal',
    reason: 'Started',
    message: `message of ${id}`,
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'prod',
    object: { kind: 'Pod', name: `pod-${id}`, namespace: 'shop' },
    ...overrides,
  }
}

type Props = InstanceType<typeof EventTimeline>['$props']

function render(props: Partial<Props> = {}) {
  return mount(EventTimeline, {
    props: { items: [], loading: false, loaded: true, hasMore: false, error: null, ...props },
    // Pinia for the antd parts (empty state, error), which read the theme and locale preferences.
    global: { plugins: [i18n, createPinia()] },
    attachTo: document.body,
  })
}

beforeAll(async () => {
  globalThis.IntersectionObserver = TestIntersectionObserver
  i18n.global.locale.value = 'en'
  // The empty state and the error alert are chunks of their own (antd): loaded once here, so a test
  // waits only for the async component to settle, not for antd to be transformed.
  await Promise.all([import('./TimelineEmpty.vue'), import('./RetryAlert.vue')])
})

afterEach(() => {
  document.body.innerHTML = ''
  TestIntersectionObserver.visibility.clear()
})

describe('EventTimeline', () => {
  it('renders the items in the order given, keyed by id, with their type', () => {
    const wrapper = render({ items: [event('b', { type: 'warning', reason: 'BackOff' }), event('a')] })
    const items = wrapper.findAll('[data-testid="event-item"]')
    expect(items.map((item) => item.attributes('data-event-id'))).toEqual(['b', 'a'])
    expect(items.map((item) => item.attributes('data-type'))).toEqual(['warning', 'normal'])
    expect(items[0]!.text()).toContain('BackOff')
    expect(items[0]!.find('[aria-label="Warning"]').exists()).toBe(true)
    expect(items[1]!.find('[aria-label="Normal"]').exists()).toBe(true)
  })

  it('shows the absolute time of day, and the time relative to now beside it in relative mode', async () => {
    const wrapper = render({ items: [event('a')], timeMode: 'utc' })
    const time = wrapper.find('[data-testid="event-time"]')
    expect(time.text()).toBe(new Date(event('a').time).toISOString().slice(11, 19))
    expect(time.attributes('datetime')).toBe(event('a').time)
    expect(time.attributes('title')).toMatch(/\d{2}:\d{2}:\d{2}/)
    expect(wrapper.find('.event-ago').exists()).toBe(false)
    await wrapper.setProps({ timeMode: 'relative' })
    expect(wrapper.find('.event-ago').text()).toBe('5 minutes ago')
  })

  it('never shows a live event in the future, whatever the clocks say', () => {
    const ahead = new Date(Date.now() + 12_000).toISOString()
    const wrapper = render({ items: [event('a', { time: ahead, firstTime: ahead })], timeMode: 'relative' })
    expect(wrapper.find('.event-ago').text()).toBe('just now')
  })

  it('separates days, and links the involved object to its page where Eventline has one', () => {
    const yesterday = new Date(NOW - 30 * 3_600_000).toISOString()
    const wrapper = render({
      items: [event('pod'), event('node', { time: yesterday, firstTime: yesterday, object: { kind: 'Node', name: 'node-1' } })],
      timeMode: 'utc',
    })
    expect(wrapper.findAll('.event-day')).toHaveLength(2)
    const links = wrapper.findAll('[data-testid="event-object-link"]')
    expect(links[0]!.element.tagName).toBe('A')
    expect(links[0]!.attributes('href')).toBe('/instances/pod-pod?mesh=prod')
    expect(links[0]!.text()).toBe('Pod/shop/pod-pod')
    expect(links[1]!.element.tagName).toBe('SPAN')
    expect(links[1]!.text()).toBe('Node/node-1')
  })

  it('folds a burst into one group row that expands, keeping every event in the page', async () => {
    const burst = Array.from({ length: 5 }, (_, index) => {
      const time = new Date(NOW - 60_000 - index * 2000).toISOString()
      return event(`u${index}`, { time, firstTime: time, reason: 'ProviderUnregistered', type: 'warning', application: 'orders', instance: `10.0.0.${index}:20880` })
    })
    const wrapper = render({ items: [event('single'), ...burst] })
    const group = wrapper.find('[data-testid="event-group"]')
    expect(group.attributes('data-count')).toBe('5')
    expect(group.text()).toContain('5 × ProviderUnregistered across 5 instances in 8 s')
    expect(wrapper.findAll('[data-testid="event-item"]')).toHaveLength(6)
    const members = group.find('.event-group-items')
    expect(members.attributes('hidden')).toBeDefined()
    const toggle = group.find('.event-group-toggle')
    expect(toggle.attributes('aria-expanded')).toBe('false')
    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    expect(members.attributes('hidden')).toBeUndefined()
  })

  it('places a gap row between the events after and before it', () => {
    const gap: Gap = {
      mesh: 'prod',
      source: 'kubernetes',
      from: new Date(NOW - 40 * 60_000).toISOString(),
      to: new Date(NOW - 20 * 60_000).toISOString(),
      reason: 'failing',
      lossPossible: true,
    }
    const old = new Date(NOW - 50 * 60_000).toISOString()
    const wrapper = render({ items: [event('new'), event('old', { time: old, firstTime: old })], gaps: [gap] })
    const order = wrapper.findAll('[data-testid="event-item"], [data-testid="event-gap"]').map((row) => row.attributes('data-event-id') ?? 'gap')
    expect(order).toEqual(['new', 'gap', 'old'])
    const row = wrapper.find('[data-testid="event-gap"]')
    expect(row.attributes('data-from')).toBe(gap.from)
    expect(row.attributes('data-to')).toBe(gap.to)
    expect(row.text()).toContain('may be missing for good')
  })

  it('marks search matches in the reason and message, as text', () => {
    const wrapper = render({ items: [event('a', { reason: 'Unhealthy', message: 'Readiness probe failed: <b>probe</b>' })], q: 'probe' })
    const marks = wrapper.findAll('.event-message mark')
    expect(marks.map((mark) => mark.text())).toEqual(['probe', 'probe'])
    expect(wrapper.find('.event-message').text()).toBe('Readiness probe failed: <b>probe</b>')
    expect(wrapper.find('b').exists()).toBe(false)
  })

  it('moves between events with j and k, and emits the copy-link action of a row', async () => {
    const wrapper = render({ items: [event('a'), event('b', { reason: 'Pulled' }), event('c')] })
    const rows = wrapper.findAll('[data-testid="event-item"]')
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j' }))
    expect(document.activeElement).toBe(rows[0]!.element)
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j' }))
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j' }))
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'k' }))
    expect(document.activeElement).toBe(rows[1]!.element)
    await rows[2]!.find('.event-copy').trigger('click')
    expect(wrapper.emitted('copy')).toEqual([['c']])
  })

  it('renders markup in a message as text', () => {
    const wrapper = render({ items: [event('x', { message: '<img src=x onerror=alert(1)>' })] })
    const message = wrapper.find('.event-message')
    expect(message.text()).toBe('<img src=x onerror=alert(1)>')
    expect(wrapper.find('img').exists()).toBe(false)
  })

  it('says how often an event repeated and since when, with its source, component and object', () => {
    const first = new Date(NOW - 3_600_000).toISOString()
    const wrapper = render({ items: [event('a', { count: 7, firstTime: first })] })
    const meta = wrapper.find('.event-meta').text()
    expect(meta).toContain('×7 since')
    expect(meta).toContain('Kubernetes')
    expect(meta).toContain('kubelet')
    expect(wrapper.find('[data-testid="event-object-link"]').text()).toBe('Pod/shop/pod-a')
    expect(render({ items: [event('b')] }).find('.event-meta').text()).not.toContain('since')
  })

  it('folds a long message and unfolds it on request', async () => {
    const wrapper = render({ items: [event('long', { message: 'x'.repeat(1000) }), event('short')] })
    const [long, short] = wrapper.findAll('[data-testid="event-item"]')
    expect(long!.find('.event-message-folded').exists()).toBe(true)
    expect(short!.find('.event-fold').exists()).toBe(false)
    const toggle = long!.find('.event-fold')
    expect(toggle.attributes('aria-expanded')).toBe('false')
    await toggle.trigger('click')
    expect(long!.find('.event-message-folded').exists()).toBe(false)
    expect(toggle.text()).toBe('Show less')
  })

  it('shows the empty state only once loaded, saying when filters narrow the view', async () => {
    const wrapper = render({ loaded: false, loading: true })
    expect(wrapper.find('[data-testid="event-empty"]').exists()).toBe(false)
    await wrapper.setProps({ loaded: true, loading: false })
    // The illustration and its text come in their own chunk.
    await vi.waitFor(() => expect(wrapper.find('[data-testid="event-empty"]').text()).toContain('No events match'))
    await wrapper.setProps({ filtered: true })
    expect(wrapper.find('[data-testid="event-empty"]').text()).toContain('No events match these filters')
  })

  it('asks for the next page when the sentinel nears the viewport, and again after each page while it stays there', async () => {
    const wrapper = render({ items: [event('a')], hasMore: true })
    await nextTick()
    expect(wrapper.emitted('loadMore')).toBeUndefined()

    TestIntersectionObserver.setVisible('[data-testid="event-load-more"]', true)
    await nextTick()
    expect(wrapper.emitted('loadMore')).toHaveLength(1)

    // While the page loads, nothing more is asked; once it landed and the sentinel is still in view, the next one is.
    await wrapper.setProps({ loading: true })
    expect(wrapper.find('[data-testid="event-load-more"]').text()).toContain('Loading older events')
    await wrapper.setProps({ loading: false, items: [event('a'), event('b')] })
    // The observer is asked again once the page landed, and answers after the next layout.
    await flushPromises()
    expect(wrapper.emitted('loadMore')).toHaveLength(2)

    TestIntersectionObserver.setVisible('[data-testid="event-load-more"]', false)
    await wrapper.setProps({ loading: true })
    await wrapper.setProps({ loading: false, items: [event('a'), event('b'), event('c')] })
    await flushPromises()
    expect(wrapper.emitted('loadMore')).toHaveLength(2)
  })

  it('ends with the end-of-history row when no older page exists', () => {
    const wrapper = render({ items: [event('a')], hasMore: false })
    expect(wrapper.find('[data-testid="event-load-more"]').exists()).toBe(false)
    expect(wrapper.find('.event-end').text()).toContain('Kubernetes itself keeps events for only about an hour')
  })

  it('shows an error with a retry instead of the sentinel, and asks for no page meanwhile', async () => {
    const error = new ApiError(400, { error: { code: 'invalid_argument', message: 'since: not a time', field: 'since' } })
    const wrapper = render({ items: [], loaded: false, hasMore: false, error })
    // The alert comes in its own chunk.
    await vi.waitFor(() => expect(wrapper.find('[role="alert"]').exists()).toBe(true))
    const alert = wrapper.find('[role="alert"]')
    expect(alert.text()).toContain('The server refused the request (400 invalid_argument)')
    expect(alert.text()).toContain('since: not a time')
    expect(wrapper.find('[data-testid="event-load-more"]').exists()).toBe(false)
    await alert.find('button').trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(1)
  })

  it('speaks Chinese when the locale is zh-CN', async () => {
    i18n.global.locale.value = 'zh-CN'
    try {
      const wrapper = render({ items: [event('a', { count: 2 })], timeMode: 'relative' })
      await nextTick()
      expect(wrapper.find('.event-ago').text()).toBe('5分钟前')
      expect(wrapper.find('.event-end').text()).toContain('已到达存储历史的起点')
      expect(wrapper.find('.event-meta').text()).toContain('首次发生于')
    } finally {
      i18n.global.locale.value = 'en'
    }
  })
})
