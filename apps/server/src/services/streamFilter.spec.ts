import type { EventItem } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import type { View } from '../store/eventViews.ts'
import type { StoredEvent, TimelineFilter } from '../store/types.ts'
import { matchesText, streamFilter } from './streamFilter.ts'

const item: EventItem = {
  id: 'k:1',
  time: '2026-11-24T10:00:00.000Z',
  firstTime: '2026-11-24T10:00:00.000Z',
  count: 1,
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container order-service',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'k8s-prod',
  object: { kind: 'Pod', name: 'order-7d9f', namespace: 'shop' },
  ip: '10.0.0.7',
}
// The pod's own cluster, and the registry mesh whose instance has the pod's IP (correlation).
const views: View[] = [
  ['k8s-prod', 'p', '10.0.0.7'],
  ['', 'p', '10.0.0.7'],
  ['zk', 'a', 'order-service'],
  ['', 'a', 'order-service'],
  ['zk', 'i', '10.0.0.7:20880'],
]
const stored: StoredEvent = { seq: 1, item, created: true, views }
const T = Date.parse(item.time)

describe('streamFilter', () => {
  it.each<[string, TimelineFilter, boolean]>([
    ['no filter', {}, true],
    ['its mesh', { mesh: 'k8s-prod' }, true],
    ['another mesh', { mesh: 'zk' }, false],
    ['a correlated application in the registry mesh', { mesh: 'zk', application: 'order-service' }, true],
    ['the application across meshes', { application: 'order-service' }, true],
    ['the application in its own cluster (not linked there)', { mesh: 'k8s-prod', application: 'order-service' }, false],
    ['application and instance together', { mesh: 'zk', application: 'order-service', instance: '10.0.0.7:20880' }, true],
    ['application and another instance', { mesh: 'zk', application: 'order-service', instance: '10.0.0.8:20880' }, false],
    ['its IP', { ip: '10.0.0.7' }, true],
    ['a service it is not in', { service: 'org.apache.dubbo.demo.DemoService' }, false],
    ['type warning', { type: 'warning' }, true],
    ['type normal', { type: 'normal' }, false],
    ['its source among others', { sources: ['nacos', 'kubernetes'] }, true],
    ['other sources', { sources: ['nacos'] }, false],
    ['its reason', { reasons: ['BackOff', 'Failed'] }, true],
    ['other reasons', { reasons: ['Failed'] }, false],
    ['namespace', { namespaces: ['shop'] }, true],
    ['its namespace among others', { namespaces: ['kube-system', 'shop'] }, true],
    ['other namespaces', { namespaces: ['kube-system', 'default'] }, false],
    ['kind', { kinds: ['Pod'] }, true],
    ['its kind among others', { kinds: ['Node', 'Pod'] }, true],
    ['other kinds', { kinds: ['Node', 'Deployment'] }, false],
    ['object name', { name: 'order-7d9f' }, true],
    ['other object name', { name: 'order' }, false],
    ['since its time (inclusive)', { since: T }, true],
    ['since later', { since: T + 1 }, false],
    ['until its time (exclusive)', { until: T }, false],
    ['until later', { until: T + 1 }, true],
    ['text prefixes', { q: 'restart cont' }, true],
    ['text in the reason', { q: 'backoff' }, true],
    ['text not there', { q: 'oomkilled' }, false],
  ])('%s', (_name, filter, expected) => {
    expect(streamFilter(filter)(stored)).toBe(expected)
  })
})

describe('matchesText', () => {
  it('needs every word as a prefix of a word, case-insensitively, across reason and message', () => {
    expect(matchesText('Provider unreg', 'ProviderUnregistered', 'Provider unregistered: demo')).toBe(true)
    expect(matchesText('provider  demo', 'ProviderUnregistered', 'Provider unregistered: demo')).toBe(true)
    expect(matchesText('registered', 'ProviderUnregistered', 'Provider unregistered')).toBe(false)
    expect(matchesText('服务', 'Started', '服务 已启动')).toBe(true)
  })
})
