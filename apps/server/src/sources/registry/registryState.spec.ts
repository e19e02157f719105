import { describe, expect, it } from 'vitest'
import { diffNodes, isEmptyDiff, registryEventId, registrySyncedEvent, stateCheckpoints, STATE_PREFIX } from './registryState.ts'

describe('diffNodes', () => {
  it('finds added, removed and changed nodes, in key order', () => {
    const before = new Map([['b', '1'], ['a', '1'], ['c', '1']])
    const after = new Map([['c', '2'], ['a', '1'], ['d', '1']])
    const diff = diffNodes(before, after)
    expect(diff.added).toEqual([{ key: 'd', value: '1' }])
    expect(diff.removed).toEqual([{ key: 'b', before: '1' }])
    expect(diff.changed).toEqual([{ key: 'c', before: '1', value: '2' }])
    expect(isEmptyDiff(diff)).toBe(false)
    expect(isEmptyDiff(diffNodes(before, new Map(before)))).toBe(true)
  })

  it('turns a diff into checkpoints that set and delete node state', () => {
    const diff = diffNodes(new Map([['gone', 'x'], ['same', 'y'], ['edit', '1']]), new Map([['same', 'y'], ['edit', '2'], ['new', 'z']]))
    expect(stateCheckpoints(diff)).toEqual([
      { key: `${STATE_PREFIX}new`, value: 'z' },
      { key: `${STATE_PREFIX}edit`, value: '2' },
      { key: `${STATE_PREFIX}gone`, value: null },
    ])
  })
})

describe('registry events', () => {
  it('gives the same change the same id and a later change of the same node another', () => {
    const first = registryEventId('zookeeper', 'zk', 1000, '/dubbo/a/providers/x', 'ProviderRegistered')
    expect(registryEventId('zookeeper', 'zk', 1000, '/dubbo/a/providers/x', 'ProviderRegistered')).toBe(first)
    expect(registryEventId('zookeeper', 'zk', 2000, '/dubbo/a/providers/x', 'ProviderRegistered')).not.toBe(first)
    expect(registryEventId('zookeeper', 'zk', 1000, '/dubbo/a/providers/x', 'ProviderUnregistered')).not.toBe(first)
    expect(first.startsWith('zookeeper:zk:1000:')).toBe(true)
  })

  it('summarises a first sync in one event', () => {
    const event = registrySyncedEvent({ source: 'nacos', mesh: 'nacos-test', time: 5, applications: 3, instances: 7, services: 4, extra: { configs: 2 } })
    expect(event).toMatchObject({ reason: 'RegistrySynced', type: 'normal', category: 'registry', mesh: 'nacos-test', time: 5 })
    expect(event.message).toContain('3 applications, 7 instances, 4 services, 2 configs')
    const single = registrySyncedEvent({ source: 'zookeeper', mesh: 'zk', time: 5, applications: 1, instances: 1, services: 0, extra: { consumers: 1 } })
    expect(single.message).toContain('1 application, 1 instance, 0 services, 1 consumer')
  })
})
