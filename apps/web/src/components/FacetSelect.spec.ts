import { mount } from '@vue/test-utils'
import { Select } from 'ant-design-vue'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NO_FILTERS } from '../composables/useTimelineFilters.ts'
import type { TimelineFilters } from '../composables/useTimelineFilters.ts'
import { i18n } from '../i18n/index.ts'
import EventFilters from './EventFilters.vue'
import FacetSelect from './FacetSelect.vue'

beforeAll(() => {
  i18n.global.locale.value = 'en'
})

afterEach(() => {
  document.body.innerHTML = ''
})

const namespaces = { field: 'namespace' as const, items: [{ value: 'shop', count: 12 }, { value: 'payments', count: 5 }], capped: false }

describe('FacetSelect', () => {
  it('offers the facet values with counts, keeps a selected value the facet does not list, and emits the whole selection', async () => {
    const wrapper = mount(FacetSelect, {
      props: { label: 'Namespace', placeholder: 'All namespaces', values: ['shop', 'from-a-link'], facets: namespaces },
      attrs: { 'data-testid': 'event-filter-namespace' },
      attachTo: document.body,
    })
    const select = wrapper.findComponent(Select)
    expect(select.attributes('data-testid')).toBe('event-filter-namespace')
    expect(select.props('mode')).toBe('multiple')
    expect(select.props('options')).toEqual([
      { value: 'shop', label: 'shop (12)' },
      { value: 'payments', label: 'payments (5)' },
      { value: 'from-a-link', label: 'from-a-link' },
    ])
    expect(wrapper.get('label').text()).toBe('Namespace')
    select.vm.$emit('update:value', ['shop', 'payments'])
    expect(wrapper.emitted('change')).toEqual([[['shop', 'payments']]])
  })

  it('asks for the counts when opened, and again when they are dropped while it is open', async () => {
    const wrapper = mount(FacetSelect, { props: { label: 'Kind', placeholder: 'All kinds', values: [], facets: namespaces }, attachTo: document.body })
    const select = wrapper.findComponent(Select)
    select.vm.$emit('dropdownVisibleChange', true)
    expect(wrapper.emitted('wanted')).toHaveLength(1)
    await wrapper.setProps({ facets: undefined })
    expect(wrapper.emitted('wanted')).toHaveLength(2)
    select.vm.$emit('dropdownVisibleChange', false)
    await wrapper.setProps({ facets: namespaces })
    await wrapper.setProps({ facets: undefined })
    expect(wrapper.emitted('wanted')).toHaveLength(2)
  })
})

describe('EventFilters', () => {
  it('makes namespace and kind multi-selects that emit lists beside the other filters', async () => {
    const filters: TimelineFilters = { ...NO_FILTERS, reasons: ['BackOff'], namespaces: ['shop'] }
    const wrapper = mount(EventFilters, { props: { filters, facets: { namespace: namespaces } }, global: { plugins: [i18n] }, attachTo: document.body })
    const selects = wrapper.findAllComponents(FacetSelect)
    expect(selects.map((select) => select.findComponent(Select).attributes('data-testid'))).toEqual(['event-filter-namespace', 'event-filter-kind', 'event-filter-reason'])
    expect(selects.map((select) => select.props('values'))).toEqual([['shop'], [], ['BackOff']])
    selects[0]!.vm.$emit('change', ['shop', 'payments'])
    selects[1]!.vm.$emit('change', ['Pod', 'Node'])
    expect(wrapper.emitted('change')).toEqual([
      [{ ...filters, namespaces: ['shop', 'payments'] }],
      [{ ...filters, kinds: ['Pod', 'Node'] }],
    ])
  })
})
