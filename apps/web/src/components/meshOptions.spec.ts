import type { Mesh } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { meshOptions } from './meshOptions.ts'

const mesh = (name: string, kind: Mesh['kind']): Mesh => ({ name, kind, address: `${kind}://${name}`, status: 'connected', counts: { applications: 0, instances: 0, services: 0, events: 0 } })
const ALL = { value: '', label: 'All meshes' }
const label = (kind: string) => kind.toUpperCase()

describe('meshOptions', () => {
  it('groups meshes by kind, clusters first, names sorted within a group, after "all"', () => {
    const options = meshOptions([mesh('zk-prod', 'zookeeper'), mesh('prod-eu', 'kubernetes'), mesh('demo', 'demo'), mesh('prod-us', 'kubernetes'), mesh('nacos-a', 'nacos')], ALL, undefined, label)
    expect(options.map((option) => ('options' in option ? [option.label, option.options.map(({ value }) => value)] : option.value))).toEqual([
      '',
      ['KUBERNETES', ['prod-eu', 'prod-us']],
      ['ZOOKEEPER', ['zk-prod']],
      ['NACOS', ['nacos-a']],
      ['DEMO', ['demo']],
    ])
  })

  it('keeps a mesh the URL names but the list lacks selectable, on its own after "all"', () => {
    const options = meshOptions([mesh('prod-eu', 'kubernetes')], ALL, 'not-listed-yet', label)
    expect(options.slice(0, 2)).toEqual([ALL, { value: 'not-listed-yet', label: 'not-listed-yet' }])
    expect(meshOptions([mesh('prod-eu', 'kubernetes')], ALL, 'prod-eu', label)).toHaveLength(2)
  })
})
