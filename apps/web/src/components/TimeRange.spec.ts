import { mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { i18n } from '../i18n/index.ts'
import TimeRange from './TimeRange.vue'

const render = (props: { since?: string; until?: string } = {}) => mount(TimeRange, { props, global: { plugins: [i18n] }, attachTo: document.body })

beforeAll(() => {
  i18n.global.locale.value = 'en'
})

afterEach(() => {
  document.body.innerHTML = ''
})

/** A local `datetime-local` value for an ISO time, as the browser would show it. */
function local(iso: string): string {
  const ms = Date.parse(iso)
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}

describe('TimeRange', () => {
  it('shows a preset by its name, without the absolute fields', () => {
    const wrapper = render({ since: '6h' })
    expect(wrapper.find('[data-testid="time-range"]').text()).toContain('Last 6 hours')
    expect(wrapper.find('input[type="datetime-local"]').exists()).toBe(false)
  })

  it('opens an absolute range in the from / to fields and names it', () => {
    const wrapper = render({ since: '2026-11-24T08:00:00.000Z', until: '2026-11-24T09:30:00.000Z' })
    const [from, to] = wrapper.findAll<HTMLInputElement>('input[type="datetime-local"]')
    expect(from!.element.value).toBe(local('2026-11-24T08:00:00.000Z'))
    expect(to!.element.value).toBe(local('2026-11-24T09:30:00.000Z'))
    expect(wrapper.text()).toMatch(/–/)
  })

  it('emits the absolute range typed in, as UTC ISO times, and refuses an end before the start', async () => {
    const wrapper = render({ until: '2026-11-24T09:30:00.000Z' })
    const [from, to] = wrapper.findAll<HTMLInputElement>('input[type="datetime-local"]')
    await from!.setValue(local('2026-11-24T10:00:00.000Z'))
    expect(wrapper.find('[role="alert"]').text()).toContain('The start must be before the end')
    await wrapper.find('form').trigger('submit')
    expect(wrapper.emitted('change')).toBeUndefined()

    await to!.setValue(local('2026-11-24T11:00:00.000Z'))
    await wrapper.find('form').trigger('submit')
    expect(wrapper.emitted('change')).toEqual([[{ since: '2026-11-24T10:00:00.000Z', until: '2026-11-24T11:00:00.000Z' }]])
  })
})
