import { mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Histogram } from '../api/events.ts'
import { i18n } from '../i18n/index.ts'
import EventHistogram from './EventHistogram.vue'
import type { Gap } from '../api/events.ts'

const SINCE = Date.parse('2026-11-24T00:00:00Z')
const BUCKET = 60_000

function histogram(counts: Array<[number, number]>, gaps: Histogram['gaps'] = []): Histogram {
  return {
    since: new Date(SINCE).toISOString(),
    until: new Date(SINCE + counts.length * BUCKET).toISOString(),
    bucketMs: BUCKET,
    buckets: counts.map(([normal, warning], index) => ({ start: new Date(SINCE + index * BUCKET).toISOString(), normal, warning })),
    gaps,
  }
}

const render = (value: Histogram | null) => mount(EventHistogram, { props: { histogram: value }, global: { plugins: [i18n] }, attachTo: document.body })

beforeAll(() => {
  i18n.global.locale.value = 'en'
})

afterEach(() => {
  document.body.innerHTML = ''
})

describe('EventHistogram', () => {
  it('draws one bar per bucket with its counts, stacked, and a title naming them', () => {
    const wrapper = render(histogram([[3, 1], [0, 0], [2, 4]]))
    const bars = wrapper.findAll('[data-testid="event-histogram-bar"]')
    expect(bars.map((bar) => [bar.attributes('data-start'), bar.attributes('data-normal'), bar.attributes('data-warning')])).toEqual([
      ['2026-11-24T00:00:00.000Z', '3', '1'],
      ['2026-11-24T00:01:00.000Z', '0', '0'],
      ['2026-11-24T00:02:00.000Z', '2', '4'],
    ])
    expect(bars[2]!.find('title').text()).toMatch(/2 normal, 4 warning/)
    // The tallest bucket (6) fills the height; its warning part is 4/6 of it.
    const rects = bars[2]!.findAll('rect')
    expect(Number(rects[2]!.attributes('height'))).toBeCloseTo(40)
    expect(bars[1]!.findAll('rect')).toHaveLength(1)
    expect(wrapper.find('svg').attributes('aria-label')).toContain('10 events')
  })

  it('emits the range of a clicked bar', async () => {
    const wrapper = render(histogram([[1, 0], [2, 0], [3, 0]]))
    const bar = wrapper.findAll('[data-testid="event-histogram-bar"] rect')[2]!
    await bar.trigger('pointerdown', { button: 0 })
    bar.element.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, button: 0 }))
    expect(wrapper.emitted('select')).toEqual([['2026-11-24T00:01:00.000Z', '2026-11-24T00:02:00.000Z']])
  })

  it('emits the range dragged across, whichever way', async () => {
    const wrapper = render(histogram([[1, 0], [2, 0], [3, 0], [4, 0]]))
    const bars = wrapper.findAll('[data-testid="event-histogram-bar"]')
    await bars[3]!.find('rect').trigger('pointerdown', { button: 0 })
    await bars[2]!.find('rect').trigger('pointermove')
    bars[1]!.find('rect').element.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, button: 0 }))
    expect(wrapper.emitted('select')).toEqual([['2026-11-24T00:01:00.000Z', '2026-11-24T00:04:00.000Z']])
  })

  it('shades a gap over the part of the range it covers', () => {
    const gap: Gap = { mesh: 'zk', source: 'zookeeper', from: '2026-11-24T00:01:00.000Z', to: '2026-11-24T00:03:00.000Z', reason: 'disconnected', lossPossible: false }
    const wrapper = render(histogram([[1, 0], [0, 0], [0, 0], [1, 0]], [gap]))
    const shade = wrapper.find('.event-histogram-gap')
    // 4 bars of 10 units: the gap covers the middle two.
    expect(Number(shade.attributes('x'))).toBeCloseTo(10)
    expect(Number(shade.attributes('width'))).toBeCloseTo(20)
    expect(shade.find('title').text()).toContain('disconnected')
  })
})
