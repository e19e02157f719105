import type { EventItem } from '@eventline/shared'
import { mount } from '@vue/test-utils'
import { beforeAll, describe, expect, it } from 'vitest'
import { i18n } from '../i18n/index.ts'
import EventRow from './EventRow.vue'

const ITEM: EventItem = {
  id: 'zk:1',
  time: '2026-11-24T12:00:00.000Z',
  firstTime: '2026-11-24T11:00:00.000Z',
  count: 3,
  type: 'warning',
  reason: 'ProviderUnregistered',
  message: 'Provider unregistered: orders 10.0.0.7:20880 -> org.example.OrderService',
  source: 'zookeeper',
  component: 'zookeeper',
  mesh: 'zk-prod',
  object: { kind: 'Provider', name: '10.0.0.7:20880' },
  application: 'orders',
  instance: '10.0.0.7:20880',
  service: 'org.example.OrderService',
}

function render(overrides: Partial<InstanceType<typeof EventRow>['$props']> = {}) {
  return mount(EventRow, {
    props: { item: ITEM, clock: '12:00:00', exact: 'Nov 24, 2026, 12:00:00 UTC', ago: '', since: 'Nov 24, 2026, 11:00:00 UTC', expanded: false, ...overrides },
    global: { plugins: [i18n] },
  })
}

beforeAll(() => {
  i18n.global.locale.value = 'en'
})

describe('EventRow', () => {
  it('shows the absolute time, type, reason, object link, source, component and repeats', () => {
    const wrapper = render()
    expect(wrapper.attributes('data-event-id')).toBe('zk:1')
    expect(wrapper.attributes('data-type')).toBe('warning')
    expect(wrapper.find('[data-testid="event-time"]').text()).toBe('12:00:00')
    expect(wrapper.find('[role="img"]').attributes('aria-label')).toBe('Warning')
    expect(wrapper.find('.event-reason').text()).toBe('ProviderUnregistered')
    const link = wrapper.find('[data-testid="event-object-link"]')
    expect(link.attributes('href')).toBe('/instances/10.0.0.7%3A20880?mesh=zk-prod')
    const meta = wrapper.find('.event-meta').text()
    expect(meta).toContain('ZooKeeper')
    expect(meta).toContain('×3 since Nov 24, 2026, 11:00:00 UTC')
  })

  it('opens its object inside the app on a plain click, and leaves modified clicks to the browser', async () => {
    const wrapper = render()
    const link = wrapper.find('a.event-object')
    await link.trigger('click', { button: 0 })
    await link.trigger('click', { button: 0, ctrlKey: true })
    expect(wrapper.emitted('open')).toEqual([['/instances/10.0.0.7%3A20880?mesh=zk-prod']])
  })

  it('marks itself as the linked event, and offers its copy-link action', async () => {
    const wrapper = render({ linked: true })
    expect(wrapper.attributes('aria-current')).toBe('true')
    await wrapper.find('.event-copy').trigger('click')
    expect(wrapper.emitted('copy')).toEqual([['zk:1']])
  })
})
