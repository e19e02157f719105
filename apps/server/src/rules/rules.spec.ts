import { describe, expect, it } from 'vitest'
import type { IngestEvent } from '../store/types.ts'
import { parseFileConfig } from './fileConfig.ts'
import { compileRules } from './rules.ts'

function event(overrides: Partial<IngestEvent> = {}): IngestEvent {
  return {
    id: 'kubernetes:e-1',
    time: 1_000_000,
    type: 'normal',
    reason: 'Started',
    message: 'Started container',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'prod',
    object: { kind: 'Pod', namespace: 'default', name: 'web-1' },
    ...overrides,
  }
}

const rulesOf = (...lines: string[]) => compileRules(parseFileConfig(`${lines.join('\n')}\n`, 'eventline.yaml'))

describe('compileRules without a file', () => {
  it('keeps every event, forwards none and alerts on none', () => {
    const rules = compileRules(undefined)
    expect(rules.keep(event())).toBe(true)
    expect(rules.sinksFor(event())).toEqual([])
    expect(rules.alerts.observe(event(), { ...event(), time: '', firstTime: '', count: 1 }, 1_000_000)).toEqual([])
  })
})

describe('the ingestion filter', () => {
  // The noisy-cluster case of issue 6: keep what is labelled system.hero.ai, plus the pods in
  // namespace hero-user whose name contains pipeline-task; drop everything else.
  const rules = rulesOf(
    'ingest:',
    '  keep:',
    '    - labels: { system.hero.ai: true }',
    '    - namespace: hero-user',
    '      kind: Pod',
    '      name: pipeline-task',
  )

  it.each<[string, Partial<IngestEvent>, boolean]>([
    ['a pod labelled system.hero.ai', { object: { kind: 'Pod', namespace: 'ml', name: 'trainer-0' }, labels: { 'system.hero.ai': 'worker' } }, true],
    ['a pod labelled system.hero.ai with an empty value', { labels: { 'system.hero.ai': '' } }, true],
    ['a hero-user pod named *pipeline-task*', { object: { kind: 'Pod', namespace: 'hero-user', name: 'run-17-pipeline-task-x9z' } }, true],
    ['a hero-user pod named pipeline-task exactly', { object: { kind: 'Pod', namespace: 'hero-user', name: 'pipeline-task' } }, true],
    ['another hero-user pod', { object: { kind: 'Pod', namespace: 'hero-user', name: 'notebook-3' } }, false],
    ['a pipeline-task pod elsewhere', { object: { kind: 'Pod', namespace: 'default', name: 'x-pipeline-task-1' } }, false],
    ['a hero-user non-pod object named pipeline-task', { object: { kind: 'Job', namespace: 'hero-user', name: 'pipeline-task-7' } }, false],
    ['a pod with other labels', { labels: { app: 'web', 'hero.ai': 'x' } }, false],
    ['a node event', { object: { kind: 'Node', name: 'node-1' } }, false],
    ['a registry event', { source: 'zookeeper', mesh: 'zk', object: { kind: 'Instance', name: '10.0.0.1:20880' } }, false],
  ])('%s: kept %s', (_name, overrides, kept) => {
    expect(rules.keep(event(overrides))).toBe(kept)
  })

  it('applies drop after keep, and drop alone filters from everything', () => {
    const both = rulesOf('ingest:', '  keep: [{ namespace: hero-user }]', '  drop: [{ reason: ^Pull }]')
    expect(both.keep(event({ object: { kind: 'Pod', namespace: 'hero-user', name: 'a' }, reason: 'Pulled' }))).toBe(false)
    expect(both.keep(event({ object: { kind: 'Pod', namespace: 'hero-user', name: 'a' }, reason: 'Started' }))).toBe(true)
    const dropOnly = rulesOf('ingest:', '  drop: [{ namespace: kube-system, type: normal }]')
    expect(dropOnly.keep(event({ object: { kind: 'Pod', namespace: 'kube-system', name: 'coredns' } }))).toBe(false)
    expect(dropOnly.keep(event())).toBe(true)
  })
})

describe('sinksFor', () => {
  const rules = rulesOf(
    'routes:',
    '  - name: warnings',
    '    match: [{ type: warning }]',
    '    drop: [{ namespace: kube-system }, { reason: ^BackOff$, name: ^flaky- }]',
    '  - name: registry',
    '    match: { source: [zookeeper, nacos] }',
    'sinks:',
    '  - { name: archive, type: nats, servers: nats:4222 }',
    '  - { name: slack, type: webhook, format: slack, url: "https://hooks.example.com/s", route: warnings }',
    '  - { name: registry-hook, type: webhook, url: "https://hooks.example.com/r", route: registry }',
    '  - { name: pager, type: webhook, format: dingtalk, url: "https://hooks.example.com/d" }',
    'alerts:',
    '  - { name: crashes, sink: pager, match: { reason: BackOff } }',
  )

  it.each<[string, Partial<IngestEvent>, string[]]>([
    ['a normal pod event goes to the catch-all only', {}, ['archive']],
    ['a warning goes to the warnings route too', { type: 'warning', reason: 'BackOff' }, ['archive', 'slack']],
    ['a kube-system warning is dropped from the route', { type: 'warning', object: { kind: 'Pod', namespace: 'kube-system', name: 'coredns' } }, ['archive']],
    ['a drop matcher needs all its fields', { type: 'warning', reason: 'BackOff', object: { kind: 'Pod', namespace: 'shop', name: 'flaky-1' } }, ['archive']],
    ['the same reason on another pod stays', { type: 'warning', reason: 'BackOff', object: { kind: 'Pod', namespace: 'shop', name: 'steady-1' } }, ['archive', 'slack']],
    ['a registry warning matches two routes', { type: 'warning', source: 'nacos', reason: 'InstanceUnhealthy' }, ['archive', 'slack', 'registry-hook']],
  ])('%s', (_name, overrides, sinks) => {
    expect(rules.sinksFor(event(overrides))).toEqual(sinks)
  })

  it('never forwards events to an alert-only sink', () => {
    expect(rules.sinksFor(event({ type: 'warning', reason: 'BackOff' }))).not.toContain('pager')
  })
})
