import { describe, expect, it } from 'vitest'
import { eventViews } from './eventViews.ts'
import type { ViewLookup } from './eventViews.ts'

const lookup: ViewLookup = {
  instancesByIp: (ip) => (ip === '10.0.0.2' ? [{ mesh: 'zk', name: '10.0.0.2:20880', application: 'beta-provider' }] : []),
  servicesOfInstance: (mesh, instance) => (mesh === 'zk' && instance === '10.0.0.2:20880' ? ['org.example.Beta'] : []),
  meshesWithApplication: (name) => (name === 'alpha' ? ['prod', 'nacos-a'] : ['prod']),
  podsAtIp: () => [],
}
const sorted = (views: string[][]) => views.map((view) => view.join('|')).sort()

describe('eventViews', () => {
  it('links a Node event to the applications, instances and IPs the source gave it, and into other meshes by IP and application', () => {
    const views = eventViews(
      { mesh: 'prod', time: 0, source: 'kubernetes', objectKind: 'Node', applications: ['alpha', 'beta'], instances: ['alpha-1', 'beta-1'], ips: ['10.0.0.1', '10.0.0.2'] },
      lookup,
    )
    expect(sorted(views)).toEqual(
      sorted([
        ...[['prod', 'a', 'alpha'], ['prod', 'a', 'beta'], ['prod', 'i', 'alpha-1'], ['prod', 'i', 'beta-1'], ['prod', 'p', '10.0.0.1'], ['prod', 'p', '10.0.0.2']],
        ...[['nacos-a', 'a', 'alpha'], ['zk', 'i', '10.0.0.2:20880'], ['zk', 'p', '10.0.0.2'], ['zk', 'a', 'beta-provider'], ['zk', 's', 'org.example.Beta']],
        ...[['', 'a', 'alpha'], ['', 'a', 'beta'], ['', 'i', 'alpha-1'], ['', 'i', 'beta-1'], ['', 'p', '10.0.0.1'], ['', 'p', '10.0.0.2']],
        ...[['', 'i', '10.0.0.2:20880'], ['', 'a', 'beta-provider'], ['', 's', 'org.example.Beta']],
      ]),
    )
  })

  it('carries a workload event\'s application into the other meshes of that application', () => {
    const views = eventViews({ mesh: 'prod', time: 0, source: 'kubernetes', objectKind: 'Deployment', application: 'alpha' }, lookup)
    expect(sorted(views)).toEqual(sorted([['prod', 'a', 'alpha'], ['nacos-a', 'a', 'alpha'], ['', 'a', 'alpha']]))
  })

  it('keeps registry events to their own mesh', () => {
    const views = eventViews({ mesh: 'zk', time: 0, source: 'zookeeper', objectKind: 'Provider', application: 'alpha', ips: ['10.0.0.2'] }, lookup)
    expect(sorted(views)).toEqual(sorted([['zk', 'a', 'alpha'], ['zk', 'p', '10.0.0.2'], ['', 'a', 'alpha'], ['', 'p', '10.0.0.2']]))
  })
})
